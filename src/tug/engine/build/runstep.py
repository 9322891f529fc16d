"""The RUN step: its cache inputs, its `--mount`s and `--network`, and the build container that runs it."""

from __future__ import annotations

import json
import os
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING

from tug.dockerfile import instructions as ins
from tug.dockerfile.history import command_with_shell, created_by
from tug.dockerfile.mounts import Mount
from tug.dockerfile.plan import BuildPlan, StageEvaluator
from tug.engine.build import config as cfgmod
from tug.engine.build import runreq
from tug.engine.build.cache import StepInputs
from tug.engine.build.executor import BuildEvent, State
from tug.engine.build.sandbox import RootSpec
from tug.errors import Invalid, NotFound
from tug.oci.image_config import ImageConfig
from tug.records import asdict, field, record

if TYPE_CHECKING:
    from tug.engine.build.executor import Builder

NETWORKS = {"default": "bridge", "bridge": "bridge", "none": "none", "host": "host"}


def check_mount_target(m) -> str:  # noqa: ANN001 - a dockerfile.mounts.Mount
    if not m.target:
        raise Invalid(f"RUN --mount type={m.type} needs a target")
    return m.target


def network_mode(step: str, build: str) -> str:
    chosen = step if step and step != "default" else build
    if chosen not in NETWORKS:
        raise Invalid(f"unsupported network mode for RUN: {chosen!r} (none, host or default)")
    return NETWORKS[chosen]


def stage_root(b: Builder, plan: BuildPlan, ref: str) -> tuple[RootSpec, str]:
    """A `--from` reference as a root: an earlier stage (its layers) or an image. Also the id the cache compares."""
    df = plan.dockerfile
    index = int(ref) if ref.isdecimal() else None
    if index is None:
        found = df.stage_by_name(ref)
        index = found.index if found is not None else None
    if index is not None:
        if index not in b.results:
            raise Invalid(f"stage {ref} has not been built before this step")
        st = b.results[index]
    else:
        st = b.image_state(ref)
    return RootSpec(chains=st.chains), str(st.id)


