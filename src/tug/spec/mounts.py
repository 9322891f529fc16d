"""config.json `mounts`: Docker's default filesystems, the engine's hosts/hostname/resolv.conf, and user mounts."""

from __future__ import annotations

import posixpath

from tug.errors import Invalid
from tug.spec.host import HostFacts
from tug.spec.mount_flags import MountRequest
from tug.spec.process import INIT_PATH

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

DEFAULT_SHM_SIZE = 64 * 1024 * 1024


def default_mounts(shm_size: int, ipc: str) -> list[dict[str, Any]]:
    m: list[dict[str, Any]] = [
        {"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
        {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
         "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
        {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
        {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
         "options": ["ro", "nosuid", "noexec", "nodev"]},
        {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]},
    ]
    if ipc == "private":
        m.append({"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
                  "options": ["nosuid", "noexec", "nodev", "mode=1777", f"size={shm_size}"]})
    return m


def _bind(dest: str, source: str, options: list[str]) -> dict[str, Any]:
    return {"destination": dest, "type": "bind", "source": source, "options": options}


def _bind_options(req: MountRequest, recursive_readonly: bool) -> list[str]:
    opts = ["bind" if req.recursive == "disabled" else "rbind"]
    if req.readonly:
        rro = recursive_readonly and req.recursive not in ("writable", "disabled")
        if req.recursive == "readonly" and not recursive_readonly:
            raise Invalid(f"mount {req.target}: bind-recursive=readonly needs recursive read-only mounts "
                          "(kernel >= 5.12 and runtime support)")
        opts.append("rro" if rro else "ro")
    opts.append(req.propagation or "rprivate")
    return opts


def user_mount(req: MountRequest, host: HostFacts) -> dict[str, Any] | None:
    """One request as a config.json mount; None for an anonymous volume the engine did not provide."""
    if req.kind == "tmpfs":
        return {"destination": req.target, "type": "tmpfs", "source": "tmpfs", "options": list(req.tmpfs_options)}
    if req.kind == "bind":
        return _bind(req.target, req.source, _bind_options(req, host.recursive_readonly))
    if req.source:
        path = host.volume_paths.get(req.source)
        if path is None:
            raise Invalid(f"volume {req.source}: the engine did not resolve it to a directory")
    else:
        path = host.anonymous_volume_paths.get(req.target)
        if path is None:
            return None
    if req.subpath:
        path = posixpath.join(path, req.subpath)
    return _bind(req.target, path, _bind_options(req, host.recursive_readonly))


def _depth(dest: str) -> int:
    return len([p for p in posixpath.normpath(dest).split("/") if p])


def build_mounts(
    reqs: list[MountRequest],
    host: HostFacts,
    *,
    shm_size: int,
    ipc: str,
    readonly_root: bool,
    privileged: bool,
    writable_cgroups: bool,
    init: bool,
    warnings: list[str],
) -> list[dict[str, Any]]:
    user: list[dict[str, Any]] = []
    for r in reqs:
        m = user_mount(r, host)
        if m is None:
            warnings.append(f"anonymous volume {r.target} ({r.origin}) was not provided by the engine; not mounted")
        else:
            user.append(m)
    user_dests = {m["destination"] for m in user}
    for name in ("resolv.conf", "hostname", "hosts"):
        dest = f"/etc/{name}"
        if dest not in user_dests:
            user.append(_bind(dest, posixpath.join(host.container_dir, name), ["rbind", "rprivate"]))
            user_dests.add(dest)
    if ipc in ("host", "shareable", "container") and "/dev/shm" not in user_dests:
        shm = "/dev/shm" if ipc == "host" else host.ipc_shm_path
        if not shm:
            raise Invalid(f"--ipc {ipc}: the engine gave no /dev/shm directory to share")
        user.append(_bind("/dev/shm", shm, ["rbind", "rprivate"]))
        user_dests.add("/dev/shm")
    user.sort(key=lambda m: _depth(m["destination"]))

    defaults = []
    dev_overridden = "/dev" in user_dests
    for m in default_mounts(shm_size, ipc):
        if m["destination"] in user_dests or (dev_overridden and m["destination"].startswith("/dev/")):
            continue
        defaults.append(m)
    mounts = defaults + user

    if readonly_root:
        for m in mounts:
            if m["destination"] in ("/proc", "/dev/pts", "/dev/shm", "/dev/mqueue", "/dev"):
                continue
            if m["destination"] not in user_dests and "ro" not in m["options"]:
                m["options"].append("ro")
    if privileged:
        for m in mounts:
            if m["destination"] == "/sys":
                m["options"] = [o for o in m["options"] if o != "ro"]
    if writable_cgroups:
        for m in mounts:
            if m["type"] == "cgroup":
                m["options"] = [o for o in m["options"] if o != "ro"]
    if init:
        if not host.init_path:
            raise Invalid("--init: the engine found no init binary to use")
        mounts.append(_bind(INIT_PATH, host.init_path, ["bind", "ro"]))
    return mounts


def rootfs_propagation(mounts: list[dict[str, Any]]) -> str | None:
    """A shared bind needs a shared root, a slave bind a slave root (docker's rule); None keeps the runtime's."""
    props = {o for m in mounts if m["type"] == "bind" for o in m["options"]}
    if props & {"shared", "rshared"}:
        return "shared"
    if props & {"slave", "rslave"}:
        return "slave"  # the schema allows only private|shared|slave|unbindable; runtimes apply it recursively
    return None
