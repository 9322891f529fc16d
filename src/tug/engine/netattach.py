"""Wiring a container into its networks before the runtime starts, and unwiring it when it goes.

`attach` (called by `lifecycle.start` before the monitor runs the runtime):
  1. starts a holder process in a new network namespace (tug.network.holder) and points the network entry of
     `linux.namespaces` in config.json at `/proc/<holder>/ns/net`;
  2. per network: an address from the network's flock'ed table, a veth pair (host end on the bridge, `ethN` with
     the address, MAC and, for the first network, the default route inside), and the hosts-file sections of every
     member rewritten so containers on a user network find each other by name, alias and short id;
  3. published ports: host ports chosen (random ones from the ephemeral range), DNAT rules in tug's nft table.
Everything is recorded in `<runroot>/networks/<id>.json`, so `release` needs nothing but that file: it frees the
addresses, deletes the veth, removes the container's nft rules and hosts entries, and kills the holder (the
namespace goes with it). `release` is idempotent and runs when the container's end is recorded and on `rm`.
"""

from __future__ import annotations

import json
import os

from tug.engine.containers import Container, bundle_dir
from tug.engine.engine import Engine
from tug.errors import Conflict, Invalid, NotFound, TugError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from tug.engine import networks
    from tug.network import ports

# The network modules (addresses, links, nft, the holder) are imported by the functions that use them: a container
# with `--network none` or `host` never loads them (about 15 ms of imports on every `tug run`).


def is_slirp(mode: str) -> bool:
    """`--network slirp4netns[:OPTIONS]` (tug.network.slirp)."""
    return mode == "slirp4netns" or mode.startswith("slirp4netns:")


def mode_of(ctr: Container) -> str:
    return ctr.options.network or "bridge"


def network_names(ctr: Container) -> list[str]:
    """The networks a bridge-mode container joins: its --network, then those added by `network connect`."""
    mode = mode_of(ctr)
    if mode in ("host", "none") or mode.startswith("container:") or is_slirp(mode):
        return []
    from tug.engine import networks

    first = networks.DEFAULT if mode == "default" else mode
    return [first, *[n for n in ctr.extra.get("connected", []) if n != first]]


def validate(eng: Engine, ctr: Container) -> None:
    """At create: the network exists (or is built in) and the flags fit the mode, as docker checks them."""
    mode = mode_of(ctr)
    o = ctr.options
    if mode.startswith("container:"):
        if o.publish or o.publish_all:
            raise Invalid("conflicting options: port publishing and the container type network mode")
        return
    if is_slirp(mode):  # issue 7: a user-mode network (tug.network.slirp)
        from tug.network import slirp

        slirp.options(mode)
        if o.publish or o.publish_all:
            raise Invalid("port publishing with --network slirp4netns is not supported by tug")
    elif mode not in ("host", "none", "bridge", "default"):
        from tug.engine import networks

        networks.find(eng, mode)
    if (o.ip or o.network_aliases) and mode in ("bridge", "default", "host", "none"):
        what = "--ip" if o.ip else "--network-alias"
        raise Invalid(f"{what} is only supported on user-defined networks")
    if o.publish:
        from tug.network import ports

        ports.requests_for(o.publish, False, [])  # syntax errors surface at create


def _patch_spec(eng: Engine, ctr: Container, path: str | None) -> None:
    cfg_path = bundle_dir(eng, ctr.id) / "config.json"
    spec = json.loads(cfg_path.read_text())
    entries = spec.setdefault("linux", {}).setdefault("namespaces", [])
    for e in entries:
        if e.get("type") == "network":
            if path:
                e["path"] = path
            else:
                e.pop("path", None)
            break
    else:
        return  # host network: no entry to point anywhere
    tmp = cfg_path.with_name("config.json.tmp")
    tmp.write_text(json.dumps(spec, indent=1))
    os.chmod(tmp, 0o600)
    tmp.replace(cfg_path)


