"""tug-runtime's verbs run in a forked child of the monitor instead of a freshly started interpreter.

A container start used to cost three interpreter start-ups (`create`, `start`, `delete`), each about 12 ms. The
monitor is itself a small `-I -S` interpreter running from a sealed copy of the executable (see
`tug.runtime.sealed`), so a child forked from it is what a freshly exec'd, sealed `tug-runtime` would be: the
container's init never has the host's interpreter as /proc/PID/exe. The child calls `tug.runtime.main.main` with
the same argv the CLI would get, so the runtime stays one program with one grammar, whichever way it is started.

Used only when the container's runtime is tug's own and the monitor really is sealed; a runc or crun, or an
unsealed monitor, is spawned as a program as before.
"""

from __future__ import annotations

import _signal as signal
import os
import sys

# signals the monitor handles or ignores, back to what a freshly started interpreter has (SIGPIPE stays ignored,
# as Python sets it; the runtime resets every disposition itself before the container's execve)
_RESET = (signal.SIGCHLD, signal.SIGHUP, signal.SIGTTOU, signal.SIGTTIN, signal.SIGTERM)


def preload() -> None:
    """Import the verbs a container's life needs once in the monitor, so each forked verb starts at once; and what
    the container's init imports (it is forked from `create`), which would otherwise delay its set-up by a few ms
    on the container's critical path."""
    import _sha256  # noqa: F401 - the seccomp cache key

    import tug.cgroups.devicefilter  # noqa: F401 - on cgroup v2, the device rules' eBPF program
    import tug.cgroups.manager  # noqa: F401 - create writes linux.resources through it (~1 ms of imports)
    import tug.runtime.create  # noqa: F401
    import tug.runtime.delete  # noqa: F401
    import tug.runtime.init  # noqa: F401
    import tug.runtime.jsonio  # noqa: F401
    import tug.runtime.main  # noqa: F401
    import tug.runtime.run  # noqa: F401 - the monitor starts a container with `run -d`
    import tug.runtime.start  # noqa: F401 - which imports it once the init is forked
    import tug.sys.netif  # noqa: F401 - lo is brought up in a new network namespace
    import tug.sys.seccomp  # noqa: F401


def reset_child(stdio: list[int]) -> None:
    """In a child forked from the monitor: the signal dispositions a freshly started interpreter has, and `stdio`
    as fds 0, 1, 2."""
    signal.set_wakeup_fd(-1)
    for sig in _RESET:
        signal.signal(sig, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for target, fd in enumerate(stdio):
        if fd != target:
            os.dup2(fd, target)


def spawn(args: list[str], stdin: int, stdout: int, stderr: int) -> int:
    """Fork; the child runs `tug-runtime ARGS` with the given stdio and exits with its code. Returns the pid."""
    preload()
    pid = os.fork()
    if pid:
        return pid
    code = 125
    try:
        reset_child([stdin, stdout, stderr])
        from tug.runtime.main import main

        code = main(list(args))
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException as e:  # noqa: BLE001 - the child never returns into the monitor's loop
        try:
            os.write(2, f"tug-runtime: internal error: {type(e).__name__}: {e}\n".encode())
        except OSError:
            pass
    finally:
        os._exit(code)
