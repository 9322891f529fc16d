"""Links and routes through iproute2's `ip` (JSON output, batch input): bridges, veth pairs, addresses, routes.

`ip -b -` applies a whole list of changes in one process, so wiring a container costs two short commands (one in
the host's namespace, one in the container's) and no netlink library import on every start.
"""

from __future__ import annotations

import os

from tug.errors import SystemFailure, Unavailable
from tug.network import netns

TYPE_CHECKING = False
if TYPE_CHECKING:
    import ipaddress
    from collections.abc import Iterable

IFNAME_MAX = 15


def ip(args: list[str], fd: int | None = None, stdin: str | None = None, check: bool = True) -> str:
    try:
        r = netns.run_in(fd, ["ip", *args], stdin)
    except FileNotFoundError:
        raise Unavailable("ip is not installed", hint="install the iproute2 package") from None
    if check and r.returncode != 0:
        raise SystemFailure(f"ip {' '.join(args)}: {r.stderr.strip() or 'failed'}", where="ip")
    return r.stdout


def batch(lines: Iterable[str], fd: int | None = None) -> None:
    text = "".join(line + "\n" for line in lines)
    if text:
        ip(["-b", "-"], fd, text)


def link_exists(name: str) -> bool:
    return os.path.exists(f"/sys/class/net/{name}")


def ifindex(name: str) -> int | None:
    try:
        with open(f"/sys/class/net/{name}/ifindex") as f:
            return int(f.read())
    except (OSError, ValueError):
        return None


def link_info(name: str) -> dict | None:
    import json

    out = ip(["-j", "-d", "link", "show", "dev", name], check=False)
    try:
        items = json.loads(out) if out.strip() else []
    except ValueError:
        return None
    return items[0] if items else None


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
    batch([f"link add name {name} mtu {mtu} type bridge", f"addr add {gateway}/{prefixlen} dev {name}",
           f"link set dev {name} up"])
    set_sysctl(f"net.ipv4.conf.{name}.route_localnet", "1")
    return True


def delete_link(name: str) -> bool:
    """Delete a link if present; True if it was there."""
    if not link_exists(name):
        return False
    r = netns.run_in(None, ["ip", "link", "del", "dev", name])
    return r.returncode == 0


def add_veth(host_if: str, peer: str, ns_fd: int, bridge: str, mac: str, mtu: int) -> None:
    """A veth pair: `host_if` on the bridge in the host, `peer` (with `mac`) moved into the namespace of ns_fd."""
    ns_path = netns.path_of(ns_fd)
    batch([f"link add name {host_if} mtu {mtu} type veth peer name {peer} address {mac} mtu {mtu} netns {ns_path}",
           f"link set dev {host_if} master {bridge}", f"link set dev {host_if} up"])


def configure_inside(ns_fd: int, ifname: str, address: str, prefixlen: int, gateway: str | None,
                     loopback: bool = True) -> None:
    lines = ["link set dev lo up"] if loopback else []
    lines += [f"addr add {address}/{prefixlen} dev {ifname}", f"link set dev {ifname} up"]
    if gateway:
        lines.append(f"route add default via {gateway} dev {ifname}")
    batch(lines, ns_fd)


def loopback_up(ns_fd: int) -> None:
    batch(["link set dev lo up"], ns_fd)