def _joined_path(eng: Engine, ctr: Container) -> str:
    from tug.engine import containers
    from tug.network import holder
    from tug.network.attachment import read_record

    other = containers.find(eng, mode_of(ctr).partition(":")[2])
    rec = read_record(eng.runroot, other.id)
    if rec and holder.alive(rec["holder"]["pid"], rec["holder"]["start"]):
        return holder.path(rec["holder"]["pid"])
    pid = int(other.state.get("Pid") or 0)
    if other.status == "running" and pid and os.path.exists(f"/proc/{pid}/ns/net"):
        return f"/proc/{pid}/ns/net"
    raise Conflict(f"cannot join network of a non running container: {other.name}")


def attach(eng: Engine, ctr: Container) -> None:
    """Create and wire the container's network namespace; point config.json at it. Undone on failure."""
    mode = mode_of(ctr)
    if mode == "host":
        return
    if os.path.exists(os.path.join(eng.runroot, "networks", ctr.id + ".json")):
        from tug.network.attachment import release

        release(eng.runroot, ctr.id)  # what a killed earlier run left behind
    if mode == "none" and ctr.options.runtime in ("", "tug", "tug-runtime"):
        return  # tug-runtime makes the namespace and brings its loopback up itself: no holder needed
    from tug.engine import networks
    from tug.network import holder, links, nft
    from tug.network.attachment import release, write_record

    if mode.startswith("container:"):
        _patch_spec(eng, ctr, _joined_path(eng, ctr))
        return
    pid, ticks = holder.spawn()
    rec: dict[str, Any] = {"holder": {"pid": pid, "start": ticks}, "table": networks.table(eng),
                           "tag": nft.ctr_tag(ctr.id), "endpoints": {}, "ports": []}
    write_record(eng.runroot, ctr.id, rec)
    try:
        fd = os.open(holder.path(pid), os.O_RDONLY | os.O_CLOEXEC)
        try:
            if mode == "none" or is_slirp(mode):
                links.loopback_up(fd)
            if is_slirp(mode):  # issue 7: tap0 through slirp4netns, killed on release
                from tug.network import slirp

                rec["slirp"] = slirp.start(holder.path(pid), mode)
                write_record(eng.runroot, ctr.id, rec)
            for i, name in enumerate(network_names(ctr)):
                ep = _join(eng, ctr, networks.find(eng, name), fd, i)
                rec["endpoints"][name] = ep
                write_record(eng.runroot, ctr.id, rec)
            if rec["endpoints"]:
                rec["ports"] = _publish(eng, ctr, next(iter(rec["endpoints"].values()))["IPAddress"])
                write_record(eng.runroot, ctr.id, rec)
            _note_ports(eng, ctr, rec["ports"])
        finally:
            os.close(fd)
        _patch_spec(eng, ctr, holder.path(pid))
    except BaseException as err:
        try:
            release(eng.runroot, ctr.id)
        except Exception as cleanup:  # noqa: BLE001
            if isinstance(err, TugError):
                err.add_cleanup_error(cleanup)
        raise


def _note_ports(eng: Engine, ctr: Container, mappings: list[dict[str, Any]]) -> None:
    """`ps` prints PORTS from the container's record: published ports, then exposed-only ones."""
    from tug.engine import containers
    from tug.network import ports

    text = ports.format_ports([ports.PortMapping.from_json(m) for m in mappings],
                              list(ctr.extra.get("exposed_ports") or [])) if mappings else ""
    if ctr.extra.get("published_ports_text", "") != text:
        ctr.extra["published_ports_text"] = text
        containers.save_extra(eng, ctr)


def _members_info(ctr: Container, net: networks.Network) -> dict[str, Any]:
    o = ctr.options
    aliases = list(o.network_aliases) if net.name == network_names(ctr)[0] else []
    return {"name": ctr.name, "hostname": ctr.extra.get("hostname") or ctr.id[:12], "aliases": aliases,
            "network": net.name}


