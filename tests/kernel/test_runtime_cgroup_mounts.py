"""The container's /sys/fs/cgroup on a v1 host: a tmpfs with one bind per hierarchy, all carrying the spec's flags,
through mount_setattr and through the remount fallback (kernels before 5.12). Runs in a forked child's private
mount namespace: the host mount table never changes."""

from __future__ import annotations

import errno
import os

import pytest

from tug.errors import SystemFailure
from tug.runtime import mountopts, rootfs
from tug.sys import mount as m
from tug.sys import ns

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")


def mount_in_child(tmp_path, options: list[str], fallback: bool) -> list[tuple[str, set[str]]]:
    hosts = [tmp_path / "h-cpu", tmp_path / "h-memory"]
    for h in hosts:
        h.mkdir()
    root = tmp_path / "root"
    root.mkdir()
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.close(r)
            ns.unshare(ns.CLONE_NEWNS)
            m.set_propagation("/", m.MS_REC | m.MS_PRIVATE)
            m.mount("tmpfs", str(root), "tmpfs", 0, "mode=755")
            if fallback:
                def no_setattr(fd: int, flags: int, where: str | None = None) -> None:
                    raise SystemFailure("mount_setattr: Function not implemented", errno=errno.ENOSYS)

                m.add_flags_recursive = no_setattr
            root_fd = os.open(root, os.O_PATH | os.O_DIRECTORY)
            cgroups = [("/sys/fs/cgroup/cpu", str(hosts[0])), ("/sys/fs/cgroup/memory", str(hosts[1]))]
            rootfs._mount_cgroup(root_fd, "/sys/fs/cgroup", mountopts.parse(options), cgroups)
            with open("/proc/self/mountinfo") as f:
                os.write(w, f.read().encode())
            code = 0
        finally:
            os._exit(code)
    os.close(w)
    out = b""
    while chunk := os.read(r, 65536):
        out += chunk
    os.close(r)
    assert os.waitpid(pid, 0)[1] == 0
    prefix = f"{root}/sys/fs/cgroup"
    fields = [line.split() for line in out.decode().splitlines()]
    return [(f[4][len(prefix):] or "/", set(f[5].split(","))) for f in fields if f[4].startswith(prefix)]


@pytest.mark.parametrize("fallback", [False, True])
@pytest.mark.parametrize("ro", [True, False])
def test_tmpfs_and_every_bind_get_the_flags(tmp_path, fallback, ro):
    mounts = mount_in_child(tmp_path, ["nosuid", "noexec", "nodev"] + (["ro"] if ro else []), fallback)
    assert sorted(p for p, _ in mounts) == ["/", "/cpu", "/memory"]
    for path, opts in mounts:
        assert {"nosuid", "nodev", "noexec"} <= opts, (path, opts)
        assert ("ro" in opts) == ro, (path, opts)
