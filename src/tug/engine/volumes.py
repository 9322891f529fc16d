"""Volumes: named and anonymous directories under the store that outlive containers, and the container's mounts.

```
ROOT/volumes/<name>/_data          what the container sees
ROOT/volumes/<name>/volume.json    {"Name", "CreatedAt", "Labels", "Options", "Anonymous"}
```
At create the engine resolves every mount request (`-v`, `--mount`, the image's VOLUMEs, `--volumes-from`): named
volumes are created when missing, anonymous ones get a random 64-hex name, an empty volume is pre-filled with what
the image has at the mount point (unless `nocopy`), `-v` creates a missing bind source and `--mount` refuses one.
The container remembers which volumes it uses (`extra["volumes"]`, `extra["anonymous_volumes"]`), which is what
"in use" means for `volume rm` and what `rm -v` removes.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from tug.engine.engine import Engine
from tug.errors import Conflict, Invalid, NotFound, SystemFailure
from tug.oci.times import now_rfc3339
from tug.records import replace
from tug.store.locks import lock

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from tug.engine.containers import Container
    from tug.spec.mount_flags import MountRequest
    from tug.spec.options import RunOptions


def _vdir(eng: Engine, name: str) -> Path:
    return eng.layout.volumes / name


def data_dir(eng: Engine, name: str) -> Path:
    return _vdir(eng, name) / "_data"


def _read(eng: Engine, name: str) -> dict[str, Any] | None:
    d = _vdir(eng, name)
    if not (d / "_data").is_dir():
        return None
    try:
        meta = json.loads((d / "volume.json").read_text())
    except (OSError, ValueError):
        meta = {"Name": name, "CreatedAt": "", "Labels": {}, "Options": {}, "Anonymous": False}
    return meta


def document(eng: Engine, meta: dict[str, Any]) -> dict[str, Any]:
    return {"CreatedAt": meta.get("CreatedAt", ""), "Driver": "local", "Labels": meta.get("Labels") or None,
            "Mountpoint": str(data_dir(eng, meta["Name"])), "Name": meta["Name"],
            "Options": meta.get("Options") or None, "Scope": "local"}


def create(eng: Engine, name: str | None = None, labels: dict[str, str] | None = None,
           options: dict[str, str] | None = None, anonymous: bool = False) -> dict[str, Any]:
    """Create a volume (a named one that exists is returned as it is, as docker does)."""
    from tug.spec.mount_flags import _VOLUME_NAME

    name = name or os.urandom(32).hex()
    if not _VOLUME_NAME.match(name):
        raise Invalid(f'"{name}" includes invalid characters for a local volume name, only '
                      '"[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed')
    if options:
        raise Invalid(f"volume options are not supported by tug's local driver: {', '.join(sorted(options))}")
    with lock(eng.layout, "volumes"):
        found = _read(eng, name)
        if found is not None:
            return found
        d = _vdir(eng, name)
        (d / "_data").mkdir(parents=True, exist_ok=True)
        meta = {"Name": name, "CreatedAt": now_rfc3339(), "Labels": dict(labels or {}), "Options": {},
                "Anonymous": anonymous}
        tmp = d / ".volume.json.tmp"
        tmp.write_text(json.dumps(meta))
        tmp.replace(d / "volume.json")
        return meta


def find(eng: Engine, name: str) -> dict[str, Any]:
    meta = _read(eng, name)
    if meta is None:
        raise NotFound(f"get {name}: no such volume")
    return meta


def list_volumes(eng: Engine) -> list[dict[str, Any]]:
    root = eng.layout.volumes
    out = []
    if root.is_dir():
        for d in sorted(root.iterdir()):
            meta = _read(eng, d.name)
            if meta is not None:
                out.append(meta)
    return out


def users(eng: Engine) -> dict[str, list[str]]:
    """Volume name -> the containers (ids) that use it."""
    from tug.engine.containers import list_containers

    out: dict[str, list[str]] = {}
    for c in list_containers(eng):
        for v in c.extra.get("volumes", []):
            out.setdefault(v, []).append(c.id)
    return out


def remove(eng: Engine, name: str, force: bool = False) -> None:
    find(eng, name)
    using = users(eng).get(name, [])
    if using and not force:
        raise Conflict(f"remove {name}: volume is in use - [{', '.join(using)}]")
    import shutil

    shutil.rmtree(_vdir(eng, name))


def prune(eng: Engine, all_: bool = False) -> list[str]:
    """Remove unused volumes: anonymous ones, or every unused one with `all_`."""
    used = users(eng)
    gone = []
    for meta in list_volumes(eng):
        if meta["Name"] in used or not (all_ or meta.get("Anonymous")):
            continue
        import shutil

        shutil.rmtree(_vdir(eng, meta["Name"]), ignore_errors=True)
        gone.append(meta["Name"])
    return gone


def remove_anonymous(eng: Engine, ctr: Container) -> None:
    """`rm -v` / `run --rm`: the container's anonymous volumes go with it when nobody else uses them."""
    used = users(eng)
    for name in ctr.extra.get("anonymous_volumes", []):
        if not [c for c in used.get(name, []) if c != ctr.id] and _vdir(eng, name).is_dir():
            import shutil

            shutil.rmtree(_vdir(eng, name), ignore_errors=True)


