"""Address management: choosing subnets that collide with nothing, and a file-locked allocation table per network.

The table is a small JSON file next to a lock file; every change happens under an exclusive `flock`, so concurrent
`tug run`s never hand out the same address. Addresses are given round-robin from the one after the last given, so
an address just freed is not reused at once (stale ARP entries).
"""

from __future__ import annotations

import fcntl
import ipaddress
import json
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tug.errors import Conflict, Corrupt, Invalid, Unavailable

Net = ipaddress.IPv4Network

# 10.88/16 first (as podman), then downwards: enough room for several stores' bridges on one host
DEFAULT_BRIDGE_SUBNETS = tuple(f"10.{n}.0.0/16" for n in range(88, 59, -1))


def user_subnet_candidates() -> Iterator[Net]:
    """Subnets for networks created without --subnet: 10.89.0.0/24, 10.89.1.0/24, ... 10.99.255.0/24."""
    for second in range(89, 100):
        for third in range(256):
            yield ipaddress.IPv4Network(f"10.{second}.{third}.0/24")


def parse_subnet(text: str) -> Net:
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
    return "02:42:" + ":".join(f"{b:02x}" for b in ipaddress.IPv4Address(ip).packed)


class AllocationTable:
    """`<dir>/ipam.json`: {"subnet", "gateway", "last", "allocations": {ip: {"owner": id, ...}}}."""

    def __init__(self, directory: Path, subnet: Net, gateway: str) -> None:
        self.dir = Path(directory)
        self.path = self.dir / "ipam.json"
        self.subnet = subnet
        self.gateway = gateway

    @contextmanager
    def locked(self) -> Iterator[dict[str, Any]]:
        """Exclusive access to the table; changes to the yielded dict are written back atomically."""
        self.dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.dir / "ipam.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            doc = self._read()
            before = json.dumps(doc, sort_keys=True)
            yield doc
            if json.dumps(doc, sort_keys=True) != before:
                self._write(doc)
        finally:
            os.close(fd)

    def _read(self) -> dict[str, Any]:
        try:
            doc = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {"subnet": str(self.subnet), "gateway": self.gateway, "last": None, "allocations": {}}
        except (OSError, ValueError) as e:
            raise Corrupt(f"cannot read the address table: {e}", where=str(self.path)) from None
        doc.setdefault("allocations", {})
        return doc

    def _write(self, doc: dict[str, Any]) -> None:
        tmp = self.path.with_name(f".ipam.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(doc, indent=1, sort_keys=True))
        os.replace(tmp, self.path)

    def allocate(self, owner: str, requested: str | None = None, info: dict[str, Any] | None = None) -> str:
        with self.locked() as doc:
            allocs: dict[str, Any] = doc["allocations"]
            if requested:
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
