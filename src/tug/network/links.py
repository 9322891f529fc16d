"""Bridges, veth pairs, addresses and routes: made over rtnetlink (tug.sys.rtnl), read from /sys, /proc or `ip -j`.

Wiring a container starts no process: one RTM_NEWLINK makes the veth pair (host end on the bridge and up, the peer
created inside the container's namespace with its MAC), and a netlink socket opened in that namespace brings the
loopback and the peer up, adds the address and the default route. iproute2's `ip` is left for the JSON reads done
when a network is created (host routes, a bridge's address).
"""

from __future__ import annotations

import os

from tug.errors import SystemFailure, Unavailable
from tug.network import netns

TYPE_CHECKING = False
if TYPE_CHECKING:
    import ipaddress

IFNAME_MAX = 15

# tug.sys.rtnl (with _socket) is imported by the functions that change links: the container monitor imports this
# module to release a container and, most of the time, changes nothing.


def ip(args: list[str], fd: int | None = None, stdin: str | None = None, check: bool = True) -> str:
    try:
        r = netns.run_in(fd, ["ip", *args], stdin)
    except FileNotFoundError:
        raise Unavailable("ip is not installed", hint="install the iproute2 package") from None
    if check and r.returncode != 0:
        raise SystemFailure(f"ip {' '.join(args)}: {r.stderr.strip() or 'failed'}", where="ip")
    return r.stdout


def link_exists(name: str) -> bool:
    return os.path.exists(f"/sys/class/net/{name}")


def ifindex(name: str) -> int | None:
    try:
        with open(f"/sys/class/net/{name}/ifindex") as f:
            return int(f.read())
    except (OSError, ValueError):
        return None


def host_subnets() -> list[ipaddress.IPv4Network]:
    """Every IPv4 destination the host routes somewhere (all tables but `local`), to avoid when picking subnets."""
    import ipaddress
    import json

    out = ip(["-j", "-4", "route", "show", "table", "all"])
    nets = []
    for r in json.loads(out or "[]"):
        if r.get("type") in ("local", "broadcast") or r.get("table") == "local":
            continue
        dst = r.get("dst", "")
        if dst in ("default", "") or ":" in dst:
            continue
        try:
            nets.append(ipaddress.IPv4Network(dst if "/" in dst else dst + "/32", strict=False))
        except ValueError:
            continue
    return nets


def default_route_dev(route_table: str) -> str:
    """The interface of the IPv4 default route (lowest metric, up) in /proc/net/route's text; "" when none."""
    best: tuple[int, str] | None = None
    for line in route_table.splitlines()[1:]:
        f = line.split()
        if len(f) < 8:
            continue
        try:
            dest, flags, metric, mask = int(f[1], 16), int(f[3], 16), int(f[6]), int(f[7], 16)
        except ValueError:
            continue
        if dest == 0 and mask == 0 and flags & 1 and (best is None or metric < best[0]):
            best = (metric, f[0])
    return best[1] if best else ""


def default_route_mtu() -> int:
    """The MTU of the interface holding the host's IPv4 default route (1500 when there is none). Read from
    /proc and /sys: an `ip route` process per container start cost milliseconds."""
    try:
        with open("/proc/net/route") as f:
            dev = default_route_dev(f.read())
        if dev:
            with open(f"/sys/class/net/{dev}/mtu") as f:
                return int(f.read())
    except (OSError, ValueError):
        pass
    return 1500


def set_sysctl(key: str, value: str) -> None:
    path = "/proc/sys/" + key.replace(".", "/")
    try:
        with open(path, "w") as f:
            f.write(value)
    except OSError as e:
        raise SystemFailure(f"sysctl {key}={value}: {e.strerror}", errno=e.errno, where=path) from None


def get_sysctl(key: str) -> str:
    try:
        with open("/proc/sys/" + key.replace(".", "/")) as f:
            return f.read().strip()
    except OSError:
        return ""


def ensure_bridge(name: str, gateway: str, prefixlen: int, mtu: int) -> bool:
    """Create bridge `name` with the gateway address, up, unless it exists. True if it was created.
    `route_localnet` is set on this bridge only (for 127.0.0.1 publishing); the guard chain in nft makes sure
    nothing arriving from the bridge may use it to reach the host's loopback."""
    if link_exists(name):
        return False
    from tug.sys import rtnl

    with rtnl.Rtnl.open() as nl:
        nl.add_bridge(name, mtu)
        index = nl.index(name)
        nl.add_addr4(index, gateway, prefixlen, name)
        nl.link_up(index, name)
    set_sysctl(f"net.ipv4.conf.{name}.route_localnet", "1")
    return True


def delete_link(name: str) -> bool:
    """Delete a link if present; True if it was there (and is gone)."""
    if not link_exists(name):
        return False
    from tug.sys import rtnl

    with rtnl.Rtnl.open() as nl:
        try:
            nl.delete_link(name)
        except SystemFailure:
            return False
    return True


def add_veth(host_if: str, peer: str, ns_fd: int, bridge: str, mac: str, mtu: int) -> None:
    """A veth pair: `host_if` on the bridge in the host, up; `peer` (with `mac`) made in the namespace of ns_fd."""
    master = ifindex(bridge)
    if master is None:
        raise SystemFailure(f"add veth {host_if}: bridge {bridge} does not exist", where=f"/sys/class/net/{bridge}")
    from tug.sys import rtnl

    with rtnl.Rtnl.open() as nl:
        nl.add_veth(host_if, peer, mtu, master, mac, ns_fd)


def configure_inside(ns_fd: int, ifname: str, address: str, prefixlen: int, gateway: str | None,
                     loopback: bool = True) -> None:
    """In the namespace of ns_fd: loopback up, `address/prefixlen` on `ifname`, `ifname` up, the default route."""
    from tug.sys import rtnl

    with rtnl.Rtnl.open(ns_fd, where=f"network namespace of {ifname}") as nl:
        if loopback:
            nl.link_up(nl.index("lo"), "lo")
        index = nl.index(ifname)
        nl.add_addr4(index, address, prefixlen, ifname)
        nl.link_up(index, ifname)
        if gateway:
            nl.add_default_route4(index, gateway, ifname)


def loopback_up(ns_fd: int) -> None:
    from tug.sys import rtnl

    with rtnl.Rtnl.open(ns_fd, where="network namespace") as nl:
        nl.link_up(nl.index("lo"), "lo")
