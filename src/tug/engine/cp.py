"""`tug cp`: copy files between a container and the host, in either direction, running or not.

The copy runs in a forked child that changes its root to the container's: `/proc/<init>/root` while the container
runs, otherwise its overlay mounted in a private mount namespace. Paths inside the container are therefore resolved
inside it, symlinks included (an absolute symlink or `..` cannot lead out to the host), as docker's chrooted
archiver does. The host side is opened before the chroot and written through directory descriptors.
Files copied into a container are owned by root, as docker does without `-a`.
"""

from __future__ import annotations

import os
import stat

from tug.engine import lifecycle
from tug.engine.containers import Container, bundle_dir, image_chain
from tug.engine.engine import Engine
from tug.errors import Invalid, NotFound, SystemFailure

CHUNK = 1 << 20


def parse_arg(arg: str) -> tuple[str | None, str]:
    """`CONTAINER:PATH` -> (container, path); a local path -> (None, path)."""
    if arg.startswith(("/", ".")) or ":" not in arg:
        return None, arg
    name, _, path = arg.partition(":")
    return name, path


def _copy_tree(src_dir: int | None, src: str, dst_dir: int, name: str, owner: tuple[int, int] | None) -> None:
    """Copy `src` (relative to src_dir, or a path) to `name` in the directory `dst_dir`, recursively."""
    st = os.stat(src, dir_fd=src_dir, follow_symlinks=False)
    if stat.S_ISDIR(st.st_mode):
        try:
            os.mkdir(name, st.st_mode & 0o7777, dir_fd=dst_dir)
        except FileExistsError:
            pass
        sub = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=dst_dir)
        here = os.open(src, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=src_dir)
        try:
            for entry in os.listdir(here):
                _copy_tree(here, entry, sub, entry, owner)
            if owner:
                os.fchown(sub, *owner)
        finally:
            os.close(here)
            os.close(sub)
    elif stat.S_ISLNK(st.st_mode):
        target = os.readlink(src, dir_fd=src_dir)
        try:
            os.unlink(name, dir_fd=dst_dir)
        except FileNotFoundError:
            pass
        os.symlink(target, name, dir_fd=dst_dir)
        if owner:
            os.chown(name, *owner, dir_fd=dst_dir, follow_symlinks=False)
    elif stat.S_ISREG(st.st_mode):
        rfd = os.open(src, os.O_RDONLY | os.O_NOFOLLOW, dir_fd=src_dir)
        try:
            wfd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, st.st_mode & 0o7777,
                          dir_fd=dst_dir)
            try:
                while data := os.read(rfd, CHUNK):
                    os.write(wfd, data)
                os.fchmod(wfd, st.st_mode & 0o7777)
                if owner:
                    os.fchown(wfd, *owner)
            finally:
                os.close(wfd)
        finally:
            os.close(rfd)
    # devices, fifos and sockets are skipped, as docker cp does not copy them usefully either


def _host_dest(dest: str) -> tuple[int, str | None]:
    """The host side of a copy out: (directory fd, name), name None when copying into an existing directory."""
    d = os.path.abspath(dest)
    if os.path.isdir(d):
        return os.open(d, os.O_RDONLY | os.O_DIRECTORY), None
    if dest.endswith("/"):
        raise NotFound(f"no such directory: {dest}")
    try:
        return os.open(os.path.dirname(d), os.O_RDONLY | os.O_DIRECTORY), os.path.basename(d)
    except FileNotFoundError:
        raise NotFound(f"no such directory: {os.path.dirname(d)}") from None


def _container_dest(dest: str) -> tuple[int, str | None]:
    """The same inside the (already chrooted) container."""
    return _host_dest("/" + dest.lstrip("/") if not dest.endswith("/") else "/" + dest.strip("/") + "/")


def source_path(src: str, follow: bool) -> str:
    """The source's path with its directories resolved; a final symlink is resolved only with `follow` (-L) or a
    trailing '/', as docker copies the link itself otherwise."""
    head, tail = os.path.split(src)
    if follow or not tail or tail in (".", ".."):
        return os.path.realpath(src)
    return os.path.join(os.path.realpath(head or "."), tail)


def _copy(src: str, dst_dir: int, name: str | None, owner: tuple[int, int] | None, follow: bool = True) -> None:
    """Copy `src` (a path in this process's root; `dir/.` = the directory's contents) to `name` in `dst_dir`."""
    contents = src.endswith("/.")
    path = os.path.realpath(src[:-2]) if contents else source_path(src, follow)
    st = os.stat(path, follow_symlinks=contents or follow)
    target = name or os.path.basename(path) or "root"
    if contents and stat.S_ISDIR(st.st_mode):
        if not _exists(dst_dir, target):
            os.mkdir(target, 0o755, dir_fd=dst_dir)
        sub = os.open(target, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=dst_dir)
        here = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        try:
            for entry in os.listdir(here):
                _copy_tree(here, entry, sub, entry, owner)
        finally:
            os.close(here)
            os.close(sub)
        return
    _copy_tree(None, path, dst_dir, target, owner)


