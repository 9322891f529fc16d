"""RUN: one build container, isolated exactly as `tug run` isolates (the same bundle writer and spec generator, the
same runtime), whose upper directory becomes the step's layer.

The container is not recorded in the database (it is no user's container): its directory under `containers/<id>`
is made, used and removed here. A forked launcher enters a private mount namespace, prepares the `--mount`
sources there (a context path or another stage's path is opened with `openat2(RESOLVE_IN_ROOT)` and bind-mounted
from its fd, so neither `..` nor a symlink leads out; a writable bind gets a throw-away overlay so the context is
never written), mounts the image overlay on the bundle's rootfs and execs `tug-runtime run`.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

from tug.engine.build.runreq import BindSource, RunRequest
from tug.engine.build.sandbox import open_root_in_child
from tug.engine.containers import Container
from tug.engine.engine import Engine
from tug.errors import NotFound, SystemFailure
from tug.oci.digest import Digest
from tug.oci.image_config import ImageConfig
from tug.records import record
from tug.spec.options import RunOptions

MS_BIND = 4096
MS_REC = 16384
OnOutput = Callable[[bytes], None]


@record
class RunResult:
    container_id: str
    upper: Path
    ctr: Container


def _container(ctr_id: str, chains: list[Digest], opts: RunOptions) -> Container:
    from tug.oci.times import now_rfc3339

    return Container(ctr_id, f"build-{ctr_id[:12]}", None, "build", now_rfc3339(), opts,
                     {"Status": "created"}, {"chain_ids": [str(c) for c in chains]})


def _mount_options(eng: Engine, d: Path, req: RunRequest) -> tuple[list[str], list[tuple[int, BindSource, Path]]]:
    """--mount strings for the spec (sources are staging paths prepared by the launcher)."""
    mounts: list[str] = []
    staged: list[tuple[int, BindSource, Path]] = []
    mnt = d / "mnt"
    mnt.mkdir()
    for i, b in enumerate(req.binds):
        stage = mnt / str(i)
        if b.is_dir:
            stage.mkdir()
        else:
            stage.touch()
        src = stage
        if not b.readonly and b.is_dir:
            for sub in (f"{i}-up", f"{i}-work", f"{i}-rw"):
                (mnt / sub).mkdir()
            src = mnt / f"{i}-rw"
        staged.append((i, b, stage))
        mounts.append(f"type=bind,source={src},target={b.target}" + (",readonly" if b.readonly else ""))
    for host, target in req.caches:
        mounts.append(f"type=bind,source={host},target={target}")
    for host, target in req.secrets:
        mounts.append(f"type=bind,source={host},target={target},readonly")
    for host, target in req.sockets:
        mounts.append(f"type=bind,source={host},target={target}")
    return mounts, staged


def prepare(eng: Engine, cfg: ImageConfig, chains: list[Digest], req: RunRequest,
            on_id: Callable[[str], None] | None = None) -> RunResult:
    """Write the build container's directory and bundle (not recorded in the database). `on_id` hears the
    container's id before anything is made (the build notes it, for a cleaner if the build is killed)."""
    from tug.engine import bundle

    ctr_id = os.urandom(32).hex()
    if on_id is not None:
        on_id(ctr_id)
    d = eng.container_dir(ctr_id)
    d.mkdir(parents=True)
    try:
        mounts, _ = _mount_options(eng, d, req)
        opts = RunOptions(image="build", command=list(req.command), entrypoint="", env=list(req.env),
                          network=req.network, mounts=mounts, tmpfs=list(req.tmpfs), pull="never",
                          **req.settings)
        ctr = _container(ctr_id, chains, opts)
        run_cfg = ImageConfig(json.loads(json.dumps(cfg.raw)))
        for key in ("Volumes", "Healthcheck", "Entrypoint", "OnBuild"):
            run_cfg.config.pop(key, None)
        bundle.write(eng, ctr, run_cfg)
    except BaseException:
        shutil.rmtree(d, ignore_errors=True)
        raise
    return RunResult(ctr_id, d / "upper", ctr)


