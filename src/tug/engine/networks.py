"""Networks: the default bridge (created on first use) and user bridge networks, as records under the store.

```
ROOT/networks/<id>/network.json   the definition (name, subnet, gateway, bridge device, internal, labels)
ROOT/networks/<id>/ipam.json      the address table (tug.network.ipam, flock'ed)
```
Host-wide settings come from the engine's environment so tests never touch a real `tug0`:
`TUG_BRIDGE` (default bridge device, `tug0`), `TUG_BRIDGE_SUBNET` (default: the first of 10.88/16, 10.87/16, ...
that no host route or other network overlaps), `TUG_NFT_TABLE` (tug's nftables table, `tug`).
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
from pathlib import Path

from tug.engine.engine import Engine
from tug.errors import Conflict, Invalid, NotFound
from tug.network import ipam, links, nft
from tug.oci.times import now_rfc3339
from tug.records import asdict, field, record
from tug.store.locks import lock

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

DEFAULT = "bridge"
BUILTIN = ("bridge", "host", "none")
_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")


@record
class Network:
    name: str
    id: str
    subnet: str
    gateway: str
    bridge: str
    internal: bool = False
    created: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    options: dict[str, str] = field(default_factory=dict)

    @property
    def net(self) -> ipaddress.IPv4Network:
        return ipaddress.IPv4Network(self.subnet)

    @property
    def user_defined(self) -> bool:
        return self.name != DEFAULT


def table(eng: Engine) -> str:
    return eng.env.get("TUG_NFT_TABLE") or "tug"


def _dir(eng: Engine) -> Path:
    return eng.root / "networks"


# The default bridge is a host object that every store on the host may share (tests run many stores), so its
# address table lives with the host's runtime state, keyed by the device; user networks own their bridge.
SHARED_IPAM = Path("/run/tug-net")


def net_dir(eng: Engine, net: Network) -> Path:
    return _dir(eng) / net.id


def ipam_dir(eng: Engine, net: Network) -> Path:
    return SHARED_IPAM / net.bridge if net.name == DEFAULT else net_dir(eng, net)


def ipam_table(eng: Engine, net: Network) -> ipam.AllocationTable:
    return ipam.AllocationTable(ipam_dir(eng, net), net.net, net.gateway)


def list_networks(eng: Engine) -> list[Network]:
    out = []
    d = _dir(eng)
    if d.is_dir():
        for sub in sorted(d.iterdir()):
            try:
                out.append(Network(**json.loads((sub / "network.json").read_text())))
            except (OSError, ValueError, TypeError):
                continue
    return out


def find(eng: Engine, ref: str) -> Network:
    nets = list_networks(eng)
    for n in nets:
        if n.name == ref or n.id == ref:
            return n
    matches = [n for n in nets if len(ref) >= 3 and n.id.startswith(ref)]
    if len(matches) == 1:
        return matches[0]
    if ref == DEFAULT:
        return ensure_default(eng)
    raise NotFound(f"network {ref} not found")


def _save(eng: Engine, net: Network) -> None:
    d = net_dir(eng, net)
    d.mkdir(parents=True, exist_ok=True)
    tmp = d / ".network.json.tmp"
    tmp.write_text(json.dumps(asdict(net), indent=1))
    tmp.replace(d / "network.json")


def _subnets_in_use(eng: Engine) -> list[ipaddress.IPv4Network]:
    return [n.net for n in list_networks(eng)] + links.host_subnets()


def _bridge_address(dev: str) -> tuple[str, int] | None:
    out = links.ip(["-j", "-4", "addr", "show", "dev", dev], check=False)
    for item in json.loads(out or "[]"):
        for a in item.get("addr_info", []):
            return a["local"], int(a["prefixlen"])
    return None


def ensure_default(eng: Engine) -> Network:
    """The default `bridge` network, recorded (and its device created) on first use."""
    with lock(eng.layout, "networks"):
        for n in list_networks(eng):
            if n.name == DEFAULT:
                bring_up(eng, n)
                return n
        dev = eng.env.get("TUG_BRIDGE") or "tug0"
        existing = _bridge_address(dev) if links.link_exists(dev) else None
        if existing:  # adopt the device's address (another store on this host made it)
            subnet = ipaddress.IPv4Network(f"{existing[0]}/{existing[1]}", strict=False)
            gateway = existing[0]
        else:
            wanted = eng.env.get("TUG_BRIDGE_SUBNET")
            cands = [ipam.parse_subnet(wanted)] if wanted else [ipaddress.IPv4Network(s)
                                                                 for s in ipam.DEFAULT_BRIDGE_SUBNETS]
            subnet = ipam.pick_subnet(cands, _subnets_in_use(eng))
            gateway = ipam.default_gateway(subnet)
        net = Network(DEFAULT, os.urandom(32).hex(), str(subnet), gateway, dev, False, now_rfc3339())
        _save(eng, net)
        bring_up(eng, net)
        return net


def _nft_mark(eng: Engine, net: Network) -> str:
    """`<runroot>/networks/nft.<table>.<bridge>`: when this network's rules were last seen in place."""
    return os.path.join(eng.runroot, "networks", f"nft.{table(eng)}.{net.bridge}")


