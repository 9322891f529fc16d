"""Capabilities, masked and read-only paths, no_new_privs and --security-opt, with Docker's defaults."""

from __future__ import annotations

from tug.errors import Invalid
from tug.records import record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

# Every capability the kernel defines, by number (capability.h).
ALL_CAPS = (
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID",
    "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN",
    "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
)

# Docker's default set, in Docker's order.
DEFAULT_CAPS = (
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID",
    "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL",
    "CAP_AUDIT_WRITE",
)

MASKED_PATHS = (
    "/proc/asound", "/proc/acpi", "/proc/interrupts", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
    "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware",
    "/sys/devices/virtual/powercap",
)
READONLY_PATHS = ("/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger")


def available_caps(last_cap: int) -> list[str]:
    return list(ALL_CAPS[: last_cap + 1])


def normalize_caps(names: list[str], last_cap: int) -> list[str]:
    """Upper-case, add the CAP_ prefix, keep "ALL"; unknown names are an error."""
    out = []
    for raw in names:
        c = raw.strip().upper()
        if c == "ALL":
            out.append(c)
            continue
        if not c.startswith("CAP_"):
            c = "CAP_" + c
        if c not in ALL_CAPS:
            raise Invalid(f"unknown capability: {c!r}")
        if ALL_CAPS.index(c) > last_cap:
            raise Invalid(f"capability not supported by your kernel or not available in the current environment: {c!r}")
        out.append(c)
    return out


def capability_set(cap_add: list[str], cap_drop: list[str], privileged: bool, last_cap: int = 40) -> list[str]:
    """The container's bounding set: Docker's defaults, tweaked by --cap-add/--cap-drop, or all with --privileged."""
    if privileged:
        return available_caps(last_cap)
    if not cap_add and not cap_drop:
        return list(DEFAULT_CAPS)
    drops = normalize_caps(cap_drop, last_cap)
    adds = normalize_caps(cap_add, last_cap)
    if "ALL" in adds:
        caps = [c for c in available_caps(last_cap) if c not in drops]
    elif "ALL" in drops:
        caps = [c for c in adds if c != "ALL"]
    else:
        caps = [c for c in DEFAULT_CAPS if c not in drops] + adds
    out: list[str] = []
    for c in caps:
        if c not in out:
            out.append(c)
    return out


def capabilities_for(caps: list[str], uid: int) -> dict[str, list[str]]:
    """process.capabilities: root gets the set as bounding/effective/permitted; any other user keeps only the
    bounding set (effective and permitted empty, as a non-root exec ends up anyway). Inheritable and ambient stay
    empty."""
    live = list(caps) if uid == 0 else []
    return {"bounding": list(caps), "effective": live, "permitted": list(live), "inheritable": [], "ambient": []}


@record
class SecurityOpts:
    no_new_privileges: bool = False
    seccomp: str = "default"  # "default", "unconfined", or a file name (the profile is in HostFacts)
    apparmor: str | None = None
    labels: list[str] | None = None
    systempaths_unconfined: bool = False
    writable_cgroups: bool | None = None


def _bool(text: str, opt: str) -> bool:
    t = text.lower()
    if t in ("1", "t", "true"):
        return True
    if t in ("0", "f", "false"):
        return False
    raise Invalid(f"invalid --security-opt {opt}: {text!r} is not a boolean")


def parse_security_opts(values: list[str]) -> SecurityOpts:
    out = SecurityOpts()
    for opt in values:
        if opt == "no-new-privileges":
            out.no_new_privileges = True
            continue
        sep = "=" if "=" in opt else ":"
        key, found, val = opt.partition(sep)
        if not found:
            raise Invalid(f"Invalid --security-opt: {opt!r}")
        if key == "no-new-privileges":
            out.no_new_privileges = _bool(val, opt)
        elif key == "seccomp":
            if not val:
                raise Invalid(f"Invalid --security-opt: {opt!r}")
            out.seccomp = val
        elif key == "apparmor":
            out.apparmor = val
        elif key == "label":
            out.labels = [*(out.labels or []), val]
        elif key == "systempaths":
            if val != "unconfined":
                raise Invalid(f"Invalid --security-opt: {opt!r}")
            out.systempaths_unconfined = True
        elif key == "writable-cgroups":
            out.writable_cgroups = _bool(val, opt)
        else:
            raise Invalid(f"Invalid --security-opt: {opt!r}")
    return out


def apply_paths(linux: dict[str, Any], privileged: bool, sec: SecurityOpts, extra_masked: tuple[str, ...] = ()) -> None:
    """Docker's masked and read-only /proc and /sys paths (plus host-specific ones such as the existing
    /sys/devices/system/cpu/cpuN/thermal_throttle), none with --privileged or systempaths=unconfined."""
    if privileged or sec.systempaths_unconfined:
        return
    linux["maskedPaths"] = [*MASKED_PATHS, *(p for p in extra_masked if p not in MASKED_PATHS)]
    linux["readonlyPaths"] = list(READONLY_PATHS)
