"""linux.sysctl: only namespaced keys (IPC and network ones), as docker allows them."""

from __future__ import annotations

from tug.errors import Invalid

IPC_KEYS = ("kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall", "kernel.shmmax",
            "kernel.shmmni", "kernel.shm_rmid_forced")
DEFAULT_NET = {"net.ipv4.ping_group_range": "0 2147483647", "net.ipv4.ip_unprivileged_port_start": "0"}


def parse_sysctls(values: list[str], *, network: str, ipc: str) -> dict[str, str]:
    """`--sysctl KEY=VALUE`: kernel IPC keys and fs.mqueue.* (not with --ipc host), net.* (only in a private
    network namespace); anything else names a host-wide setting and is refused."""
    out: dict[str, str] = {}
    for v in values:
        key, eq, val = v.partition("=")
        key = key.strip()
        if not eq or not key:
            raise Invalid(f"invalid argument {v!r} for \"--sysctl\" flag: sysctl '{v}' is not in KEY=VALUE form")
        if key in IPC_KEYS or key.startswith("fs.mqueue."):
            if ipc == "host":
                raise Invalid(f"sysctl {key!r} is not allowed when sharing the host's IPC namespace")
        elif key.startswith("net."):
            if network == "host":
                raise Invalid(f"sysctl {key!r} is not allowed in the host network namespace")
            if network == "container":
                raise Invalid(f"sysctl {key!r} is not allowed when joining another container's network namespace")
        else:
            raise Invalid(f"invalid argument {v!r} for \"--sysctl\" flag: sysctl '{key}' is not allowed")
        out[key] = val
    return out


def build_sysctls(values: list[str], *, network: str, ipc: str, net_defaults: bool) -> dict[str, str]:
    out: dict[str, str] = {}
    if net_defaults and network in ("private", "none"):
        out.update(DEFAULT_NET)
    out.update(parse_sysctls(values, network=network, ipc=ipc))
    return out
