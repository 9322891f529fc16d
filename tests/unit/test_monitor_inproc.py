"""The monitor's in-process tug-runtime `delete` answers as the forked verb does: an exit code and tug-runtime's
one error line."""

from __future__ import annotations

from types import SimpleNamespace

from tug.engine.monitor import Monitor, runtime_message


def here(tmp_path, *args: str) -> tuple[int, bytes]:
    root = tmp_path / "root"
    root.mkdir(exist_ok=True)
    fake = SimpleNamespace(cfg={"runtime": ["python", "-I", "-S", "-c", "code", "--root", str(root)]})
    return Monitor._delete_here(fake, *args)  # type: ignore[arg-type]


def test_delete_force_of_a_missing_container_succeeds_and_plain_delete_does_not(tmp_path):
    assert here(tmp_path, "--force", "nope") == (0, b"")
    code, err = here(tmp_path, "nope")
    assert code != 0
    assert err.startswith(b"tug-runtime: ") and err.endswith(b"\n")
    assert "nope" in runtime_message(err)


def test_a_bad_id_is_refused_not_raised(tmp_path):
    (tmp_path / "escape").mkdir()
    code, err = here(tmp_path, "--force", "../escape")
    assert code != 0 and err.startswith(b"tug-runtime: ")
    assert (tmp_path / "escape").is_dir()  # nothing outside the runtime root was touched
