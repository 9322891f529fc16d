"""Keeping the host's interpreter out of reach of a container (the CVE-2019-5736 class).

The container's init and `exec`'d processes are forked from tug-runtime, a Python process: until their final
execve, /proc/PID/exe is the interpreter. An image whose command is `#!/proc/self/exe` gets that interpreter
exec'd again inside the container, dumpable, where any container process can open /proc/PID/exe and, once it has
exited, reopen it for writing through /proc/self/fd/N: the next `python` on the host would be the attacker's.

So tug-runtime never runs from the host file: it runs from a sealed memfd copy of the interpreter (17 KB here:
libpython stays a shared library, which a container cannot reach, since /proc/PID/map_files needs CAP_SYS_ADMIN in
the host's user namespace). A write to a sealed memfd fails with EPERM whoever tries.

- `sealed_argv(argv)`: callers that start `runtime_argv()` swap argv[0] for /proc/<own pid>/fd/<memfd> (valid while
  they are alive, which they are during the execve);
- `ensure_sealed(args)`: tug-runtime started any other way (a shell, runc's tests) re-executes itself from a sealed
  copy before it creates or execs anything.
"""

from __future__ import annotations

import os

F_ADD_SEALS, F_GET_SEALS = 1033, 1034
F_SEAL_SEAL, F_SEAL_SHRINK, F_SEAL_GROW, F_SEAL_WRITE = 1, 2, 4, 8
ALL_SEALS = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE
MEMFD_NAME = "tug-python"

_cache: dict[str, tuple[int, int, int]] = {}  # real path of the interpreter -> (fd, st_dev, st_ino) of its copy


def sealed_copy(path: str) -> int:
    """A CLOEXEC memfd holding the bytes of `path`, sealed against any change."""
    import fcntl

    fd = os.memfd_create(MEMFD_NAME, os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
    try:
        src = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            size = os.fstat(src).st_size
            done = 0
            while done < size:
                n = os.sendfile(fd, src, done, size - done)
                if n == 0:
                    break
                done += n
        finally:
            os.close(src)
        fcntl.fcntl(fd, F_ADD_SEALS, ALL_SEALS)
    except BaseException:
        os.close(fd)
        raise
    return fd


def sealed_path(python: str) -> str:
    """/proc/<this pid>/fd/<n> of a sealed copy of `python`, made once per process (re-made if the fd was closed
    or reused, e.g. by a daemon that closed its fds)."""
    real = os.path.realpath(python)
    hit = _cache.get(real)
    if hit is not None:
        fd, dev, ino = hit
        try:
            st = os.fstat(fd)
            if (st.st_dev, st.st_ino) == (dev, ino):
                return f"/proc/{os.getpid()}/fd/{fd}"
        except OSError:
            pass
    fd = sealed_copy(real)
    st = os.fstat(fd)
    _cache[real] = (fd, st.st_dev, st.st_ino)
    return f"/proc/{os.getpid()}/fd/{fd}"


def sealed_argv(argv: list[str]) -> list[str]:
    """`runtime_argv()`-style argv with the interpreter replaced by its sealed copy (others are left alone)."""
    if len(argv) > 2 and argv[1:3] == ["-I", "-S"] and not argv[0].startswith("/proc/"):
        return [sealed_path(argv[0]), *argv[1:]]
    return argv


def is_sealed(exe: str = "/proc/self/exe") -> bool:
    """Whether this process runs from a write-sealed file."""
    import fcntl

    try:
        fd = os.open(exe, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        return bool(fcntl.fcntl(fd, F_GET_SEALS) & F_SEAL_WRITE)
    except OSError:
        return False
    finally:
        os.close(fd)


def ensure_sealed(args: list[str]) -> None:
    """Re-execute tug-runtime (with `args`, its own arguments) from a sealed copy unless it already runs from one."""
    if is_sealed():
        return
    import tug

    fd = sealed_copy("/proc/self/exe")
    site = os.path.dirname(os.path.dirname(os.path.abspath(tug.__file__)))
    code = (f"import gc; gc.disable(); import sys; sys.path.insert(0, {site!r}); from tug.runtime.main import main; "
            "c = main(); "
            "sys.stdout.flush(); sys.stderr.flush(); import os; os._exit(c)")
    path = f"/proc/self/fd/{fd}"  # execve opens it before close-on-exec closes the fd
    os.execv(path, [path, "-I", "-S", "-c", code, *args])
