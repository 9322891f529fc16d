"""`run`: create + start; in the foreground wait for the container, pass signals on, exit with its status."""

from __future__ import annotations

import _signal
import os

from tug.runtime import create as create_mod

FORWARDED = (_signal.SIGINT, _signal.SIGTERM, _signal.SIGHUP, _signal.SIGQUIT, _signal.SIGUSR1, _signal.SIGUSR2)


def exit_code(status: int) -> int:
    """A wait status -> shell-style code (128+N for signal N)."""
    code = os.waitstatus_to_exitcode(status)
    return 128 - code if code < 0 else code


def wait_forwarding(pid: int) -> int:
    """waitpid while passing our signals on to `pid`."""
    def forward(sig: int, _frame: object) -> None:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass

    old = {s: _signal.signal(s, forward) for s in FORWARDED}
    try:
        _, status = os.waitpid(pid, 0)
        return status
    finally:
        for s, h in old.items():
            _signal.signal(s, h)


def wait_exec(created: create_mod.Created) -> None:
    """After start: EOF on the sync pipe means the user process was exec'd; an error line means it was not."""
    try:
        msg = created.reader.next()
    finally:
        os.close(created.reader.fd)
    if msg is not None and msg.kind == "error":
        raise msg.error()


def cmd_run(root: str, cid: str, bundle: str | None, console_socket: str | None = None, pid_file: str | None = None,
            detach: bool = False, keep: bool = False) -> int:
    created = create_mod.create(root, cid, bundle, console_socket, pid_file, foreground=not detach, start_now=True)
    c = created.container
    from tug.runtime import delete, start  # after the fork: the init sets up meanwhile

    try:
        start.started(c)
        if detach:
            wait_exec(created)
            return 0
        if created.master_sock is not None:
            from tug.runtime import console

            master = console.receive_master(created.master_sock)
            try:
                wait_exec(created)
                status = console.proxy(master, created.pid, FORWARDED)
            finally:
                os.close(master)
        else:
            status = wait_forwarding(created.pid)
            wait_exec(created)  # now that it is gone: an error line if its command could not be exec'd
        return exit_code(status)
    finally:
        if not detach and not keep:
            if c.status() != "stopped":
                delete.kill_and_wait(c)
            delete.destroy(c)