def expand_volumes_from(eng: Engine, opts: RunOptions) -> RunOptions:
    """`--volumes-from CTR[:ro|rw]` as the other container's mounts, added to `--mount` for spec generation."""
    if not opts.volumes_from:
        return opts
    from tug.engine import containers

    extra = []
    have = set()
    for spec in opts.volumes_from:
        ref, _, mode = spec.partition(":")
        if mode not in ("", "ro", "rw"):
            raise Invalid(f"invalid mode for volumes-from: {mode}")
        other = containers.find(eng, ref)
        for m in other.extra.get("mounts", []):
            if m["target"] in have:
                continue
            have.add(m["target"])
            ro = m["readonly"] if not mode else mode == "ro"
            kind = "volume" if m["type"] == "volume" else "bind"
            extra.append(f"type={kind},src={m['source']},dst={m['target']}" + (",readonly" if ro else ""))
    return replace(opts, mounts=[*opts.mounts, *extra])


def prepare(eng: Engine, ctr: Container, reqs: list[MountRequest]) -> tuple[dict[str, str], dict[str, str]]:
    """Create what the requests need; returns (named volume -> dir, anonymous target -> dir) for HostFacts, and
    records the container's mounts and volumes in `ctr.extra`."""
    named: dict[str, str] = {}
    anon: dict[str, str] = {}
    mounts, used, anonymous = [], [], []
    for r in reqs:
        if r.kind == "bind":
            if not os.path.lexists(r.source):
                if not r.create_source:
                    raise Invalid(f"invalid mount config for type \"bind\": bind source path does not exist: "
                                  f"{r.source}")
                os.makedirs(r.source, exist_ok=True)
            mounts.append({"type": "bind", "source": r.source, "target": r.target, "readonly": r.readonly})
        elif r.kind == "volume":
            meta = create(eng, r.source or None, anonymous=not r.source)
            path = str(data_dir(eng, meta["Name"]))
            if r.source:
                named[r.source] = path
            else:
                anon[r.target] = path
                anonymous.append(meta["Name"])
            used.append(meta["Name"])
            mounts.append({"type": "volume", "source": meta["Name"], "target": r.target, "readonly": r.readonly,
                           "nocopy": r.nocopy})
    ctr.extra.update({"mounts": mounts, "volumes": used, "anonymous_volumes": anonymous})
    return named, anon


def prefill(eng: Engine, ctr: Container) -> None:
    """Copy what the image has at each volume's mount point into the volume when that volume is empty."""
    from tug.engine.containers import bundle_dir, image_chain

    todo = [m for m in ctr.extra.get("mounts", []) if m["type"] == "volume" and not m.get("nocopy")
            and not any(data_dir(eng, m["source"]).iterdir())]
    chains = image_chain(ctr)
    if not todo or not chains or ctr.options.rootfs:
        return
    d = eng.container_dir(ctr.id)
    spec = eng.snapshots.overlay_mount(chains, d / "upper", d / "work", bundle_dir(eng, ctr.id) / "rootfs")
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child: a private mount namespace that dies with it
        code = 1
        try:
            _copy_child(spec, todo, eng)
            code = 0
        except BaseException as e:  # noqa: BLE001
            os.write(2, f"tug: pre-filling volumes: {e}\n".encode())
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemFailure(f"pre-filling the volumes of container {ctr.short_id} failed")


def _copy_child(spec: Any, todo: list[dict[str, Any]], eng: Engine) -> None:
    from tug.sys.mountns import MS_RDONLY, enter_private_mount_namespace, mount
    from tug.sys.openat2 import RESOLVE_IN_ROOT, openat2

    enter_private_mount_namespace()
    if spec.cwd:
        os.chdir(spec.cwd)
    mount(spec.source, str(spec.target), spec.fstype, MS_RDONLY, spec.data)
    root = os.open(str(spec.target), os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    for m in todo:
        try:
            fd = openat2(root, m["target"].lstrip("/"), os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC, 0, RESOLVE_IN_ROOT)
        except (OSError, SystemFailure):
            continue  # nothing there in the image
        src = f"/proc/self/fd/{fd}/."
        import subprocess  # only to pre-fill a volume from the image

        r = subprocess.run(["cp", "-a", src, str(data_dir(eng, m["source"]))], pass_fds=(fd,), capture_output=True,
                           text=True)
        if r.returncode != 0:
            raise SystemFailure(f"copy {m['target']}: {r.stderr.strip()}")
        os.close(fd)
