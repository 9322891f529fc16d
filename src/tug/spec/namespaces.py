"""linux.namespaces from --network, --pid, --ipc, --uts and --cgroupns, with docker's defaults.

Every container gets a mount namespace. Network, UTS, PID and IPC are private unless "host"; "container:NAME" joins
the namespace whose /proc/N/ns path the engine resolved into HostFacts.namespace_paths. The cgroup namespace is
private by default on cgroup v2 and the host's on v1, as docker does. `--network none` is a private network
namespace that the engine leaves with loopback only.
"""

from __future__ import annotations

from tug.errors import Invalid
from tug.records import record
from tug.spec.host import HostFacts
from tug.spec.options import RunOptions

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


@record(frozen=True)
class Modes:
    network: str  # "private" | "host" | "container" | "none"
    pid: str  # "private" | "host" | "container"
    ipc: str  # "private" | "host" | "container" | "shareable" | "none"
    uts: str  # "private" | "host"
    cgroup: str  # "private" | "host"


def _mode(flag: str, value: str | None, allowed: tuple[str, ...], default: str) -> str:
    v = value or default
    if v.startswith("container:"):
        if not v.partition(":")[2]:
            raise Invalid(f"invalid {flag} mode: {v}")
        return "container"
    if v not in allowed:
        raise Invalid(f"invalid {flag} mode: {v}")
    return v


def modes_of(opts: RunOptions, host: HostFacts) -> Modes:
    net = opts.network or "bridge"
    if net == "host":
        network = "host"
    elif net == "none":
        network = "none"
    elif net.startswith("container:"):
        network = _mode("network", net, (), "")
    else:
        network = "private"
    return Modes(
        network=network,
        pid=_mode("PID", opts.pid, ("private", "host"), "private"),
        ipc=_mode("IPC", opts.ipc, ("private", "host", "shareable", "none"), "private"),
        uts=_mode("UTS", opts.uts, ("private", "host"), "private"),
        cgroup=_mode("cgroup namespace", opts.cgroupns, ("private", "host"),
                     "private" if host.cgroup_version == 2 else "host"),
    )


def _ns(kind: str, mode: str, host: HostFacts, flag: str) -> dict[str, Any] | None:
    if mode == "host":
        return None
    if mode == "container":
        path = host.namespace_paths.get(kind)
        if not path:
            raise Invalid(f"{flag} container:...: the engine did not resolve the {kind} namespace to join")
        return {"type": kind, "path": path}
    return {"type": kind}


def build_namespaces(modes: Modes, host: HostFacts) -> list[dict[str, Any]]:
    entries = [
        {"type": "mount"},
        _ns("network", modes.network, host, "--network"),
        {"type": "time"} if host.time_namespace else None,
        _ns("uts", modes.uts, host, "--uts"),
        _ns("pid", modes.pid, host, "--pid"),
        _ns("ipc", "private" if modes.ipc in ("shareable", "none") else modes.ipc, host, "--ipc"),
        {"type": "cgroup"} if modes.cgroup == "private" else None,
    ]
    return [e for e in entries if e is not None]
