"""The monitor's in-process tug-runtime verbs (`start`, `delete`) answer as the forked verb does: an exit code and
tug-runtime's one error line."""

from __future__ import annotations

from types import SimpleNamespace

from tug.engine.monitor import Monitor, runtime_message


def here(tmp_path, *args: str) -> tuple[int, bytes]:
    fake = SimpleNamespace(cfg={"runtime": ["python", "-I", "-S", "-c", "code", "--root", str(tmp_path)]})
    return Monitor._runtime_here(fake, *args)  # type: ignore[arg-type]


def test_start_of_a_missing_container_is_the_runtime_error_line(tmp_path):
    code, err = here(tmp_path, "start", "nope")
    assert code != 0
    assert err.startswith(b"tug-runtime: ") and err.endswith(b"\n")
    assert "nope" in runtime_message(err)


def test_delete_force_of_a_missing_container_succeeds_and_plain_delete_does_not(tmp_path):
    assert here(tmp_path, "delete", "--force", "nope") == (0, b"")
    code, err = here(tmp_path, "delete", "nope")
    assert code != 0 and b"nope" in err


def test_a_bad_id_is_refused_not_raised(tmp_path):
    code, err = here(tmp_path, "start", "../escape")
    assert code != 0 and err.startswith(b"tug-runtime: ")
    assert not (tmp_path.parent / "escape").exists()
