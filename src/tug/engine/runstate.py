"""A container's run directory under the runroot, and the state file its monitor keeps there.

`<runroot>/containers/<id>/` holds `monitor.json` (what the monitor was asked to do), `state.json` (what it knows:
pids with their start times, status, exit code, health; rewritten atomically on every change), `init.pid`,
`attach.sock` and `monitor.log`. The monitor imports this module, so it stays small: no tug imports beyond `sys/`
and `oci.times`.
"""

from __future__ import annotations

import _json
import os

from tug.oci.times import now_rfc3339  # noqa: F401 - the monitor's, lifecycle's and probe's clock

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def run_dir(runroot: str, ctr_id: str) -> str:
    return os.path.join(runroot, "containers", ctr_id)


def dumps(v: Any) -> str:
    """JSON text of plain data (dict, list, str, int, float, bool, None)."""
    if isinstance(v, str):
        return _json.encode_basestring(v)
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, dict):
        return "{" + ", ".join(f"{_json.encode_basestring(str(k))}: {dumps(x)}" for k, x in v.items()) + "}"
    if isinstance(v, list | tuple):
        return "[" + ", ".join(dumps(x) for x in v) + "]"
    raise TypeError(f"cannot encode {type(v).__name__} as JSON")


class _Context:
    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = None
    memo: dict = {}


_scan = _json.make_scanner(_Context())


def loads(text: str) -> Any:
    i = 0
    while i < len(text) and text[i] in " \t\r\n":
        i += 1
    try:
        value, end = _scan(text, i)
    except StopIteration:
        raise ValueError("invalid JSON") from None
    if text[end:].strip():
        raise ValueError("extra data after JSON")
    return value


def write_json(path: str, doc: dict[str, Any]) -> None:
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w") as f:
        f.write(dumps(doc))
    os.replace(tmp, path)


def read_json(path: str) -> dict[str, Any] | None:
    try:
        with open(path) as f:
            return loads(f.read())
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
