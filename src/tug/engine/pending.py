"""Starting a container's monitor process, and `PendingMonitor`: one started before its container exists.

Kept apart from `lifecycle` so that `tug run` can start its monitor first thing, before it imports the engine: the
monitor's interpreter then boots and loads the runtime on the other CPU for the whole time this process spends
importing and creating the container. This module imports nothing heavy for that reason.
"""

from __future__ import annotations

import _socket  # the C module: `socket` costs ~2 ms of imports, and tug run's attach relay needs none of it
import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    import socket


def monitor_argv() -> list[str]:
    """The monitor runs from a sealed copy of the interpreter (`/proc/<our pid>/fd/N`, opened by the execve while we
    wait): containers' processes forked from it never see the host's interpreter as /proc/PID/exe."""
    from tug.runtime.launch import site_dir
    from tug.runtime.sealed import sealed_path

    code = (f"import sys; sys.path.insert(0, {site_dir()!r}); "
            "from tug.engine.monitor import main; main()")
    return [sealed_path(sys.executable), "-I", "-S", "-c", code]


def spawn_monitor_process(argv: list[str], sync_w: int, theirs: socket.socket | _socket.socket | None,
                          log_path: str | None, go_r: int = -1) -> None:
    """Start the monitor (`argv` + sync fd, attach fd[, go fd]) in a session of its own, its stdio on /dev/null (its
    output to `log_path` if given), and return at once.

    posix_spawn (a vfork in glibc) rather than fork: a fork copies this process's page tables, about 2 ms of
    `tug run`'s critical path. The monitor is our child until we exit and outlives us; a long-lived caller (tug used
    as a library) has the monitors that ended reaped at its next spawn, so none stays a zombie for long."""
    _reap_ended()
    passed = [sync_w] + ([theirs.fileno()] if theirs is not None else []) + ([go_r] if go_r >= 0 else [])
    tail = [str(sync_w), str(theirs.fileno() if theirs is not None else -1)] + ([str(go_r)] if go_r >= 0 else [])
    out = log_path or os.devnull
    actions = [(os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDWR, 0),
               (os.POSIX_SPAWN_OPEN, 1, out, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600),
               (os.POSIX_SPAWN_DUP2, 1, 2)]
    for fd in passed:
        os.set_inheritable(fd, True)
    try:
        _spawned.add(os.posix_spawn(argv[0], [*argv, *tail], os.environ, file_actions=actions, setsid=True))
    finally:
        for fd in passed:
            os.set_inheritable(fd, False)


_spawned: set[int] = set()  # monitors this process started and has not reaped


def _reap_ended() -> None:
    for pid in list(_spawned):
        try:
            done = os.waitpid(pid, os.WNOHANG)[0]
        except ChildProcessError:
            done = pid
        if done:
            _spawned.discard(pid)


class PendingMonitor:
    """A monitor started before its container exists (`tug run`): it starts its interpreter and loads the runtime on
    one CPU while this command creates the container on the other, then waits for its run directory.
    `lifecycle.spawn_monitor(..., pending=)` hands that over; `cancel()` (or this process ending) lets it go."""

    def __init__(self, runroot: str, attach: bool) -> None:
        go_r, self.go_w = os.pipe2(os.O_CLOEXEC)
        self.sync_r, sync_w = os.pipe2(os.O_CLOEXEC)
        self.ours: _socket.socket | None = None
        theirs = None
        if attach:
            self.ours, theirs = _socket.socketpair(_socket.AF_UNIX, _socket.SOCK_STREAM)
        try:
            # the runroot in its argv, so `ps` (and tests) can tell whose monitor it is before it has a container
            spawn_monitor_process([*monitor_argv(), f"--await:{runroot}"], sync_w, theirs, None, go_r)
        finally:
            os.close(go_r)
            os.close(sync_w)
            if theirs is not None:
                theirs.close()

    def go(self, rundir: str) -> tuple[int, _socket.socket | None]:
        """Send the run directory; (the fd its report comes on, the attached socket: a C-level `_socket.socket`,
        with recv, sendall, sendmsg, fileno and close, all the attach relay uses)."""
        try:
            os.write(self.go_w, rundir.encode())
        finally:
            os.close(self.go_w)
            self.go_w = -1
        handed = self.sync_r, self.ours
        self.sync_r, self.ours = -1, None  # the caller owns them now
        return handed

    def cancel(self) -> None:
        for fd in (self.go_w, self.sync_r):
            if fd >= 0:
                os.close(fd)
        self.go_w = self.sync_r = -1
        if self.ours is not None:
            self.ours.close()
            self.ours = None