def _path_kind(b: Builder, spec: RootSpec, path: str) -> bool:
    """Whether a bind source is a directory (a file bind needs a file to mount on)."""
    import stat

    if spec.path is not None:
        from tug.sys.openat2 import RESOLVE_IN_ROOT, openat2

        root = os.open(spec.path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            fd = openat2(root, path.strip("/") or ".", os.O_PATH | os.O_CLOEXEC, 0, RESOLVE_IN_ROOT)
        except FileNotFoundError:
            raise NotFound(f"RUN --mount source {path} not found in the build context") from None
        finally:
            os.close(root)
        try:
            return stat.S_ISDIR(os.fstat(fd).st_mode)
        finally:
            os.close(fd)
    from tug.store.overlay_changes import LowerView

    view = LowerView([b.eng.snapshots.path(c) for c in reversed(spec.chains or [])])
    st = view.lookup(tuple(p for p in path.split("/") if p))
    return st is None or stat.S_ISDIR(st.st_mode)


@record
class Pending:
    """Mounts taken only when the step runs (a cached step never waits for a cache lock or starts a relay)."""

    caches: list[tuple[Mount, runreq.BindSource | None]] = field(default_factory=list)
    ssh: list[tuple[Mount, str]] = field(default_factory=list)


def requests(b: Builder, plan: BuildPlan, x: ins.Run, network: str, env: list[str],
             command: list[str]) -> tuple[runreq.RunRequest, dict[str, str], dict[str, str], Pending]:
    """The container request, plus the files and other inputs its mounts add to the cache key, and the mounts
    to take when the step runs."""
    from tug.engine.build.context import collect, open_root

    req = runreq.RunRequest(command, env, network)
    pending = Pending()
    files: dict[str, str] = {}
    extra: dict[str, str] = {}
    for i, m in enumerate(x.mounts):
        if m.type in ("bind", "cache", "tmpfs"):
            check_mount_target(m)
        if m.type == "bind":
            if m.from_:
                root, ident = stage_root(b, plan, m.from_)
                extra[f"mount {i} source"] = ident
            else:
                root = RootSpec(path=b.ctx.root)
                fd = open_root(b.ctx.root)
                try:
                    for src in collect(fd, m.source or ".", b.ctx.matcher, digests=b.digests):
                        files.update(src.summary())
                finally:
                    os.close(fd)
            req.binds.append(runreq.BindSource(root, m.source or "/", m.target, m.readonly,
                                               _path_kind(b, root, m.source or "/")))
        elif m.type == "cache":
            source = None
            if m.from_:
                root, ident = stage_root(b, plan, m.from_)
                source = runreq.BindSource(root, m.source or "/", m.target, False, True)
            pending.caches.append((m, source))
        elif m.type == "ssh":
            ident = m.id or "default"
            sock = b.opts.ssh.get(ident)
            if sock is None:
                if m.required:
                    raise NotFound(f"RUN --mount=type=ssh: no ssh agent {ident!r} forwarded "
                                   f"(pass it with tug build --ssh {ident})")
                continue
            pending.ssh.append((m, sock))
        elif m.type == "tmpfs":
            req.tmpfs.append(m.target + (f":size={m.size}" if m.size else ""))
        elif m.type == "secret":
            ident = m.id or os.path.basename(m.target)
            host = b.opts.secrets.get(ident)
            if host is None:
                if m.required:
                    raise NotFound(f"secret {ident} not found (pass it with --secret id={ident},src=PATH)")
                continue
            req.secrets.append((Path(host), m.target or f"/run/secrets/{ident}"))
        else:
            raise Invalid(f"RUN --mount=type={m.type} is not supported by tug build")
    return req, files, extra, pending


def take_mounts(b: Builder, req: runreq.RunRequest, pending: Pending, stack: ExitStack) -> None:
    """Cache directories (locked as their sharing asks) and ssh relays for a step that runs; released by `stack`."""
    from tug.engine.build import cachemount

    for m, source in pending.caches:
        d = b.cache.mount_dir(m.id or m.target)
        use = cachemount.acquire(d, m.target, m.sharing, b.work, m.mode, m.uid, m.gid, layered=source is not None)
        stack.callback(use.release)
        if source is None:
            req.caches.append((use.dir, m.target))
        else:
            source.layers = use.dir
            req.binds.append(source)
    for n, (m, sock) in enumerate(pending.ssh):
        from tug.engine.build import sshagent

        agent = sshagent.check_agent(sock, m.id or "default")
        target = m.target or sshagent.DEFAULT_TARGET.format(n=n)
        proxy = sshagent.start_proxy(agent, b.work / f"ssh-{os.urandom(4).hex()}.sock", m.uid or 0, m.gid or 0,
                                     m.mode if m.mode is not None else 0o600, close_fds=(b.owner.fd,))
        stack.callback(proxy.stop)
        req.sockets.append((proxy.path, target))
        if n == 0:
            req.env = [e for e in req.env if not e.startswith("SSH_AUTH_SOCK=")] + [f"SSH_AUTH_SOCK={target}"]


def run_step(b: Builder, plan: BuildPlan, ev: StageEvaluator, state: State, x: ins.Run, first: bool) -> State:
    args = ev.run_build_args()
    command = command_with_shell(x.script(), x.shell_form, ev.shell)
    text = created_by(x, shell=ev.shell, build_args=args)
    assert text is not None
    network = network_mode(x.network, b.opts.network)
    req, files, extra, pending = requests(b, plan, x, network, ev.run_env(), command)
    mounts = [{k: v for k, v in asdict(m).items() if v not in (None, "", False, 0)} for m in x.mounts]
    # The build containers' settings (`build -m/--ulimit/--add-host/--security-opt ...`) stay out of the key, as in
    # docker's classic builder: a step cached under other limits is used as it is.
    key = text + " " + json.dumps({"mounts": mounts, "network": network}, sort_keys=True)
    inputs = StepInputs(str(state.id), key, args=args, files=files, extra=extra, shown=text)
    hit = b.cached(inputs, first, state.cmd_set)
    if hit is not None:
        return hit
    from tug.engine.build import runner
    from tug.engine.build.runsettings import run_options
    from tug.engine.commit import placeholder_filter

    req.settings = run_options(b.opts)

    with ExitStack() as stack:
        take_mounts(b, req, pending, stack)
        res = runner.prepare(b.eng, ImageConfig(state.raw), state.chains, req, on_id=b.owner.note_container)
        layer = None
        try:
            b.emit(BuildEvent("running", res.container_id[:12]))
            code = runner.execute(b.eng, res, state.chains, req,
                                  lambda data: b.emit(BuildEvent("output", data=data)))
            b.stats.containers += 1
            if code != 0:
                raise runner.failed(command, code)
            layer = b.write_layer(res.upper, state, exclude=placeholder_filter(b.eng, res.ctr))
        finally:
            runner.cleanup(b.eng, res)
            b.emit(BuildEvent("removing", res.container_id[:12]))
    raw = json.loads(json.dumps(state.raw))
    layers = [*state.layers, layer] if layer is not None else list(state.layers)
    cfgmod.add_history(raw, b.created, text, empty_layer=layer is None)
    return b.remember(inputs, b.save(raw, layers, state.cmd_set))
