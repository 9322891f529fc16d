"""Address management: choosing subnets that collide with nothing, and a file-locked allocation table per network.

The table is a small JSON file next to a lock file; every change happens under an exclusive `flock`, so concurrent
`tug run`s never hand out the same address. Addresses are given round-robin from the one after the last given, so
an address just freed is not reused at once (stale ARP entries).
"""

from __future__ import annotations

import fcntl
import os

from tug import jsontext
from tug.errors import Conflict, Corrupt, Invalid, Unavailable

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
    from ipaddress import IPv4Network as Net
    from pathlib import Path
    from typing import Any

# ipaddress (~1 ms) is imported by the functions that parse addresses: freeing them needs none of it.

# 10.88/16 first (as podman), then downwards: enough room for several stores' bridges on one host
DEFAULT_BRIDGE_SUBNETS = tuple(f"10.{n}.0.0/16" for n in range(88, 59, -1))


def user_subnet_candidates() -> Iterator[Net]:
    """Subnets for networks created without --subnet: 10.89.0.0/24, 10.89.1.0/24, ... 10.99.255.0/24."""
    import ipaddress

    for second in range(89, 100):
        for third in range(256):
            yield ipaddress.IPv4Network(f"10.{second}.{third}.0/24")


def parse_subnet(text: str) -> Net:
    import ipaddress

    try:
        net = ipaddress.IPv4Network(text, strict=False)
    except ValueError:
        raise Invalid(f"invalid subnet {text!r}", hint="IPv4 CIDR such as 10.90.0.0/24") from None
    if net.prefixlen > 30:
        raise Invalid(f"subnet {net} is too small: at least a /30 is needed")
    return net


def default_gateway(net: Net) -> str:
    return str(net.network_address + 1)


def check_gateway(net: Net, gateway: str) -> str:
    import ipaddress

    try:
        gw = ipaddress.IPv4Address(gateway)
    except ValueError:
        raise Invalid(f"invalid gateway address {gateway!r}") from None
    if gw not in net or gw in (net.network_address, net.broadcast_address):
        raise Invalid(f"gateway {gw} is not a host address of subnet {net}")
    return str(gw)


def pick_subnet(candidates: Iterable[Net], in_use: Iterable[Net]) -> Net:
    """The first candidate that overlaps no subnet in use (host routes, other networks)."""
    used = list(in_use)
    for c in candidates:
        if not any(c.overlaps(u) for u in used):
            return c
    raise Unavailable("no free subnet left for a new network", hint="give one with --subnet")


def overlapping(net: Net, in_use: Iterable[Net]) -> Net | None:
    return next((u for u in in_use if net.overlaps(u)), None)


def next_free(net: Net, reserved: set[str], last: str | None) -> str:
    """The first host address after `last` (wrapping) that is not reserved."""
    import ipaddress

    first = int(net.network_address) + 1
    end = int(net.broadcast_address) - 1
    size = end - first + 1
    start = first
    if last:
        try:
            start = int(ipaddress.IPv4Address(last)) + 1
        except ValueError:
            start = first
        if not first <= start <= end:
            start = first
    for i in range(size):
        addr = str(ipaddress.IPv4Address(first + (start - first + i) % size))
        if addr not in reserved:
            return addr
    raise Unavailable(f"no free address left in {net}")


def mac_for(ip: str) -> str:
    """A locally administered MAC derived from the IPv4 address, as docker does (02:42:a:b:c:d)."""
    import ipaddress

    return "02:42:" + ":".join(f"{b:02x}" for b in ipaddress.IPv4Address(ip).packed)


class AllocationTable:
    """`<dir>/ipam.json`: {"subnet", "gateway", "last", "allocations": {ip: {"owner": id, ...}}}.

    `subnet` may be given as text: freeing addresses (the monitor, as a container ends) never parses it."""

    def __init__(self, directory: str | Path, subnet: Net | str, gateway: str) -> None:
        self.dir = os.fspath(directory)
        self.path = os.path.join(self.dir, "ipam.json")
        self._subnet = subnet
        self.gateway = gateway

    @property
    def subnet(self) -> Net:
        if isinstance(self._subnet, str):
            self._subnet = parse_subnet(self._subnet)
        return self._subnet

    def locked(self) -> _Locked:
        """Exclusive access to the table (`with table.locked() as doc`); changes to the dict are written back
        atomically."""
        return _Locked(self)

    def _read(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """The table twice (one copy to change, one to compare with)."""
        try:
            with open(self.path, encoding="utf-8") as f:
                text = f.read()
            doc, before = jsontext.loads(text), jsontext.loads(text)
        except FileNotFoundError:
            doc = {"subnet": str(self._subnet), "gateway": self.gateway, "last": None, "allocations": {}}
            before = {}
        except (OSError, ValueError) as e:
            raise Corrupt(f"cannot read the address table: {e}", where=self.path) from None
        if not isinstance(doc, dict):
            raise Corrupt("cannot read the address table: not a JSON object", where=self.path)
        doc.setdefault("allocations", {})
        return doc, before

    def _write(self, doc: dict[str, Any]) -> None:
        jsontext.write_file(self.path, doc)

    def allocate(self, owner: str, requested: str | None = None, info: dict[str, Any] | None = None) -> str:
        with self.locked() as doc:
            allocs: dict[str, Any] = doc["allocations"]
            if requested:
                import ipaddress

                try:
                    addr = ipaddress.IPv4Address(requested)
                except ValueError:
                    raise Invalid(f"invalid IPv4 address {requested!r} for --ip") from None
                ip = str(addr)
                if addr not in self.subnet or addr in (self.subnet.network_address, self.subnet.broadcast_address):
                    raise Invalid(f"address {ip} is not in the network's subnet {self.subnet}")
                if ip == self.gateway:
                    raise Conflict(f"address {ip} is the network's gateway")
                holder = allocs.get(ip)
                if holder and holder.get("owner") != owner:
                    raise Conflict(f"Address already in use: {ip}")
            else:
                ip = next_free(self.subnet, {self.gateway, *allocs}, doc.get("last"))
                doc["last"] = ip
            allocs[ip] = {"owner": owner, **(info or {})}
            return ip

    def release(self, owner: str) -> list[str]:
        """Free every address `owner` holds; returns them."""
        with self.locked() as doc:
            allocs = doc["allocations"]
            gone = [ip for ip, a in allocs.items() if a.get("owner") == owner]
            for ip in gone:
                del allocs[ip]
            return gone

    def entries(self) -> dict[str, dict[str, Any]]:
        with self.locked() as doc:
            return dict(doc["allocations"])


class _Locked:
    """The context manager of `AllocationTable.locked` (a class: contextlib costs the monitor an import)."""

    def __init__(self, table: AllocationTable) -> None:
        self.table = table
        self.fd = -1
        self.doc: dict[str, Any] = {}
        self.before: dict[str, Any] = {}

    def __enter__(self) -> dict[str, Any]:
        os.makedirs(self.table.dir, exist_ok=True)
        self.fd = os.open(os.path.join(self.table.dir, "ipam.lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX)
            self.doc, self.before = self.table._read()
        except BaseException:
            os.close(self.fd)
            raise
        return self.doc

    def __exit__(self, kind: object, err: object, tb: object) -> None:
        try:
            if kind is None and self.doc != self.before:
                self.table._write(self.doc)
        finally:
            os.close(self.fd)