def _join(eng: Engine, ctr: Container, net: networks.Network, fd: int, index: int) -> dict[str, Any]:
    from tug.engine import networks
    from tug.network import ipam, links
    from tug.network.attachment import sync_hosts

    networks.bring_up(eng, net)
    table = networks.ipam_table(eng, net)
    info = _members_info(ctr, net)
    info["hosts"] = str(eng.container_dir(ctr.id) / "hosts")
    first = index == 0
    wanted = ctr.options.ip if first else (ctr.extra.get("connect_ips") or {}).get(net.name)  # run/connect --ip
    addr = table.allocate(ctr.id, wanted, info)
    mac = (ctr.options.mac_address if first and ctr.options.mac_address else ipam.mac_for(addr))
    host_if = f"veth{os.urandom(4).hex()[:7]}"
    ifname = f"eth{index}"
    ep = {"NetworkID": net.id, "IPAddress": addr, "IPPrefixLen": net.net.prefixlen, "Gateway": net.gateway,
          "MacAddress": mac, "Bridge": net.bridge, "HostIf": host_if, "IfName": ifname,
          "Aliases": info["aliases"], "IpamDir": str(networks.ipam_dir(eng, net)), "Subnet": net.subnet,
          "UserDefined": net.user_defined}
    mtu = links.default_route_mtu()
    links.add_veth(host_if, ifname, fd, net.bridge, mac, mtu)
    links.configure_inside(fd, ifname, addr, net.net.prefixlen, None if net.internal or not first else net.gateway,
                           loopback=first)
    sync_hosts(ep)
    return ep


def _publish(eng: Engine, ctr: Container, addr: str) -> list[dict[str, Any]]:
    from tug.engine import containers, networks
    from tug.network import nft, ports
    from tug.network.attachment import read_record, write_record
    from tug.store.locks import lock

    o = ctr.options
    exposed = list(ctr.extra.get("exposed_ports") or [])
    reqs = ports.requests_for(o.publish, o.publish_all, exposed)
    if not reqs:
        return []
    with lock(eng.layout, "ports"):
        taken: set[tuple[str, int, str]] = set()
        for other in containers.list_containers(eng):
            rec = read_record(eng.runroot, other.id) if other.id != ctr.id else None
            for m in (rec or {}).get("ports", []):
                taken.add((m["HostIp"], int(m["HostPort"]), m["Proto"]))
        mappings = []
        for r in reqs:
            port = ports.choose_host_port(r, taken, ports.port_free)
            taken.add((r.host_ip, port, r.proto))
            mappings.append(ports.PortMapping(r.host_ip, port, r.container_port, r.proto))
        table = networks.table(eng)
        # recorded before the rules exist: the record's ports are what tells `release` to look for tagged rules
        rec = read_record(eng.runroot, ctr.id) or {}
        rec["ports"] = [m.to_json() for m in mappings]
        write_record(eng.runroot, ctr.id, rec)
        nft.apply(nft.base(table) + nft.port_rules(table, ctr.id, addr, [(m.host_ip, m.host_port, m.container_port,
                                                                          m.proto) for m in mappings]))
    return rec["ports"]


def published(eng: Engine, ctr: Container) -> list[ports.PortMapping]:
    from tug.network import ports
    from tug.network.attachment import read_record

    rec = read_record(eng.runroot, ctr.id)
    return [ports.PortMapping.from_json(m) for m in (rec or {}).get("ports", [])]


def settings(eng: Engine, ctr: Container) -> dict[str, Any]:
    """docker inspect's NetworkSettings for the container as it runs now."""
    from tug.network import holder
    from tug.network.attachment import read_record

    rec = read_record(eng.runroot, ctr.id) or {}
    nets = {}
    for name, ep in rec.get("endpoints", {}).items():
        nets[name] = {"NetworkID": ep["NetworkID"], "IPAddress": ep["IPAddress"], "IPPrefixLen": ep["IPPrefixLen"],
                      "Gateway": ep["Gateway"], "MacAddress": ep["MacAddress"], "Aliases": ep.get("Aliases") or None}
    port_map: dict[str, Any] = {}
    for m in published(eng, ctr):
        port_map.setdefault(f"{m.container_port}/{m.proto}", []).append(
            {"HostIp": m.host_ip or "0.0.0.0", "HostPort": str(m.host_port)})
    first = next(iter(nets.values()), {})
    return {"Networks": nets or {mode_of(ctr): {}}, "Ports": port_map, "IPAddress": first.get("IPAddress", ""),
            "Gateway": first.get("Gateway", ""), "MacAddress": first.get("MacAddress", ""),
            "SandboxKey": holder.path(rec["holder"]["pid"]) if rec.get("holder") else ""}