def _enter_root(eng: Engine, ctr: Container) -> tuple[int, int]:
    """chroot into the container's files; the host ids of the container's root, to own what is copied in."""
    pid = int(ctr.state.get("Pid") or 0)
    owner = (0, 0)
    if ctr.status in ("running", "paused") and pid:
        root = f"/proc/{pid}/root"
        if ctr.options.userns:  # issue 7: create files as the container's root (tug.engine.userns)
            from tug.engine.userns import act_as_container_root

            owner = act_as_container_root(bundle_dir(eng, ctr.id) / "config.json") or owner
    elif ctr.options.rootfs:
        root = ctr.options.rootfs
    else:
        from tug.sys.mountns import enter_private_mount_namespace, mount

        enter_private_mount_namespace()
        root = str(bundle_dir(eng, ctr.id) / "rootfs")
        chains = image_chain(ctr)
        if chains:
            d = eng.container_dir(ctr.id)
            m = eng.snapshots.overlay_mount(chains, d / "upper", d / "work", bundle_dir(eng, ctr.id) / "rootfs")
            os.chdir(m.cwd or "/")
            mount(m.source, str(m.target), m.fstype, 0, m.data)
    os.chroot(root)
    os.chdir("/")
    return owner


def _child(eng: Engine, ctr: Container, to_container: bool, src: str, dest: str, keep_owner: bool,
           follow: bool) -> None:
    """In the forked child: open the host side, enter the container's root, copy. Never returns."""
    code = 0
    try:
        if src == "-" or dest == "-":  # a tar stream on our stdin or stdout (cp_stream)
            from tug.engine import cp_stream

            tarfile = cp_stream.prepare()
            _enter_root(eng, ctr)
            if to_container:
                cp_stream.extract_archive(tarfile, 0, "/" + dest.lstrip("/"), keep_owner)
            else:
                cp_stream.write_archive(tarfile, "/" + src.lstrip("/"), 1, follow)
        elif to_container:
            contents = src.endswith("/.")
            path = os.path.realpath(src[:-2]) if contents else source_path(src, follow)
            src_dir = os.open(os.path.dirname(path), os.O_RDONLY | os.O_DIRECTORY)
            name = os.path.basename(path)
            os.stat(name, dir_fd=src_dir, follow_symlinks=contents or follow)
            owner = _enter_root(eng, ctr)
            dst_dir, dst_name = _container_dest(dest)
            if contents:
                os.fchdir(src_dir)
                _copy(name + "/.", dst_dir, dst_name or name, owner)
            else:
                _copy_tree(src_dir, name, dst_dir, dst_name or name, owner)
        else:
            dst_dir, dst_name = _host_dest(dest)
            _enter_root(eng, ctr)
            _copy("/" + src.lstrip("/"), dst_dir, dst_name, None, follow)
    except (NotFound, FileNotFoundError) as e:
        os.write(2, f"{getattr(e, 'strerror', None) or e}\n".encode())
        code = 2
    except BrokenPipeError:
        code = 1
    except OSError as e:
        os.write(2, f"{e.strerror}: {e.filename or src}\n".encode())
        code = 1
    except BaseException as e:  # noqa: BLE001 - the child must never return into the engine
        os.write(2, f"{e}\n".encode())
        code = 1
    finally:
        os._exit(code)


def _exists(dir_fd: int, name: str) -> bool:
    try:
        os.stat(name, dir_fd=dir_fd)
        return True
    except FileNotFoundError:
        return False


def copy(eng: Engine, src_arg: str, dest_arg: str, archive: bool = False, follow_link: bool = False) -> None:
    """Copy between a container and the host; `-` as one side is a tar stream on stdin/stdout. `archive` (-a)
    keeps the owners a tar stream gives (otherwise root owns what is copied in, as docker does); `follow_link` (-L)
    copies what a symlink source points at (resolved inside the container), not the link."""
    from tug.engine import containers

    src_ctr, src = parse_arg(src_arg)
    dst_ctr, dest = parse_arg(dest_arg)
    if (src_ctr is None) == (dst_ctr is None):
        raise Invalid("copying between containers or between local paths is not supported",
                      hint="one of the paths must be CONTAINER:PATH")
    ctr = containers.find(eng, src_ctr or dst_ctr or "")
    lifecycle.refresh(eng, ctr)
    if src == "-" and src_ctr is None and not dest:
        raise Invalid("a tar stream needs a destination directory in the container")
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child exits
        os.close(r)
        os.dup2(w, 2)
        _child(eng, ctr, dst_ctr is not None, src, dest, archive, follow_link)
    os.close(w)
    err = b""
    while chunk := os.read(r, 65536):
        err += chunk
    os.close(r)
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    if code == 2:
        if src_ctr or src == "-":
            raise NotFound(f"Could not find the file {src if src_ctr else dest} in container {ctr.name}: "
                           + err.decode().strip())
        raise NotFound(err.decode().strip())
    if code != 0:
        raise SystemFailure(f"copying {src_arg} to {dest_arg}: {err.decode(errors='replace').strip()}")