def _launch_child(eng: Engine, res: RunResult, chains: list[Digest], req: RunRequest, out_w: int,
                  empty: Path) -> None:  # pragma: no cover - runs in the forked launcher
    from tug.engine.lifecycle import runtime_cmd
    from tug.sys.mountns import enter_private_mount_namespace, mount
    from tug.sys.openat2 import RESOLVE_IN_ROOT, RESOLVE_NO_MAGICLINKS, openat2

    code = 125
    try:
        argv = runtime_cmd(eng, "run", "--bundle", str(res.upper.parent / "bundle"), res.container_id)
        enter_private_mount_namespace()
        d = res.upper.parent
        _, staged = _mount_options_paths(d, req)
        for i, b, stage in staged:
            root_fd = open_root_in_child(eng, b.root, d / "mnt" / f"{i}-root")
            try:
                fd = openat2(root_fd, b.path.strip("/") or ".", os.O_PATH | os.O_CLOEXEC, 0,
                             RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)
            except FileNotFoundError:
                raise NotFound(f"RUN --mount source {b.path} not found") from None
            mount(f"/proc/self/fd/{fd}", str(stage), None, MS_BIND | MS_REC)
            os.close(fd)
            os.close(root_fd)
            if not b.readonly and b.is_dir:
                up, work = ((b.layers / "upper", b.layers / "work") if b.layers is not None
                            else (d / "mnt" / f"{i}-up", d / "mnt" / f"{i}-work"))
                mount("overlay", str(d / "mnt" / f"{i}-rw"), "overlay", 0,
                      f"lowerdir={stage},upperdir={up},workdir={work}")
        rootfs = d / "bundle" / "rootfs"
        if chains:
            m = eng.snapshots.overlay_mount(chains, d / "upper", d / "work", rootfs)
            os.chdir(m.cwd or "/")
            mount(m.source, str(m.target), m.fstype, 0, m.data)
        else:
            mount("overlay", str(rootfs), "overlay", 0,
                  f"lowerdir={empty},upperdir={d / 'upper'},workdir={d / 'work'},index=off")
        os.chdir("/")
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(out_w, 1)
        os.dup2(out_w, 2)
        os.execv(argv[0], argv)
    except BaseException as e:  # noqa: BLE001 - never return into the builder
        msg = getattr(e, "message", None) or str(e)
        os.write(out_w, f"error: {msg}\n".encode(errors="replace"))
    finally:
        os._exit(code)


def _mount_options_paths(d: Path, req: RunRequest) -> tuple[None, list[tuple[int, BindSource, Path]]]:
    return None, [(i, b, d / "mnt" / str(i)) for i, b in enumerate(req.binds)]


def execute(eng: Engine, res: RunResult, chains: list[Digest], req: RunRequest, on_output: OnOutput) -> int:
    """Run the container to its end, streaming its output; its exit code."""
    from tug.engine import netattach

    empty = eng.root / "buildcache" / "empty"
    empty.mkdir(parents=True, exist_ok=True)
    netattach.attach(eng, res.ctr)
    try:
        r, w = os.pipe2(os.O_CLOEXEC)
        pid = os.fork()
        if pid == 0:  # pragma: no cover
            os.close(r)
            _launch_child(eng, res, chains, req, w, empty)
        os.close(w)
        while chunk := os.read(r, 65536):
            on_output(chunk)
        os.close(r)
        _, status = os.waitpid(pid, 0)
        code = os.waitstatus_to_exitcode(status)
        return 128 - code if code < 0 else code
    finally:
        from tug.network.attachment import release

        release(eng.runroot, res.container_id)


def cleanup(eng: Engine, res: RunResult) -> None:
    import subprocess

    from tug.engine.lifecycle import runtime_cmd

    state = eng.runtime_root / res.container_id
    if state.exists():
        subprocess.run(runtime_cmd(eng, "delete", "--force", res.container_id), capture_output=True, check=False)
    shutil.rmtree(res.upper.parent, ignore_errors=True)


def failed(command: list[str], code: int) -> SystemFailure:
    from tug.dockerfile.history import go_list_q

    shown = " ".join(command) if len(command) > 2 and command[:2] == ["/bin/sh", "-c"] else go_list_q(command)
    return SystemFailure(f"The command '{shown}' returned a non-zero code: {code}")
