"""Doing file work inside an image's root without mounting anything on the host.

`run_in_root` forks a child that enters a private mount namespace, mounts the overlay of the image's layers with a
fresh upper directory (a plain directory when there are no layers), opens the source roots it was given, changes
its root to the merged tree and calls the function. Paths in the image therefore resolve inside the image (an
absolute symlink such as `/bin -> usr/bin` works, none leads to the host), and what the function changed is in the
upper directory, ready to be written as a layer. The child reports an error as one line on a pipe.

Modules the function needs are imported before the chroot: after it, the host's Python library is out of reach.
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Callable
from pathlib import Path

from tug.engine.engine import Engine
from tug.errors import Invalid, NotFound, SystemFailure
from tug.oci.digest import Digest
from tug.records import record

_KINDS = {"NotFound": NotFound, "Invalid": Invalid}


@record
class RootSpec:
    """A read-only root to open in the child: a host directory, or the layers of an image (mounted there)."""

    path: Path | None = None
    chains: list[Digest] | None = None


def lower_mount_data(eng: Engine, chains: list[Digest]) -> str:
    top_first = list(reversed(chains))
    return "lowerdir=" + ":".join(f"{c.hex}/fs" for c in top_first)


def open_root_in_child(eng: Engine, spec: RootSpec, staging: Path) -> int:
    """In the child's mount namespace: an fd on the root (mounting a multi-layer image read-only on `staging`)."""
    from tug.sys.mountns import mount

    if spec.path is not None:
        return os.open(spec.path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    chains = spec.chains or []
    if not chains:
        staging.mkdir(parents=True, exist_ok=True)
        return os.open(staging, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    if len(chains) == 1:
        return os.open(eng.snapshots.path(chains[0]), os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    staging.mkdir(parents=True, exist_ok=True)
    cwd = os.getcwd()
    os.chdir(eng.snapshots.root)
    try:
        mount("overlay", str(staging), "overlay", 1, lower_mount_data(eng, chains))  # MS_RDONLY
    finally:
        os.chdir(cwd)
    return os.open(staging, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)


def _preload() -> None:
    """Modules the copy code may need after the chroot."""
    import tarfile  # noqa: F401

    import tug.store.layers  # noqa: F401
    import tug.store.tarpolicy  # noqa: F401
    from tug.engine.build.archive import preload

    preload()


def run_in_root(eng: Engine, chains: list[Digest], work: Path, roots: dict[str, RootSpec],
                fn: Callable[[dict[str, int]], None], pre: Callable[[dict[str, int]], None] | None = None) -> Path:
    """Run `fn(root fds)` chrooted in the image of `chains` with a fresh upper under `work`; returns the upper.
    `pre(root fds)` runs in the child before the chroot, where /proc still names the roots' paths."""
    upper = work / "upper"
    upper.mkdir(parents=True)
    os.chmod(upper, 0o755)
    r, w = os.pipe2(os.O_CLOEXEC)
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        os.close(r)
        code = 1
        try:
            from tug.sys.mountns import enter_private_mount_namespace, mount

            _preload()
            enter_private_mount_namespace()
            fds = {name: open_root_in_child(eng, spec, work / f"root-{name}") for name, spec in roots.items()}
            if pre is not None:
                pre(fds)
            if chains:
                (work / "work").mkdir()
                merged = work / "merged"
                merged.mkdir()
                m = eng.snapshots.overlay_mount(chains, upper, work / "work", merged)
                os.chdir(m.cwd or "/")
                mount(m.source, str(m.target), m.fstype, 0, m.data)
                root = merged
            else:
                root = upper
            os.chroot(root)
            os.chdir("/")
            os.umask(0o022)
            fn(fds)
            code = 0
        except BaseException as e:  # noqa: BLE001 - the child must never return into the builder
            kind = type(e).__name__ if type(e).__name__ in _KINDS else "Error"
            msg = getattr(e, "message", None) or (f"{e.strerror}: {e.filename}" if isinstance(e, OSError)
                                                  and e.filename else str(e))
            if kind == "Error" and not isinstance(e, OSError):
                msg += " | " + traceback.format_exc().strip().splitlines()[-2].strip()
            os.write(w, f"{kind}\t{msg}".encode(errors="replace"))
        finally:
            os._exit(code)
    os.close(w)
    err = bytearray()
    while chunk := os.read(r, 65536):
        err.extend(chunk)
    os.close(r)
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        kind, _, msg = err.decode(errors="replace").partition("\t")
        raise _KINDS.get(kind, SystemFailure)(msg or f"the build's file step failed (status {status})")
    return upper