def bring_up(eng: Engine, net: Network) -> None:
    """Create the bridge device and its nft rules if they are missing (after a reboot, or on first use)."""
    created = links.ensure_bridge(net.bridge, net.gateway, net.net.prefixlen, links.default_route_mtu())
    tbl = table(eng)
    # The rules are listed (an nft process) only when the host's ruleset changed since they were last seen in place
    # for this very bridge (same network, same device index, same boot): a flushed or deleted table, a removed
    # rule or a recreated bridge all show as a change. New rules are seen (and marked) at the next start.
    mark = _nft_mark(eng, net)
    seen = None if created else nft.stamp(f"{net.id} {links.ifindex(net.bridge)}")
    if seen is None or not nft.has_mark(mark, seen):
        listing = nft.list_table(tbl) if not created else None
        if created or listing is None or not nft.tagged_handles(listing, nft.net_tag(net.bridge)):
            nft.delete_tagged(tbl, nft.net_tag(net.bridge))
            nft.apply(nft.base(tbl) + nft.network_rules(tbl, net.bridge, net.subnet, net.internal))
        elif seen is not None:
            nft.set_mark(mark, seen)
    if not net.internal and links.get_sysctl("net.ipv4.ip_forward") != "1":
        # outbound NAT needs forwarding, as docker turns it on; internal networks never need it
        links.set_sysctl("net.ipv4.ip_forward", "1")


def create(eng: Engine, name: str, subnet: str | None = None, gateway: str | None = None, internal: bool = False,
           labels: dict[str, str] | None = None, options: dict[str, str] | None = None,
           driver: str = "bridge") -> Network:
    if driver != "bridge":
        raise Invalid(f"network driver {driver!r} is not supported", hint="tug has bridge networks")
    if not _NAME.match(name):
        raise Invalid(f"invalid network name {name!r}")
    if name in BUILTIN:
        raise Conflict(f"network with name {name} already exists")
    options = dict(options or {})
    with lock(eng.layout, "networks"):
        if any(n.name == name for n in list_networks(eng)):
            raise Conflict(f"network with name {name} already exists")
        net_id = os.urandom(32).hex()
        dev = options.get("com.docker.network.bridge.name") or f"tug-{net_id[:11]}"
        if len(dev) > links.IFNAME_MAX or not _NAME.match(dev):
            raise Invalid(f"invalid bridge name {dev!r}")
        if links.link_exists(dev):
            raise Conflict(f"a network device named {dev} already exists on this host")
        in_use = _subnets_in_use(eng)
        if subnet:
            sn = ipam.parse_subnet(subnet)
            clash = ipam.overlapping(sn, in_use)
            if clash is not None:
                raise Conflict(f"subnet {sn} overlaps {clash}, already in use on this host")
        else:
            sn = ipam.pick_subnet(ipam.user_subnet_candidates(), in_use)
        gw = ipam.check_gateway(sn, gateway) if gateway else ipam.default_gateway(sn)
        net = Network(name, net_id, str(sn), gw, dev, internal, now_rfc3339(), dict(labels or {}), options)
        _save(eng, net)
        try:
            bring_up(eng, net)
        except BaseException:
            _teardown(eng, net)
            raise
    return net


def endpoints(eng: Engine, net: Network) -> dict[str, dict[str, Any]]:
    """Address -> allocation info for the containers attached now."""
    return ipam_table(eng, net).entries()


def _teardown(eng: Engine, net: Network) -> None:
    import shutil

    try:
        os.unlink(_nft_mark(eng, net))
    except FileNotFoundError:
        pass
    links.delete_link(net.bridge)
    nft.delete_tagged(table(eng), nft.net_tag(net.bridge), drop_empty_table=True)
    shutil.rmtree(net_dir(eng, net), ignore_errors=True)


def remove(eng: Engine, ref: str) -> Network:
    if ref in ("host", "none"):
        raise Conflict(f"{ref} is a pre-defined network and cannot be removed")
    net = find(eng, ref)
    with lock(eng.layout, "networks"):
        active = endpoints(eng, net)
        if active:
            names = ", ".join(sorted(a.get("name", a.get("owner", "?")[:12]) for a in active.values()))
            raise Conflict(f"error while removing network: network {net.name} id {net.id} has active endpoints "
                           f"({names})")
        _teardown(eng, net)
    return net


def prune(eng: Engine, used: set[str]) -> list[str]:
    """Remove user networks that no container uses (by name in `used`) and that have no endpoint."""
    gone = []
    for net in list_networks(eng):
        if net.name == DEFAULT or net.name in used or net.id in used:
            continue
        try:
            remove(eng, net.id)
            gone.append(net.name)
        except Conflict:
            continue
    return gone


def inspect(eng: Engine, net: Network, containers: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "Name": net.name, "Id": net.id, "Created": net.created, "Scope": "local", "Driver": "bridge",
        "EnableIPv6": False,
        "IPAM": {"Driver": "default", "Options": {}, "Config": [{"Subnet": net.subnet, "Gateway": net.gateway}]},
        "Internal": net.internal, "Attachable": False, "Ingress": False, "ConfigFrom": {"Network": ""},
        "ConfigOnly": False, "Containers": containers or {},
        "Options": {"com.docker.network.bridge.name": net.bridge, **net.options}, "Labels": net.labels,
    }
