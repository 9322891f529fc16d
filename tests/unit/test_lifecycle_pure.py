"""Pure parts of the lifecycle: restart policies, healthcheck state, json-file logs, ps wording and filters, framing,
runtime error mapping, the monitor's small JSON codec."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tug import jsontext
from tug.engine import health, listing, logs, restart, streams
from tug.engine.containers import Container
from tug.engine.monitor import failure_code, runtime_message
from tug.errors import Invalid
from tug.spec.options import RunOptions


@pytest.mark.parametrize("text,name,count", [(None, "no", 0), ("no", "no", 0), ("always", "always", 0),
                                             ("unless-stopped", "unless-stopped", 0), ("on-failure", "on-failure", 0),
                                             ("on-failure:5", "on-failure", 5)])
def test_restart_parse(text, name, count):
    p = restart.parse(text)
    assert (p.name, p.max_retries) == (name, count)
    assert p.to_dict() == {"Name": name, "MaximumRetryCount": count}


@pytest.mark.parametrize("bad", ["sometimes", "always:3", "on-failure:x", "on-failure:-1"])
def test_restart_parse_rejects(bad):
    with pytest.raises(Invalid):
        restart.parse(bad)


@pytest.mark.parametrize("policy,code,count,stopped,want", [
    ("no", 1, 0, False, False), ("always", 0, 10, False, True), ("always", 1, 0, True, False),
    ("unless-stopped", 0, 0, False, True), ("on-failure", 0, 0, False, False), ("on-failure", 1, 99, False, True),
    ("on-failure:2", 1, 1, False, True), ("on-failure:2", 1, 2, False, False),
])
def test_should_restart(policy, code, count, stopped, want):
    assert restart.should_restart(restart.parse(policy), code, count, stopped) is want


def test_backoff_doubles_caps_and_resets():
    d = restart.next_delay(0, 0)
    seq = [d]
    for _ in range(12):
        d = restart.next_delay(d, 1)
        seq.append(d)
    assert seq[:4] == [0.1, 0.2, 0.4, 0.8] and max(seq) == restart.MAX_DELAY
    assert restart.next_delay(30, restart.RESET_AFTER) == restart.FIRST_DELAY


@pytest.mark.parametrize("text,seconds", [("30s", 30), ("1m30s", 90), ("500ms", 0.5), ("2h", 7200), ("0", 0),
                                          ("1.5s", 1.5)])
def test_go_durations(text, seconds):
    assert health.parse_duration(text) == pytest.approx(seconds)


def test_health_resolve_merges_image_and_flags():
    img = {"Test": ["CMD", "true"], "Interval": 5_000_000_000, "Retries": 7}
    got = health.resolve(img, RunOptions())
    assert got["test"] == ["CMD", "true"] and got["interval"] == 5 and got["retries"] == 7 and got["timeout"] == 30
    got = health.resolve(img, RunOptions(health_cmd="curl -f x", health_interval="1s", health_retries=2))
    assert got["test"] == ["CMD-SHELL", "curl -f x"] and got["interval"] == 1 and got["retries"] == 2
    assert health.resolve(img, RunOptions(no_healthcheck=True)) is None
    assert health.resolve({"Test": ["NONE"]}, RunOptions()) is None
    assert health.resolve(None, RunOptions()) is None
    assert health.probe_args(["CMD-SHELL", "a && b"]) == ["/bin/sh", "-c", "a && b"]
    assert health.config_document(got)["Interval"] == 1_000_000_000


def test_health_state_machine():
    h = health.HealthState(retries=2)
    h.record("s", "e", 1, "bad", in_start_period=True)
    assert h.doc["Status"] == "starting" and h.doc["FailingStreak"] == 0  # start period: not counted
    h.record("s", "e", 0, "ok", in_start_period=True)
    assert h.doc["Status"] == "healthy"
    h.record("s", "e", 1, "bad", in_start_period=False)
    assert h.doc["Status"] == "healthy" and h.doc["FailingStreak"] == 1
    h.record("s", "e", 1, "x" * 9000, in_start_period=False)
    assert h.doc["Status"] == "unhealthy" and len(h.doc["Log"][-1]["Output"]) == health.MAX_OUTPUT
    for _ in range(10):
        h.record("s", "e", 0, "ok", in_start_period=False)
    assert len(h.doc["Log"]) == 5 and h.doc["Status"] == "healthy"


def test_json_file_writer_lines_partial_and_rotation(tmp_path):
    path = str(tmp_path / "c-json.log")
    w = logs.JsonFileWriter(path, max_size=0, max_files=3)
    w.write("stdout", b"one\ntw")
    w.write("stdout", b"o\n\xff\n")
    w.write("stderr", b"no newline")
    w.close()
    entries = [json.loads(ln) for ln in Path(path).read_text().splitlines()]
    assert [(e["log"], e["stream"]) for e in entries] == [("one\n", "stdout"), ("two\n", "stdout"),
                                                         ("\ufffd\n", "stdout"), ("no newline", "stderr")]
    assert all(e["time"].endswith("Z") and len(e["time"]) == 30 for e in entries)
    import os

    os.unlink(path)
    w = logs.JsonFileWriter(path, max_size=300, max_files=3)
    for i in range(40):
        w.write("stdout", f"line {i}\n".encode())
    w.close()
    files = logs.log_files(path)
    assert [f.rsplit("-json", 1)[1] for f in files] == [".log.2", ".log.1", ".log"]
    got = [e["log"] for e in logs.read(path)]
    assert got[-1] == "line 39\n" and all(tmp_path.joinpath(f).stat().st_size <= 300 for f in files)
    assert [e["log"] for e in logs.read(path, tail=2)] == ["line 38\n", "line 39\n"]
    assert list(logs.read(path, tail=0)) == []


def test_long_line_is_split_like_docker(tmp_path):
    path = str(tmp_path / "l.log")
    w = logs.JsonFileWriter(path, 0, 1)
    w.write("stdout", b"a" * (logs.LINE_LIMIT + 10) + b"\n")
    w.close()
    parts = [json.loads(ln)["log"] for ln in Path(path).read_text().splitlines()]
    assert [len(p) for p in parts] == [logs.LINE_LIMIT, 11]


@pytest.mark.parametrize("text,size", [("10m", 10 * 1024**2), ("1k", 1024), ("100", 100), ("2g", 2 * 1024**3),
                                       ("1.5m", int(1.5 * 1024**2))])
def test_log_sizes(text, size):
    assert logs.parse_size(text) == size


def test_log_options_defaults_and_errors():
    assert logs.log_options([]) == (10 * 1024 * 1024, 3)
    assert logs.log_options(["max-size=1m", "max-file=5"]) == (1024 * 1024, 5)
    for bad in (["max-size=lots"], ["max-file=0"], ["nonsense=1"], ["novalue"]):
        with pytest.raises(Invalid):
            logs.log_options(bad)


def test_parse_since():
    now = 1_000_000.0
    assert logs.parse_since("10m", now) == now - 600
    assert logs.parse_since("1h30m", now) == now - 5400
    assert logs.parse_since("1700000000", now) == 1_700_000_000
    assert logs.parse_since("1970-01-02T00:00:00Z", now) == 86400
    with pytest.raises(Invalid):
        logs.parse_since("yesterday", now)


def _ctr(status: str, **state) -> Container:
    return Container("a" * 64, "n", None, "busybox", "2024-01-01T00:00:00Z", RunOptions(),
                     {"Status": status, **state}, {"args": ["sleep", "300"], "exposed_ports": ["22/tcp", "4403/tcp"]})


def test_status_words():
    now = datetime(2024, 1, 1, 0, 10, tzinfo=UTC)
    t = lambda d: (now - d).isoformat().replace("+00:00", "Z")  # noqa: E731
    assert listing.status_text(_ctr("created"), now) == "Created"
    assert listing.status_text(_ctr("running", StartedAt=t(timedelta(seconds=7))), now) == "Up 7 seconds"
    assert listing.status_text(_ctr("running", StartedAt=t(timedelta(minutes=3)),
                                    Health={"Status": "healthy"}), now) == "Up 3 minutes (healthy)"
    assert listing.status_text(_ctr("running", StartedAt=t(timedelta(seconds=1)),
                                    Health={"Status": "starting"}), now) == "Up 1 second (health: starting)"
    assert listing.status_text(_ctr("paused", StartedAt=t(timedelta(hours=1))), now) == "Up About an hour (Paused)"
    assert listing.status_text(_ctr("exited", ExitCode=0, FinishedAt=t(timedelta(minutes=2))),
                               now) == "Exited (0) 2 minutes ago"
    assert listing.status_text(_ctr("exited", ExitCode=137, FinishedAt=t(timedelta(milliseconds=10))),
                               now) == "Exited (137) Less than a second ago"


def test_ports_only_while_running_and_row_fields():
    assert listing.ports_text(_ctr("running")) == "22/tcp, 4403/tcp"
    assert listing.ports_text(_ctr("exited")) == ""
    row = listing.row(_ctr("created"))
    assert row["ID"] == "a" * 12 and row["Command"] == '"sleep 300"' and row["CreatedAt"] == \
        "2024-01-01 00:00:00 +0000 UTC"


def test_filters():
    c = _ctr("exited", ExitCode=3)
    c.options.labels = ["tier=web", "x"]
    assert listing.matches(c, listing.parse_filters(["status=exited", "exited=3", "label=tier=web", "label=x"]))
    assert not listing.matches(c, listing.parse_filters(["label=tier=db"]))
    assert listing.matches(c, listing.parse_filters(["ancestor=busybox:latest", "id=aaa", "name=^n$"]))
    assert not listing.matches(c, listing.parse_filters(["status=running"]))
    with pytest.raises(Invalid):
        listing.parse_filters(["status=sleepy"])
    with pytest.raises(Invalid):
        listing.parse_filters(["colour=red"])


def test_stream_framing_roundtrip():
    dec = streams.Decoder()
    data = streams.frame(streams.STDOUT, b"hello") + streams.frame(streams.EXIT, b"3")
    got = []
    for i in range(len(data)):  # byte by byte: frames split anywhere
        got += dec.feed(data[i:i + 1])
    assert got == [(streams.STDOUT, b"hello"), (streams.EXIT, b"3")]


def test_runtime_messages_to_exit_codes():
    raw = (b'time="2024-01-01T00:00:00Z" level=error msg="runc create failed: unable to start container process: '
           b'exec: \\"nosuch\\": executable file not found in $PATH"\n')
    msg = runtime_message(raw)
    assert msg.endswith('exec: "nosuch": executable file not found in $PATH')
    assert failure_code(msg) == 127
    assert failure_code("exec: permission denied") == 126
    assert failure_code("cgroup: no space left") == 125
    assert runtime_message(b'{"level":"error","msg":"boom"}\n') == "boom"


def test_monitor_json_codec_matches_json():
    doc = {"a": [1, 2.5, None, True, False], "s": "quote \" é \n", "n": {"x": {}}}
    text = jsontext.dumps(doc)
    assert json.loads(text) == doc
    assert jsontext.loads(text) == doc
    with pytest.raises(ValueError):
        jsontext.loads("{} x")
