"""The process that holds a container's network namespace: `sleep infinity`, started in a fresh namespace.

A holder keeps the namespace (and the veth end inside it) alive from before the runtime starts until the engine
releases the container, across restarts of the container's process, without any bind mount: the host's mount table
never changes. Its path `/proc/<pid>/ns/net` is what the runtime joins. It runs in its own session, so a Ctrl-C on
`tug run` does not reach it; it is identified by pid and start time so a recycled pid is never signalled.
"""

from __future__ import annotations

import os

from tug.errors import SystemFailure
from tug.sys.proc import stat_fields

_SLEEP: list[str] = []


def sleep_path() -> str:
    """`sleep` from the usual system directories (PATH may start with many others), found once per process."""
    if not _SLEEP:
        found = next((p for p in ("/usr/bin/sleep", "/bin/sleep") if os.access(p, os.X_OK)), None)
        if found is None:
            import shutil

            found = shutil.which("sleep") or "/bin/sleep"
        _SLEEP.append(found)
    return _SLEEP[0]


def start_ticks(pid: int) -> int | None:
    fields = stat_fields(pid)
    return int(fields[19]) if fields else None


def spawn() -> tuple[int, int]:
    """Start a holder in a new network namespace; returns (pid, start ticks) once it runs there."""
    from tug.sys import ns

    sleep = sleep_path()
    r, w = os.pipe2(os.O_CLOEXEC)
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        try:
            os.close(r)
            os.setsid()
            ns.unshare(ns.CLONE_NEWNET)
            null = os.open("/dev/null", os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(null, fd)
            os.closerange(3, w)
            os.closerange(w + 1, 65536)
            os.execv(sleep, [sleep, "infinity"])
        except BaseException as e:  # noqa: BLE001 - reported to the parent
            os.write(w, (str(e) or type(e).__name__).encode())
        os._exit(127)
    os.close(w)
    chunks = []
    while True:
        b = os.read(r, 4096)
        if not b:
            break
        chunks.append(b)
    os.close(r)
    if chunks:
        os.waitpid(pid, 0)
        raise SystemFailure(f"network namespace holder: {b''.join(chunks).decode(errors='replace')}")
    ticks = start_ticks(pid)
    if ticks is None:
        raise SystemFailure("network namespace holder ended at once")
    return pid, ticks


def path(pid: int) -> str:
    return f"/proc/{pid}/ns/net"


def alive(pid: int, ticks: int | None) -> bool:
    return pid > 0 and ticks is not None and start_ticks(pid) == ticks


def stop(pid: int, ticks: int | None) -> None:
    """Kill the holder if it is still the same process, and reap it if it is our child."""
    if alive(pid, ticks):
        try:
            os.kill(pid, 9)  # SIGKILL (the signal module is an import the monitor avoids)
        except ProcessLookupError:
            pass
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass
