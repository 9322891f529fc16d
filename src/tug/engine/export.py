"""`tug export CONTAINER`: the container's merged root file system as one tar stream.

The merge is the kernel's: a forked child enters a private mount namespace (made MS_REC|MS_PRIVATE before anything
is mounted, so the host's mount table never changes), mounts a read-only overlay whose lower layers are the
container's upper directory on top of the image's snapshots, writes the tree as a tar to the output fd and exits;
the namespace and the mount die with it. A `--rootfs` container's directory is written as it is.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from tug.engine import containers
from tug.engine.engine import Engine
from tug.errors import Invalid, SystemFailure


class _FdWriter:
    def __init__(self, fd: int) -> None:
        self.fd = fd

    def write(self, data: bytes) -> int:
        view = memoryview(data)
        while view:
            view = view[os.write(self.fd, view):]
        return len(data)


def _mount_readonly(eng: Engine, ctr: containers.Container, target: Path) -> None:
    """In the child, inside its private namespace: the read-only overlay of upper + image layers on `target`."""
    from tug.sys.mountns import MS_RDONLY, mount

    chains = containers.image_chain(ctr)
    d = eng.container_dir(ctr.id)
    upper = (d / "upper").absolute()
    if any(ch in str(upper) for ch in ",:\\"):
        raise Invalid(f"container directory {upper} has a ',', ':' or '\\' in its path")
    # the store's description of the container's own mount, with the upper turned into the top lower layer
    spec = eng.snapshots.overlay_mount(chains, upper, d / "work", target)
    opts = []
    for o in spec.options:
        if o.startswith("lowerdir="):
            opts.append(f"lowerdir={upper}:{o[len('lowerdir='):]}")
        elif not o.startswith(("upperdir=", "workdir=")):
            opts.append(o)
    if spec.cwd:
        os.chdir(spec.cwd)
    mount("overlay", str(target), "overlay", MS_RDONLY, ",".join(opts))


def export(eng: Engine, ref: str, out_fd: int) -> None:
    """Write the tar of the container's root to `out_fd`."""
    from tug.store.diff import write_tree

    ctr = containers.find(eng, ref)
    if ctr.options.rootfs:
        write_tree(ctr.options.rootfs, _FdWriter(out_fd))
        return
    if not containers.image_chain(ctr):
        raise Invalid(f"container {ctr.short_id} has no image layers to export")
    eng.layout.tmp.mkdir(parents=True, exist_ok=True)
    target = Path(tempfile.mkdtemp(prefix="export-", dir=eng.layout.tmp))
    r, w = os.pipe()
    try:
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child
            os.close(r)
            code = 1
            try:
                from tug.sys.mountns import enter_private_mount_namespace

                enter_private_mount_namespace()
                _mount_readonly(eng, ctr, target)
                write_tree(target, _FdWriter(out_fd))
                code = 0
            except BaseException as e:  # noqa: BLE001 - reported through the pipe, never returns into the engine
                os.write(w, (str(e) or type(e).__name__).encode()[:4000])
            finally:
                os._exit(code)
        os.close(w)
        w = -1
        with os.fdopen(r, "rb") as f:
            r = -1
            message = f.read().decode(errors="replace")
        _, status = os.waitpid(pid, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemFailure(f"exporting container {ctr.short_id}: {message or 'the exporter failed'}")
    finally:
        for fd in (r, w):
            if fd >= 0:
                os.close(fd)
        os.rmdir(target)
