"""NAT, port forwarding and isolation as nftables JSON, in tug's own table only.

Everything lives in `table ip <name>` (default `tug`); other tools' tables are never listed for change, flushed or
edited. Rules carry a comment tag (`tug net <bridge>`, `tug ctr <id>`) and are removed by the handles that carry
that tag, so containers and networks come and go without rewriting each other's rules. Building the JSON is pure;
`apply` pipes it to `nft -j -f -` (one atomic transaction per call).

Chains (base chains are created idempotently with `add`):
- `prerouting` (nat, dstnat): published ports reached from elsewhere, `fib daddr type local` or the given host IP;
- `output` (nat, dstnat): the same for connections made on the host itself, including `127.0.0.1` mappings;
- `postrouting` (nat, srcnat): masquerade a network's traffic leaving its bridge, and loopback sources sent to a
  bridge (needed for 127.0.0.1 publishing, with `route_localnet` on that bridge only);
- `guard` (filter, raw prerouting): packets arriving from a bridge for 127.0.0.0/8 are dropped, so
  `route_localnet` never opens the host's loopback services to containers;
- `forward`, `input` (filter): an `--internal` network's traffic may not leave its bridge nor reach the host.
"""

from __future__ import annotations

from tug.errors import SystemFailure, Unavailable
from tug.sys import nfgen

TYPE_CHECKING = False
if TYPE_CHECKING:
    import subprocess
    from typing import Any

FAMILY = "ip"
CHAINS: dict[str, dict[str, Any]] = {
    "guard": {"type": "filter", "hook": "prerouting", "prio": -300},
    "prerouting": {"type": "nat", "hook": "prerouting", "prio": -100},
    "output": {"type": "nat", "hook": "output", "prio": -100},
    "postrouting": {"type": "nat", "hook": "postrouting", "prio": 100},
    "forward": {"type": "filter", "hook": "forward", "prio": 0},
    "input": {"type": "filter", "hook": "input", "prio": 0},
}


def net_tag(bridge: str) -> str:
    return f"tug net {bridge}"


def ctr_tag(ctr_id: str) -> str:
    return f"tug ctr {ctr_id[:12]}"


def _match(left: Any, right: Any, op: str = "==") -> dict[str, Any]:
    return {"match": {"op": op, "left": left, "right": right}}


def _meta(key: str) -> dict[str, Any]:
    return {"meta": {"key": key}}


def _payload(proto: str, field: str) -> dict[str, Any]:
    return {"payload": {"protocol": proto, "field": field}}


def _prefix(cidr: str) -> dict[str, Any]:
    addr, _, length = cidr.partition("/")
    return {"prefix": {"addr": addr, "len": int(length or 32)}}


def _rule(table: str, chain: str, tag: str, *expr: dict[str, Any]) -> dict[str, Any]:
    return {"add": {"rule": {"family": FAMILY, "table": table, "chain": chain, "comment": tag, "expr": list(expr)}}}


def base(table: str) -> list[dict[str, Any]]:
    """The table and its base chains (idempotent: `add` leaves existing ones as they are)."""
    cmds: list[dict[str, Any]] = [{"add": {"table": {"family": FAMILY, "name": table}}}]
    for name, c in CHAINS.items():
        cmds.append({"add": {"chain": {"family": FAMILY, "table": table, "name": name, **c, "policy": "accept"}}})
    return cmds


def network_rules(table: str, bridge: str, subnet: str, internal: bool) -> list[dict[str, Any]]:
    tag = net_tag(bridge)
    iif, oif = _meta("iifname"), _meta("oifname")
    rules = [
        _rule(table, "guard", tag, _match(iif, bridge), _match(_payload("ip", "daddr"), _prefix("127.0.0.0/8")),
              {"drop": None}),
        _rule(table, "postrouting", tag, _match(oif, bridge), _match(_payload("ip", "saddr"), _prefix("127.0.0.0/8")),
              {"masquerade": None}),
    ]
    if internal:
        rules += [
            _rule(table, "forward", tag, _match(iif, bridge), _match(oif, bridge, "!="), {"drop": None}),
            _rule(table, "forward", tag, _match(oif, bridge), _match(iif, bridge, "!="), {"drop": None}),
            _rule(table, "input", tag, _match(iif, bridge), {"drop": None}),
        ]
    else:
        rules.append(_rule(table, "postrouting", tag, _match(_payload("ip", "saddr"), _prefix(subnet)),
                           _match(oif, bridge, "!="), {"masquerade": None}))
    return rules


