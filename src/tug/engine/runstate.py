"""A container's run directory under the runroot, and the state file its monitor keeps there.

`<runroot>/containers/<id>/` holds `monitor.json` (what the monitor was asked to do), `state.json` (what it knows:
pids with their start times, status, exit code, health; rewritten atomically on every change), `init.pid`,
`attach.sock` and `monitor.log`. The monitor imports this module, so it stays small: no tug imports beyond `sys/`
and `jsontext`.
"""

from __future__ import annotations

import os

from tug import jsontext

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def run_dir(runroot: str, ctr_id: str) -> str:
    return os.path.join(runroot, "containers", ctr_id)


def read_json(path: str) -> dict[str, Any] | None:
    """The document in `path`, None when it is missing or not JSON (a monitor may be rewriting it)."""
    try:
        return jsontext.read_file(path)
    except (OSError, ValueError):
        return None


def read_state(runroot: str, ctr_id: str) -> dict[str, Any] | None:
    return read_json(os.path.join(run_dir(runroot, ctr_id), "state.json"))


def start_ticks(pid: int) -> int | None:
    """The start time of `pid` in clock ticks since boot (field 22 of /proc/PID/stat), None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return None
    fields = data[data.rindex(b")") + 2:].split()
    if fields[0] in (b"Z", b"X"):
        return None
    return int(fields[19])


def same_process(pid: int, ticks: int | None) -> bool:
    """True while `pid` runs and is the process that started at `ticks` (pids are reused)."""
    if pid <= 0:
        return False
    now = start_ticks(pid)
    return now is not None and (ticks is None or now == ticks)


def connect_path(dir_path: str, name: str) -> tuple[str, int]:
    """A short path to `name` in `dir_path` through /proc/self/fd (unix socket paths are capped at 108 bytes).

    Returns (path, dir fd); the caller closes the fd once bound or connected.
    """
    fd = os.open(dir_path, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    return f"/proc/self/fd/{fd}/{name}", fd
