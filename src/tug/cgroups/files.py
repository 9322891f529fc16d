"""The seam between the controllers and cgroupfs: every read, write, mkdir and rmdir goes through `Files`.

The real one talks to the kernel; unit tests pass a fake that emulates cgroupfs in a temp dir (a write to
`cgroup.subtree_control` enables controllers in children, mkdir makes the interface files, ...).
"""

from __future__ import annotations

import errno
import os

from tug.errors import SystemFailure


class Files:
    """Plain file operations on a cgroup tree. Errors come back as OSError; callers decide what they mean."""

    def mkdir(self, path: str) -> None:
        os.mkdir(path, 0o755)

    def rmdir(self, path: str) -> None:
        os.rmdir(path)

    def read(self, path: str) -> str:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()

    def write(self, path: str, value: str) -> None:
        # one write(2) per value, no O_CREAT/O_TRUNC: cgroupfs files exist or the controller is off
        fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
        try:
            os.write(fd, value.encode())
        finally:
            os.close(fd)

    def exists(self, path: str) -> bool:
        return os.path.exists(path)

    def isdir(self, path: str) -> bool:
        return os.path.isdir(path)

    def listdir(self, path: str) -> list[str]:
        return os.listdir(path)

    def attach_device_filter(self, path: str, code: bytes) -> None:
        """Load eBPF device-filter bytecode and attach it to the cgroup v2 directory `path` (replacing one)."""
        from tug.sys.bpf import attach_device_program, load_device_program  # ctypes: only when v2 devices apply

        fd = load_device_program(code, path)
        try:
            attach_device_program(path, fd)
        finally:
            os.close(fd)  # the attachment keeps the program alive


REAL = Files()


def failure(what: str, path: str, err: OSError) -> SystemFailure:
    return SystemFailure(f"{what}: {os.strerror(err.errno or 0)}", errno=err.errno, where=path)


def is_busy(err: OSError) -> bool:
    return err.errno in (errno.EBUSY, errno.ENOTEMPTY, errno.EAGAIN)
