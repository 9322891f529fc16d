"""tug.store.forget: what the monitor of a `--rm` container uses to remove it without the engine."""

from __future__ import annotations

import json

from tug.store.forget import forget_record
from tug.store.metadata import Metadata


def test_forget_record_frees_the_name_and_leaves_the_directory(tmp_path):
    md = Metadata(tmp_path / "tug.db")
    md.insert_container("a" * 64, "web", config={"extra": {"anonymous_volumes": ["v1"]}})
    md.insert_container("b" * 64, "other")
    (tmp_path / "containers" / ("a" * 64)).mkdir(parents=True)
    config = forget_record(str(tmp_path), "a" * 64)
    assert json.loads(config)["extra"]["anonymous_volumes"] == ["v1"]
    assert md.get_container("a" * 64) is None and md.get_container("b" * 64) is not None
    md.insert_container("c" * 64, "web")  # the name is free again
    assert (tmp_path / "containers" / ("a" * 64)).is_dir()  # the caller removes it next
    assert forget_record(str(tmp_path), "a" * 64) is None  # already gone: nothing to return


def test_forget_record_waits_until_the_start_is_recorded(tmp_path):
    import threading
    import time

    md = Metadata(tmp_path / "tug.db")
    md.insert_container("a" * 64, "quick", state={"Status": "created", "MonitorPid": 0})

    errors: list[BaseException] = []

    def record_start() -> None:  # what `tug run` does once the monitor reported the start
        time.sleep(0.05)
        try:
            Metadata(tmp_path / "tug.db").update_container("a" * 64, state=json.dumps({"Status": "running",
                                                                                       "MonitorPid": 4242}))
        except BaseException as e:  # noqa: BLE001 - NotFound if the row went first
            errors.append(e)

    t = threading.Thread(target=record_start)
    t.start()
    assert forget_record(str(tmp_path), "a" * 64, monitor_pid=4242) is not None
    t.join()
    assert errors == []  # the update found its row: the removal waited for it
    assert md.get_container("a" * 64) is None


def test_forget_record_waits_only_so_long(tmp_path):
    md = Metadata(tmp_path / "tug.db")
    md.insert_container("a" * 64, "orphan", state={"Status": "created", "MonitorPid": 0})
    assert forget_record(str(tmp_path), "a" * 64, monitor_pid=4242, wait=0.02) is not None  # nobody recorded it
    assert md.get_container("a" * 64) is None


def test_a_held_connection_is_closed_only_after_the_starter_ended(tmp_path):
    """The monitor closes its connection (the last one: it checkpoints the WAL) after `tug run` has exited."""
    import subprocess

    from tug.store import forget

    md = Metadata(tmp_path / "tug.db")
    md.insert_container("a" * 64, "web")
    from tug.store.metadata import close_all

    close_all()  # this test process is no longer a user of the database
    forget_record(str(tmp_path), "a" * 64, hold=True)
    assert len(forget._held) == 1 and (tmp_path / "tug.db-wal").exists()
    starter = subprocess.Popen(["sleep", "0.2"])
    forget.release_held(starter.pid, timeout=30)
    assert starter.poll() is not None  # it had ended when we closed
    assert forget._held == [] and not (tmp_path / "tug.db-wal").exists()  # the last close checkpointed
    forget.release_held(None)  # nothing held: nothing to do
