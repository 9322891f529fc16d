"""Containers in the store: create (record, directories, bundle), find, list, update state, remove."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tug import records
from tug.engine.engine import Engine
from tug.errors import Conflict, Invalid, NotFound
from tug.records import field, record
from tug.spec.options import RunOptions

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

if TYPE_CHECKING:  # images, registry and digests are imported by create only: `ps` and `exec` stay quick to start
    from tug.engine import images
    from tug.oci.digest import Digest
    from tug.oci.image_config import ImageConfig


@record
class Container:
    id: str
    name: str
    image_id: str | None
    image_name: str
    created: str
    options: RunOptions
    state: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)  # resolved facts: args, hostname, chain ids...

    @property
    def status(self) -> str:
        return self.state.get("Status", "created")

    @property
    def short_id(self) -> str:
        return self.id[:12]


_OPTION_NAMES: frozenset[str] = frozenset()


def _option_names() -> frozenset[str]:
    global _OPTION_NAMES
    if not _OPTION_NAMES:  # once per process: `ps -a` reads a thousand rows
        _OPTION_NAMES = frozenset(f.name for f in records.fields(RunOptions))
    return _OPTION_NAMES


def _from_row(row: dict[str, Any]) -> Container:
    cfg = json.loads(row.get("config") or "{}")
    opts_dict = cfg.get("options") or {}
    known = _option_names()
    opts = RunOptions(**{k: v for k, v in opts_dict.items() if k in known})
    return Container(row["id"], row["name"], row.get("image_id"), row.get("image_name") or "", row.get("created") or "",
                     opts, json.loads(row.get("state") or "{}"), cfg.get("extra") or {})


def find(eng: Engine, ref: str) -> Container:
    row = eng.metadata.find_container(ref)
    if row is None:
        raise NotFound(f"No such container: {ref}")
    return _from_row(row)


def list_containers(eng: Engine) -> list[Container]:
    return [_from_row(r) for r in eng.metadata.list_containers()]


def save_state(eng: Engine, ctr: Container, **changes: Any) -> None:
    ctr.state.update(changes)
    eng.metadata.update_container(ctr.id, state=json.dumps(ctr.state))


def save_extra(eng: Engine, ctr: Container) -> None:
    eng.metadata.update_container(ctr.id, config=json.dumps({"options": records.asdict(ctr.options),
                                                             "extra": ctr.extra}))


def bundle_dir(eng: Engine, ctr_id: str) -> Path:
    return eng.container_dir(ctr_id) / "bundle"


def cgroup_of(eng: Engine, ctr: Container) -> Any:
    """The container's cgroup (a `tug.cgroups` Cgroup), from the cgroupsPath its bundle names. NotFound when the
    bundle names none (a rootless container) or the cgroup is gone."""
    from tug.cgroups.manager import for_host

    try:
        spec = json.loads((bundle_dir(eng, ctr.id) / "config.json").read_bytes())
    except (OSError, ValueError):
        spec = {}
    path = (spec.get("linux") or {}).get("cgroupsPath")
    if not path:
        raise NotFound(f"container {ctr.short_id}'s bundle names no cgroup")
    return for_host().load(path)


def _have_image(eng: Engine, opts: RunOptions) -> bool:
    from tug.engine import images

    if opts.pull == "always":
        return False
    try:
        images.find(eng, opts.image)
    except NotFound:
        return False
    return True


def create(eng: Engine, opts: RunOptions, on_event: Any = None) -> Container:
    """Record a container (the name is claimed by the database), lay out its directories and write its bundle.

    The image is pulled first when `opts.pull` says so (`missing`, `always`, `never`); `on_event` gets the pull's
    progress."""

    from tug.engine import bundle, images, names
    from tug.oci.digest import chain_ids
    from tug.oci.image_config import ImageConfig
    from tug.oci.times import now_rfc3339

    if os.geteuid() != 0 or eng.env.get("TUG_ROOTLESS"):  # issue 7: what a rootless container can have
        from tug.engine import rootless

        rootless.adjust_options(opts)
    if not opts.rootfs and not _have_image(eng, opts):
        from tug.engine.pull import ensure_image  # the registry client is imported only when a pull may happen

        ensure_image(eng, opts.image, opts.pull or "missing", opts.platform, on_event or (lambda _e: None))

    image: images.Image | None = None
    if opts.rootfs:
        if not Path(opts.rootfs).is_dir():
            raise NotFound(f"rootfs {opts.rootfs} is not a directory")
        cfg = ImageConfig({"config": {}})
        image_name = opts.rootfs
    else:
        image = images.find(eng, opts.image)
        cfg = images.config(eng, image)
        image_name = opts.image
    ctr_id = os.urandom(32).hex()
    md = eng.metadata
    if opts.name:
        name = names.validate(opts.name)
    else:
        name = names.generate({c["name"] for c in md.list_containers()})
    created = now_rfc3339()
    chains = [str(c) for c in chain_ids(cfg.diff_ids)] if image else []
    ctr = Container(ctr_id, name, image.id if image else None, image_name, created, opts,
                    {"Status": "created", "ExitCode": 0, "Pid": 0}, {"chain_ids": chains, **lifecycle_facts(cfg, opts)})
    try:
        md.insert_container(id=ctr_id, name=name, image_id=ctr.image_id, image_name=image_name, created=created,
                            config=json.dumps({"options": records.asdict(opts), "extra": ctr.extra}),
                            state=json.dumps(ctr.state))
    except Conflict:
        other = md.find_container(name)
        raise Conflict(f'Conflict. The container name "/{name}" is already in use by container '
                       f'"{other["id"] if other else "?"}". You have to remove (or rename) that container to be able '
                       "to reuse that name.") from None
    try:
        bundle.write(eng, ctr, cfg)
        save_extra(eng, ctr)
    except BaseException as err:
        try:
            _remove_files(eng, ctr_id)
            md.delete_container(ctr_id)
        except Exception as cleanup:  # pragma: no cover - reported with the original
            if hasattr(err, "add_cleanup_error"):
                err.add_cleanup_error(cleanup)
        raise
    return ctr


def lifecycle_facts(cfg: ImageConfig, opts: RunOptions) -> dict[str, Any]:
    """What the monitor and `ps` need later, decided (and validated) once at create: restart policy, healthcheck,
    stop signal, exposed ports. Bad values fail the create before anything is stored."""
    from tug.engine import health, restart
    from tug.engine.logs import log_options

    policy = restart.parse(opts.restart)
    if opts.rm and policy.name != "no":
        raise Invalid("conflicting options: cannot specify both --restart and --rm")
    log_options(opts.log_opts)
    _refuse_v1_only(opts)
    for flag, mode in (("--pid", opts.pid), ("--ipc", opts.ipc), ("--uts", opts.uts)):
        if (mode or "").startswith("container:"):
            raise Invalid(f"{flag} {mode}: joining another container's namespace is not supported by tug "
                          f"(only --network container:NAME is)")
    ports = list(cfg.exposed_ports)
    for p in opts.expose:
        p = p if "/" in p else p + "/tcp"
        if p not in ports:
            ports.append(p)
    return {
        "restart_policy": policy.to_dict(),
        "health": health.resolve(cfg.config.get("Healthcheck"), opts),
        "stop_signal": opts.stop_signal or cfg.stop_signal or "SIGTERM",
        "exposed_ports": sorted(ports, key=_port_key),
    }


def _refuse_v1_only(opts: RunOptions, cgroup_root: str = "/sys/fs/cgroup") -> None:
    """Settings only cgroup v1 has are refused where they cannot be applied, rather than skipped."""
    from tug.spec.resources import v1_only

    given = v1_only(opts)
    if not given:
        return
    if os.path.exists(os.path.join(cgroup_root, "cgroup.controllers")):
        raise Invalid(f"{', '.join(g[0] for g in given)}: not supported on cgroup v2 (this host's cgroup version)")
    try:
        mounts = [d for d in os.listdir(cgroup_root) if not os.path.islink(os.path.join(cgroup_root, d))]
    except OSError:
        mounts = []
    for flag, controller, name in given:
        if not any(controller in d.split(",") and os.path.exists(os.path.join(cgroup_root, d, name)) for d in mounts):
            raise Invalid(f"{flag}: this host's kernel does not support it (no {controller} cgroup file {name})")


def _port_key(port: str) -> tuple[int, str]:
    num, _, proto = port.partition("/")
    return (int(num) if num.isdigit() else 0, proto)


def _remove_files(eng: Engine, ctr_id: str) -> None:
    d = eng.container_dir(ctr_id)
    if d.exists():
        import shutil

        shutil.rmtree(d)


def remove(eng: Engine, ref: str, force: bool = False, volumes: bool = False) -> Container:
    from tug.engine import lifecycle

    ctr = find(eng, ref)
    lifecycle.refresh(eng, ctr)
    if ctr.status in ("running", "paused", "restarting"):
        if not force:
            raise Conflict(f"cannot remove container {ref}: container is {ctr.status}: stop the container before "
                           "removing or force remove")
        lifecycle.kill(eng, ctr, "SIGKILL", wait=True)
        lifecycle.refresh(eng, ctr)
    lifecycle.release(eng, ctr)
    _remove_files(eng, ctr.id)
    eng.metadata.delete_container(ctr.id)
    if volumes:
        _remove_anonymous_volumes(eng, ctr)
    return ctr


def _remove_anonymous_volumes(eng: Engine, ctr: Container) -> None:
    """`rm -v`: the container's anonymous volumes (a bare `-v /path`) go with it; named volumes stay."""
    for v in ctr.extra.get("anonymous_volumes", []):
        d = eng.layout.volumes / v
        if d.is_dir():
            import shutil

            shutil.rmtree(d, ignore_errors=True)