def port_rules(table: str, ctr_id: str, ctr_ip: str, mappings: list[tuple[str, int, int, str]]) -> list[dict[str, Any]]:
    """DNAT for (host_ip, host_port, container_port, proto) mappings. A loopback host IP is served only to
    connections made on the host itself (the output chain): no other namespace can reach it."""
    tag = ctr_tag(ctr_id)
    rules: list[dict[str, Any]] = []
    for host_ip, host_port, ctr_port, proto in mappings:
        if host_ip and ":" in host_ip:
            continue  # IPv6 host addresses: the ip table cannot carry them (the engine warns)
        dport = _match(_payload(proto, "dport"), host_port)
        dnat = {"dnat": {"addr": ctr_ip, "port": ctr_port}}
        if host_ip.startswith("127."):
            rules.append(_rule(table, "output", tag, _match(_payload("ip", "daddr"), host_ip), dport, dnat))
            continue
        dest = (_match(_payload("ip", "daddr"), host_ip) if host_ip
                else _match({"fib": {"result": "type", "flags": ["daddr"]}}, "local"))
        rules.append(_rule(table, "prerouting", tag, dest, dport, dnat))
        rules.append(_rule(table, "output", tag, dest, dport, dnat))
    return rules


def tagged_handles(listing: dict[str, Any], tag: str) -> list[tuple[str, int]]:
    """(chain, handle) of every rule in an `nft -j -a list table` answer whose comment is `tag`."""
    out = []
    for item in listing.get("nftables", []):
        rule = item.get("rule")
        if rule and rule.get("comment") == tag:
            out.append((rule["chain"], int(rule["handle"])))
    return out


def delete_commands(table: str, handles: list[tuple[str, int]]) -> list[dict[str, Any]]:
    return [{"delete": {"rule": {"family": FAMILY, "table": table, "chain": c, "handle": h}}} for c, h in handles]


def rule_count(listing: dict[str, Any]) -> int:
    return sum(1 for item in listing.get("nftables", []) if "rule" in item)


def document(cmds: list[dict[str, Any]]) -> str:
    import json

    return json.dumps({"nftables": [{"metainfo": {"json_schema_version": 1}}, *cmds]})


def _nft(args: list[str], stdin: str | None = None) -> subprocess.CompletedProcess:
    import subprocess

    try:
        return subprocess.run(["nft", *args], input=stdin, capture_output=True, text=True, timeout=30)
    except FileNotFoundError:
        raise Unavailable("nft is not installed", hint="install the nftables package") from None


def apply(cmds: list[dict[str, Any]]) -> None:
    if not cmds:
        return
    r = _nft(["-j", "-f", "-"], document(cmds))
    if r.returncode != 0:
        raise SystemFailure(f"nft: {r.stderr.strip().splitlines()[-1] if r.stderr.strip() else 'failed'}",
                            where="nftables")


def list_table(table: str) -> dict[str, Any] | None:
    r = _nft(["-j", "-a", "list", "table", FAMILY, table])
    if r.returncode != 0:
        return None  # no such table
    import json

    return json.loads(r.stdout or "{}")


def delete_tagged(table: str, tag: str, drop_empty_table: bool = False) -> None:
    """Remove the rules carrying `tag`; with `drop_empty_table`, delete the table when no rule is left.
    A concurrent removal of the same rules is harmless: retried once on a fresh listing."""
    for attempt in range(2):
        listing = list_table(table)
        if listing is None:
            return
        handles = tagged_handles(listing, tag)
        cmds = delete_commands(table, handles)
        if drop_empty_table and rule_count(listing) == len(handles):
            cmds = [{"delete": {"table": {"family": FAMILY, "name": table}}}]
        try:
            apply(cmds)
            return
        except SystemFailure:
            if attempt:
                raise


def stamp(key: str) -> str | None:
    """What to remember once rules described by `key` were seen in place: the key, this boot and the ruleset's
    generation now (read BEFORE looking at the rules: a change made while they are listed shows next time). None
    when the kernel does not tell its generation."""
    gen = nfgen.generation()
    if gen is None:
        return None
    try:
        with open("/proc/sys/kernel/random/boot_id") as f:
            boot = f.read().strip()
    except OSError:
        return None
    return f"{key} {boot} {gen}"


def has_mark(path: str, expected: str) -> bool:
    """True when `path` holds `expected`: nothing in the host's ruleset changed since the rules were seen."""
    try:
        with open(path) as f:
            return f.read() == expected
    except OSError:
        return False


def set_mark(path: str, value: str) -> None:
    import os

    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w") as f:
        f.write(value)
    os.replace(tmp, path)