def connect(eng: Engine, net_ref: str, ctr_ref: str, aliases: list[str] | None = None, ip: str | None = None) -> None:
    """`network connect`: recorded for the next start; a running container gets the interface now (at `ip` if
    given, which must lie in the network's subnet)."""
    from tug.engine import containers, networks
    from tug.network import holder
    from tug.network.attachment import read_record, write_record

    net = networks.find(eng, net_ref)
    ctr = containers.find(eng, ctr_ref)
    if mode_of(ctr) in ("host", "none") or mode_of(ctr).startswith("container:"):
        raise Invalid(f"container {ctr.name} cannot be connected to a network: its network mode is {mode_of(ctr)}")
    if net.name in network_names(ctr):
        raise Conflict(f"endpoint with name {ctr.name} already exists in network {net.name}")
    ctr.extra["connected"] = [*ctr.extra.get("connected", []), net.name]
    if ip:
        import ipaddress

        try:
            inside = ipaddress.ip_address(ip) in net.net
        except ValueError:
            raise Invalid(f"invalid IPv4 address {ip!r} for --ip") from None
        if not inside:
            raise Invalid(f"address {ip} is not in the network's subnet {net.net}")
        ctr.extra["connect_ips"] = {**(ctr.extra.get("connect_ips") or {}), net.name: ip}
    containers.save_extra(eng, ctr)
    rec = read_record(eng.runroot, ctr.id)
    if rec and holder.alive(rec["holder"]["pid"], rec["holder"]["start"]):
        fd = os.open(holder.path(rec["holder"]["pid"]), os.O_RDONLY | os.O_CLOEXEC)
        try:
            ep = _join(eng, ctr, net, fd, len(rec["endpoints"]))
        finally:
            os.close(fd)
        ep["Aliases"] = list(aliases or [])
        rec["endpoints"][net.name] = ep
        write_record(eng.runroot, ctr.id, rec)


def disconnect(eng: Engine, net_ref: str, ctr_ref: str) -> None:
    from tug.engine import containers, networks
    from tug.network import hosts, ipam, links
    from tug.network.attachment import read_record, sync_hosts, write_record

    net = networks.find(eng, net_ref)
    ctr = containers.find(eng, ctr_ref)
    names = network_names(ctr)
    if net.name not in names:
        raise NotFound(f"container {ctr.name} is not connected to network {net.name}")
    if names and names[0] == net.name:
        raise Conflict(f"container {ctr.name}: cannot disconnect its primary network {net.name}",
                       hint="tug disconnects only networks added with `network connect`")
    ctr.extra["connected"] = [n for n in ctr.extra.get("connected", []) if n != net.name]
    ctr.extra.get("connect_ips", {}).pop(net.name, None)
    containers.save_extra(eng, ctr)
    rec = read_record(eng.runroot, ctr.id)
    if rec and net.name in rec.get("endpoints", {}):
        ep = rec["endpoints"].pop(net.name)
        ipam.AllocationTable(ep["IpamDir"], ep["Subnet"], ep["Gateway"]).release(ctr.id)
        links.delete_link(ep["HostIf"])
        hosts.rewrite_in_place(str(eng.container_dir(ctr.id) / "hosts"), net.name, None)
        sync_hosts(ep)
        write_record(eng.runroot, ctr.id, rec)


def mac_for(ip: str) -> str:
    """The MAC address tug gives the endpoint with this address (for `network inspect`)."""
    from tug.network import ipam

    return ipam.mac_for(ip)


def format_port_lines(mappings: list[ports.PortMapping]) -> list[str]:
    """`tug port`'s lines (`80/tcp -> 127.0.0.1:8080`)."""
    from tug.network import ports

    return ports.format_port_lines(mappings)
