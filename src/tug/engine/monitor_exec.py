"""`tug exec` served by the container's monitor: tug-runtime's `exec` verb run in a child forked from it.

The `tug` command that asks (see `tug.engine.exec`) sends the process document and its own stdin/stdout/stderr
(SCM_RIGHTS) on the monitor's socket; the monitor forks, the child calls the runtime's `cmd_exec` in-process (the
namespaces, cgroup, capabilities, seccomp, user, rlimits and environment are applied by the runtime's own code) and
waits for the process, and its exit code goes back to the command as EXIT. No interpreter starts for an exec.

Why the monitor and not the `tug` command itself: the monitor runs from a sealed copy of the interpreter (see
`tug.runtime.sealed`), so what an exec'd process could reach as /proc/PID/exe before its final execve, or exec
again through an image's `#!/proc/self/exe` (CVE-2019-5736), is that sealed memfd, never the host's python, while
the `tug` command runs from the host's writable interpreter file.
"""

from __future__ import annotations

import os

from tug.engine.runtime_fork import reset_child

_runtime_exec = None


def preload() -> None:
    """Import the runtime's exec verb once in the monitor, so that each forked exec starts at once."""
    global _runtime_exec
    if _runtime_exec is None:
        import _sha256  # noqa: F401 - the seccomp filter's cache key

        import tug.sys.seccomp  # noqa: F401 - loads the cached filter
        from tug.runtime import exec as runtime_exec

        _runtime_exec = runtime_exec


def runtime_root(runtime_cmd: list[str]) -> str:
    """The `--root` of the monitor's runtime command line."""
    for i, arg in enumerate(runtime_cmd):
        if arg == "--root" and i + 1 < len(runtime_cmd):
            return runtime_cmd[i + 1]
    from tug.runtime.main import DEFAULT_ROOT

    return DEFAULT_ROOT


def spawn(root: str, ctr_id: str, process: bytes, stdio: list[int], detach: bool,
          console: str | None) -> tuple[int, int]:
    """Fork the exec; returns (pid of the child that waits for the process, fd its error line comes on)."""
    preload()
    mem = os.memfd_create("process.json", os.MFD_CLOEXEC)
    err_r, err_w = os.pipe2(os.O_CLOEXEC)
    try:
        os.write(mem, process)
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child exits
            _child(root, ctr_id, mem, err_w, stdio, detach, console)
    except BaseException:
        os.close(err_r)
        raise
    finally:
        os.close(mem)
        os.close(err_w)
    return pid, err_r


def _child(root: str, ctr_id: str, mem: int, err_w: int, stdio: list[int], detach: bool,
           console: str | None) -> None:
    code = 125
    try:
        reset_child(stdio)
        keep = {0, 1, 2, mem, err_w}
        for name in os.listdir("/proc/self/fd"):  # the monitor's sockets and pipes stay with the monitor
            fd = int(name)
            if fd not in keep:
                try:
                    os.close(fd)
                except OSError:
                    pass
        assert _runtime_exec is not None
        opts = {"process": f"/proc/self/fd/{mem}", "detach": detach, "console_socket": console}
        code = _runtime_exec.cmd_exec(root, ctr_id, [], opts)
    except BaseException as e:  # noqa: BLE001 - the child never returns into the monitor's loop
        from tug.errors import TugError

        if isinstance(e, TugError):
            code, text = e.exit_code, e.one_line()
        elif isinstance(e, OSError):
            text = f"{e.filename + ': ' if e.filename else ''}{e.strerror or e}"
        else:
            text = f"internal error: {type(e).__name__}: {e}"
        try:
            os.write(err_w, text.encode())
        except OSError:
            pass
    finally:
        os._exit(code)


def read_error(err_r: int) -> str:
    """The child's error line, if it wrote one (it has exited: no blocking)."""
    data = bytearray()
    os.set_blocking(err_r, False)
    try:
        while chunk := os.read(err_r, 65536):
            data.extend(chunk)
    except BlockingIOError:
        pass
    finally:
        os.close(err_r)
    return data.decode("utf-8", "replace").strip()