def rename(eng: Engine, ref: str, new: str) -> Container:
    from tug.engine import names

    ctr = find(eng, ref)
    name = names.validate(new)
    if name == ctr.name:
        raise Invalid(f"Renaming a container with the same name as its current name: {name}")
    try:
        eng.metadata.update_container(ctr.id, name=name)
    except Conflict:
        other = eng.metadata.find_container(name)
        raise Conflict(f'Conflict. The container name "/{name}" is already in use by container '
                       f'"{other["id"] if other else "?"}". You have to remove (or rename) that container to be able '
                       "to reuse that name.") from None
    ctr.name = name
    return ctr


def image_chain(ctr: Container) -> list[Digest]:
    from tug.oci.digest import Digest

    return [Digest.parse(c) for c in ctr.extra.get("chain_ids", [])]


def validate_workdir(path: str) -> str:
    if path and not os.path.isabs(path):
        raise Invalid(f"the working directory '{path}' is invalid, it needs to be an absolute path")
    return path


def _tree_size(path: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for f in files:
            try:
                total += os.lstat(os.path.join(root, f)).st_size
            except OSError:
                pass
    return total


def prune(eng: Engine, filters: list[str]) -> tuple[list[str], int]:
    """`container prune`: remove every stopped container (created, exited, dead) that the filters keep; returns the
    ids removed and the bytes their writable layers held. Filters: `until=`, `label=`, `label!=`."""
    from tug.engine import lifecycle
    from tug.engine.humanize import parse_time
    from tug.engine.logs import parse_since

    until = None
    labels: list[tuple[str, bool]] = []
    for f in filters:
        key, sep, val = f.partition("=")
        if key == "until" and sep:
            until = parse_since(val)
        elif key in ("label", "label!") and sep:
            labels.append((val, key == "label"))
        else:
            raise Invalid(f"invalid filter '{f}'")
    removed, reclaimed = [], 0
    for ctr in list_containers(eng):
        lifecycle.refresh(eng, ctr)
        if ctr.status in ("running", "paused", "restarting", "removing"):
            continue
        created = parse_time(ctr.created)
        if until is not None and created is not None and created.timestamp() >= until:
            continue
        lbls = dict(lbl.split("=", 1) if "=" in lbl else (lbl, "") for lbl in ctr.options.labels)
        keep = False
        for spec, want in labels:
            k, sep, v = spec.partition("=")
            has = k in lbls and (not sep or lbls[k] == v)
            keep = keep or has != want
        if keep:
            continue
        size = _tree_size(eng.container_dir(ctr.id) / "upper")
        try:
            remove(eng, ctr.id)
        except (Conflict, NotFound):
            continue
        removed.append(ctr.id)
        reclaimed += size
    return removed, reclaimed
