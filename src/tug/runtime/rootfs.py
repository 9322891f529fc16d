"""The container's mount table: runs in the init, inside its new (private) mount namespace.

prepare(): make every mount private, bind the rootfs onto itself, perform `mounts` with each destination
resolved inside the rootfs, create /dev nodes and links. pivot(): pivot_root into it and detach the old root.
finalize(): masked and read-only paths, read-only root, root propagation.
"""

from __future__ import annotations

import errno
import os
import stat

from tug.errors import Invalid, SystemFailure
from tug.runtime import devices, mountopts
from tug.sys import inroot
from tug.sys import mount as m

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def prepare(spec: dict[str, Any], rootfs: str, bundle: str, cgroups: list[tuple[str, str]],
            userns_fd: int | None = None) -> int:
    """Everything before pivot_root; returns an O_PATH fd of the (bind-mounted) rootfs. With a new user namespace
    the rootfs is bind-mounted with its id mapping where the filesystem allows (issue 7)."""
    m.set_propagation("/", m.MS_REC | m.MS_PRIVATE)  # first, before anything is mounted in this namespace
    if not os.path.isdir(rootfs):
        raise Invalid(f"rootfs {rootfs} is not a directory", where=rootfs)
    idmapped = False
    if userns_fd is not None:
        from tug.runtime import userns

        idmapped = userns.idmapped_bind(rootfs, rootfs, userns_fd)
    if not idmapped:
        m.mount(rootfs, rootfs, None, m.MS_BIND | m.MS_REC, where=rootfs)
    root_fd = os.open(rootfs, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    has_devpts = False
    for mnt in spec.get("mounts") or ():
        mount_one(root_fd, mnt, bundle, cgroups)
        has_devpts |= mnt.get("type") == "devpts" and os.path.normpath(mnt["destination"]) == "/dev/pts"
    linux = spec.get("linux") or {}
    devices.create(root_fd, devices.all_devices(linux.get("devices")))
    devices.symlinks(root_fd, has_devpts)
    return root_fd


def _reopen(root_fd: int, dest: str) -> int:
    """An fd on what is now mounted at `dest` (the fd used as mount target points under the new mount)."""
    return inroot.open_path(root_fd, dest)


def mount_one(root_fd: int, mnt: dict[str, Any], bundle: str, cgroups: list[tuple[str, str]]) -> None:
    dest = mnt["destination"]
    fstype = mnt.get("type") or ""
    source = mnt.get("source") or fstype or "none"
    opts = mountopts.parse(mnt.get("options"))
    if fstype == "bind":
        opts = mountopts.MountOptions(opts.flags | m.MS_BIND, opts.propagation, opts.data)
    if fstype == "cgroup" and not opts.is_bind:
        _mount_cgroup(root_fd, dest, opts, cgroups)
        return
    kind = "dir"
    if opts.is_bind:
        source = os.path.join(bundle, source)
        try:
            if not stat.S_ISDIR(os.stat(source).st_mode):
                kind = "file"
        except FileNotFoundError:
            raise Invalid(f"mount source {source} does not exist", where=dest) from None
    fd = inroot.ensure(root_fd, dest, kind)
    try:
        if opts.is_bind:
            m.mount(source, m.fd_path(fd), None, opts.flags & (m.MS_BIND | m.MS_REC), where=dest)
        else:
            m.mount(source, m.fd_path(fd), fstype, opts.flags & ~m.MS_REMOUNT, opts.data, where=dest)
    finally:
        os.close(fd)
    if (opts.is_bind and opts.remount_flags) or opts.propagation:
        fd = _reopen(root_fd, dest)
        try:
            if opts.is_bind and opts.remount_flags:
                m.bind_remount(m.fd_path(fd), opts.remount_flags, where=dest)
            for prop in opts.propagation:
                m.set_propagation(m.fd_path(fd), prop, where=dest)
        finally:
            os.close(fd)


def _mount_cgroup(root_fd: int, dest: str, opts: mountopts.MountOptions, cgroups: list[tuple[str, str]]) -> None:
    """Binds of the container's own dir of each host hierarchy: one for a v2-only host, else a tmpfs holding one
    per hierarchy under the hierarchy's name (cpu, memory, ..., unified)."""
    keep = opts.flags & (m.MS_NOSUID | m.MS_NODEV | m.MS_NOEXEC | m.MS_RELATIME)
    flags = keep | (opts.flags & m.MS_RDONLY)
    if len(cgroups) == 1 and cgroups[0][0] == "/sys/fs/cgroup":  # v2 only
        fd = inroot.ensure(root_fd, dest)
        try:
            m.mount(cgroups[0][1], m.fd_path(fd), None, m.MS_BIND | m.MS_REC, where=dest)
        finally:
            os.close(fd)
        fd = _reopen(root_fd, dest)
        try:
            m.bind_remount(m.fd_path(fd), flags, where=dest)
        finally:
            os.close(fd)
        return
    fd = inroot.ensure(root_fd, dest)
    try:
        m.mount("tmpfs", m.fd_path(fd), "tmpfs", keep, "mode=755", where=dest)
    finally:
        os.close(fd)
    tmp = _reopen(root_fd, dest)  # the new tmpfs: empty, nothing of the image's below it to resolve through
    try:
        for mnt, host in cgroups:
            name = os.path.basename(mnt)
            try:
                os.mkdir(name, 0o755, dir_fd=tmp)
            except FileExistsError:
                pass
            m.mount(host, f"{m.fd_path(tmp)}/{name}", None, m.MS_BIND | m.MS_REC, where=f"{dest}/{name}")
        if _flags_below(tmp, dest, flags):
            return
        for mnt, _host in cgroups:  # before Linux 5.12: a remount per bind, then the tmpfs
            name = os.path.basename(mnt)
            m.bind_remount(f"{m.fd_path(tmp)}/{name}", flags, where=f"{dest}/{name}")
        if opts.flags & m.MS_RDONLY:
            m.mount(None, m.fd_path(tmp), None, m.MS_REMOUNT | keep | m.MS_RDONLY, None, where=dest)
    finally:
        os.close(tmp)


def _flags_below(fd: int, dest: str, flags: int) -> bool:
    """The mount `fd` is the root of and every mount below it get `flags` in one mount_setattr (instead of a
    remount per cgroup hierarchy); False when the kernel has no mount_setattr (before 5.12)."""
    try:
        m.add_flags_recursive(fd, flags, where=dest)
        return True
    except SystemFailure as e:
        if e.errno in (errno.ENOSYS, errno.EINVAL):
            return False
        raise


def pivot(root_fd: int) -> None:
    os.fchdir(root_fd)
    m.pivot_root(".", ".")
    m.umount(".", m.MNT_DETACH)  # the old root is stacked on top of "." now
    os.chdir("/")


def finalize(spec: dict[str, Any]) -> None:
    """After pivot_root: masked and read-only paths, read-only root, the requested root propagation."""
    linux = spec.get("linux") or {}
    for path in linux.get("maskedPaths") or ():
        _mask(path)
    for path in linux.get("readonlyPaths") or ():
        _readonly(path)
    if (spec.get("root") or {}).get("readonly"):
        m.bind_remount("/", m.MS_RDONLY, where="/")
    prop = linux.get("rootfsPropagation")
    if prop:
        flag = mountopts.PROPAGATION.get(prop)
        if flag is None:
            raise Invalid(f"unknown rootfsPropagation {prop!r}")
        m.set_propagation("/", flag, where="/")


def _mask(path: str) -> None:
    try:
        st = os.stat(path)
    except OSError as e:
        if e.errno in (errno.ENOENT, errno.ENOTDIR):
            return
        raise
    if stat.S_ISDIR(st.st_mode):
        m.mount("tmpfs", path, "tmpfs", m.MS_RDONLY, "size=0", where=path)
    else:
        m.mount("/dev/null", path, None, m.MS_BIND, where=path)


def _readonly(path: str) -> None:
    try:
        m.mount(path, path, None, m.MS_BIND | m.MS_REC, where=path)
    except Exception as e:
        if getattr(e, "errno", None) in (errno.ENOENT, errno.ENOTDIR):
            return
        raise
    m.bind_remount(path, m.MS_RDONLY, where=path)
