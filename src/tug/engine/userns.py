"""`--userns=auto` in the engine (issue 7): which ids the container's user namespace maps, and how its files get
the right owners without copying a layer.

Container root is an unprivileged host uid (START of the range), yet the image's files must look owned by root
inside, and what the container writes must land in its upper dir with the container's ids (so commit, diff and cp
see the same tree as without a user namespace). Both come from idmapped mounts made in the monitor's private mount
namespace just before the overlay is mounted: every lower layer, the container's dir (upper, work, hosts, hostname,
resolv.conf) and the named volumes it uses are bind-mounted onto themselves with the container's mapping, so on-disk
uid 0 is seen as host uid START, and container root writing through them writes on-disk uid 0. The host's mount
table never sees any of it. Where the store's filesystem refuses idmapped mounts, `tug.engine.idcopy` copies the
layers with shifted owners instead (chown-on-copy).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from tug.errors import Invalid, SystemFailure
from tug.spec import userns as pure
from tug.spec.options import RunOptions


def read_or_empty(path: str) -> str:
    """A file's text; "" when it does not exist (/etc/subuid on a host without ranges)."""
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        return ""


def mappings_for(opts: RunOptions) -> pure.Mappings | None:
    """The mappings of a new user namespace for this container, None for the host's (the default)."""
    mode = pure.parse_mode(opts.userns)
    if mode.kind == "host":
        return None
    outer = os.environ.get("TUG_ROOTLESS", "")  # "UID:GID" of the user, in rootless mode (tug.engine.rootless)
    if mode.kind == "keep-id" and outer:
        uid, _, gid = outer.partition(":")
        return pure.keep_id_mappings(int(uid), int(gid), _own_mappings())
    if os.geteuid() != 0 or outer:
        raise Invalid(f"--userns={opts.userns} is not available in rootless mode: the container runs in the user's "
                      "own user namespace already (the default) or with --userns=keep-id")
    if mode.kind == "keep-id":
        raise Invalid("--userns=keep-id is for rootless mode (tug run as a normal user); as root use --userns=auto")
    subuids = pure.parse_subid(read_or_empty("/etc/subuid"), pure.RANGE_OWNER)
    subgids = pure.parse_subid(read_or_empty("/etc/subgid"), pure.RANGE_OWNER)
    return pure.auto_mappings(mode.size, subuids, subgids)


def _own_mappings() -> pure.Mappings:
    """The mappings of the user namespace this process is in (the rootless one)."""
    def read(path: str) -> tuple[pure.IdMap, ...]:
        return tuple(pure.IdMap(*(int(x) for x in line.split()))
                     for line in read_or_empty(path).splitlines() if line.strip())
    return pure.Mappings(read("/proc/self/uid_map"), read("/proc/self/gid_map"))


def idmap_request(spec: dict[str, Any], lowers: list[Path], container_dir: Path,
                  store_root: Path) -> dict[str, Any] | None:
    """What the monitor idmaps before mounting the overlay, for a spec with a new user namespace (else None):
    the lower layers, the container's dir and the store's volume dirs the container binds, and the mount points
    and working dir to create in the rootfs as the container's root (host root could not create them through the
    idmapped upper)."""
    linux = spec.get("linux") or {}
    if not linux.get("uidMappings") or not any(n.get("type") == "user" and not n.get("path")
                                               for n in linux.get("namespaces") or ()):
        return None
    paths = [str(p) for p in lowers] + [str(container_dir)]
    volumes = str(store_root / "volumes") + "/"
    points: list[list[str]] = []
    for m in spec.get("mounts") or ():
        src, dest = m.get("source") or "", os.path.normpath(m.get("destination") or "/")
        if m.get("type") == "bind" and src.startswith(volumes) and os.path.isdir(src) and src not in paths:
            paths.append(src)
        if dest == "/" or any(dest.startswith(p.rstrip("/") + "/") for p, _ in points):
            continue  # on a filesystem mounted at an earlier destination (/dev/pts on /dev's tmpfs)
        bind = m.get("type") == "bind" or "bind" in (m.get("options") or ()) or "rbind" in (m.get("options") or ())
        is_file = bind and os.path.exists(src) and not os.path.isdir(src)
        points.append([dest, "file" if is_file else "dir"])
    cwd = ((spec.get("process") or {}).get("cwd") or "/").rstrip("/")
    if cwd:
        points.append([cwd, "dir"])  # the runtime creates a missing working dir too
    maps = pure.Mappings.from_document(linux)
    return {"uidMappings": linux["uidMappings"], "gidMappings": linux["gidMappings"], "paths": paths,
            "lowers": len(lowers), "store": str(store_root), "root": [maps.host_uid(0), maps.host_gid(0)],
            "mountpoints": points}


def mount_overlay(m: dict[str, Any]) -> None:
    """In a private mount namespace (the monitor's): idmap the request's paths onto themselves, mount the overlay
    described by `m` as the container's root (overlayfs works in its upper dir with its mounter's ids), and create
    the missing mount points the same way."""
    from tug.sys import inroot
    from tug.sys import userns as kernel
    from tug.sys.fsids import acting_as
    from tug.sys.mountns import mount

    req = m["idmap"]
    data = m["data"]
    maps = pure.Mappings.from_document(req)
    fd = kernel.make("".join(x.text() + "\n" for x in maps.uids), "".join(x.text() + "\n" for x in maps.gids))
    try:
        for i, path in enumerate(req["paths"]):
            if kernel.idmapped_bind(path, path, fd):
                continue
            if i > 0:
                raise SystemFailure("--userns: this directory's filesystem cannot be idmapped (mount_setattr "
                                    "MOUNT_ATTR_IDMAP refused) while the store's can", where=path)
            from tug.engine import idcopy  # the store's filesystem cannot be idmapped: chown-on-copy

            data = idcopy.prepare(m, Path(req["store"]))
            break
    finally:
        os.close(fd)
    uid, gid = req["root"]
    with acting_as(uid, gid):
        if m.get("cwd"):
            os.chdir(m["cwd"])
        try:
            mount(m["source"], m["target"], m["fstype"], 0, data)
        finally:
            os.chdir("/")
        root_fd = os.open(m["target"], os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            for dest, kind in req["mountpoints"]:
                try:
                    os.close(inroot.ensure(root_fd, dest, kind))
                except OSError:
                    pass  # the runtime meets the same problem and names it
        finally:
            os.close(root_fd)


def act_as_container_root(spec_path: Path) -> tuple[int, int] | None:
    """For a process that writes into a running container with a new user namespace (tug cp): act on files as the
    container's root from now on (the host ids its root is); those ids, or None for a container without one."""
    import json

    from tug.sys.fsids import become

    try:
        linux = json.loads(spec_path.read_text()).get("linux") or {}
    except (OSError, ValueError):
        return None
    if not linux.get("uidMappings") or not any(n.get("type") == "user" and not n.get("path")
                                               for n in linux.get("namespaces") or ()):
        return None
    maps = pure.Mappings.from_document(linux)
    uid, gid = maps.host_uid(0), maps.host_gid(0)
    if uid is None or gid is None:
        return None
    become(uid, gid)
    return uid, gid
