"""linux.devices and the devices cgroup rules: Docker's defaults, --device, and --privileged."""

from __future__ import annotations

from tug.errors import Invalid
from tug.spec.host import HostFacts

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

# (path, type, major, minor): the nodes every container gets (the OCI "default devices")
DEFAULT_DEVICES = (
    ("/dev/null", "c", 1, 3), ("/dev/zero", "c", 1, 5), ("/dev/full", "c", 1, 7), ("/dev/random", "c", 1, 8),
    ("/dev/urandom", "c", 1, 9), ("/dev/tty", "c", 5, 0),
)


def _rule(allow: bool, access: str = "rwm", kind: str | None = None, major: int | None = None,
          minor: int | None = None) -> dict[str, Any]:
    r: dict[str, Any] = {"allow": allow}
    if kind is not None:
        r["type"] = kind
    if major is not None:
        r["major"] = major
    if minor is not None:
        r["minor"] = minor
    r["access"] = access
    return r


def default_rules() -> list[dict[str, Any]]:
    """Deny everything, allow mknod of any node, the default devices, the console, ptmx and the pty slaves; fuse
    stays denied."""
    return [
        _rule(False),
        _rule(True, "m", "c"),  # c *:* m
        _rule(True, "m", "b"),  # b *:* m
        *(_rule(True, "rwm", t, ma, mi) for _, t, ma, mi in DEFAULT_DEVICES),
        _rule(True, "rwm", "c", 5, 1),  # /dev/console
        _rule(True, "rwm", "c", 5, 2),  # /dev/ptmx
        _rule(True, "rwm", "c", 136),  # /dev/pts/*
        # no explicit deny of /dev/fuse (10:229): "deny all" above covers it, and runc's v1 device emulator refuses
        # to punch a hole into the "c *:* m" wildcard
    ]


def default_devices() -> list[dict[str, Any]]:
    return [{"path": p, "type": t, "major": ma, "minor": mi, "fileMode": 0o666, "uid": 0, "gid": 0}
            for p, t, ma, mi in DEFAULT_DEVICES]


def parse_cgroup_rule(text: str) -> dict[str, Any]:
    """`--device-cgroup-rule 'TYPE MAJOR:MINOR ACCESS'` (`c 1:3 mr`, `a *:* rwm`) -> an allow rule."""
    parts = text.split()
    ok = len(parts) == 3 and parts[0] in ("a", "b", "c") and parts[1].count(":") == 1
    if ok:
        major, minor = parts[1].split(":")
        ok = all(n == "*" or n.isdigit() for n in (major, minor)) and bool(parts[2]) \
            and all(c in "rwm" for c in parts[2]) and len(set(parts[2])) == len(parts[2])
    if not ok:
        raise Invalid(f"invalid device cgroup format '{text}'")
    return _rule(True, parts[2], None if parts[0] == "a" else parts[0],
                 None if major == "*" else int(major), None if minor == "*" else int(minor))


def parse_device(spec: str) -> tuple[str, str, str]:
    """`--device HOST[:CONTAINER][:PERMS]` -> (host path, container path, cgroup permissions)."""
    parts = spec.split(":")
    src, dst, perms = parts[0], "", "rwm"
    if len(parts) == 3:
        dst, perms = parts[1], parts[2]
    elif len(parts) == 2:
        if parts[1] and all(c in "rwm" for c in parts[1]):
            perms = parts[1]
        else:
            dst = parts[1]
    elif len(parts) != 1:
        raise Invalid(f"invalid device specification: {spec}")
    if not src:
        raise Invalid(f"invalid device specification: {spec}")
    dst = dst or src
    if not dst.startswith("/") or not src.startswith("/"):
        raise Invalid(f"bad format for path: {spec}")
    if not perms or any(c not in "rwm" for c in perms) or len(set(perms)) != len(perms):
        raise Invalid(f"invalid device mode: {perms}")
    return src, dst, perms


def build_devices(device_flags: list[str], host: HostFacts, privileged: bool,
                  warnings: list[str]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(linux.devices, linux.resources.devices)."""
    devices = [] if privileged else default_devices()
    rules = [_rule(True, "rwm")] if privileged else default_rules()
    if privileged:
        devices = [dict(d) for d in host.host_devices]
    for spec in device_flags:
        src, dst, perms = parse_device(spec)
        info = host.device_info.get(src)
        if info is None:
            raise Invalid(f'error gathering device information while adding custom device "{src}": '
                          "no such file or directory")
        kind, major, minor, mode, uid, gid = info
        if kind not in ("c", "b", "u", "p"):
            raise Invalid(f"{src} is not a device node")
        if privileged:
            if perms != "rwm":
                warnings.append(f"custom {perms} permissions for device {src} are ignored in privileged mode")
            if src == dst:
                continue
        devices = [d for d in devices if d["path"] != dst]
        devices.append({"path": dst, "type": kind, "major": major, "minor": minor, "fileMode": mode & 0o7777,
                        "uid": uid, "gid": gid})
        if not privileged:
            rules.append(_rule(True, perms, kind, major, minor))
    return devices, rules
