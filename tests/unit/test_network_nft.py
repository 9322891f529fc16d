"""tug's nftables JSON: only its own table, tagged rules, loopback publishing only on the output hook."""

from __future__ import annotations

import json

from tug.network import nft


def _rules(cmds):
    return [c["add"]["rule"] for c in cmds if "rule" in c.get("add", {})]


def test_everything_lives_in_tugs_table():
    cmds = (nft.base("tugx") + nft.network_rules("tugx", "br0", "10.89.0.0/24", False)
            + nft.port_rules("tugx", "a" * 64, "10.89.0.2", [("", 8080, 80, "tcp")]))
    for c in cmds:
        (verb, body), = c.items()
        assert verb == "add"
        (kind, obj), = body.items()
        if kind == "table":
            assert obj == {"family": "ip", "name": "tugx"}
        else:
            assert (obj["family"], obj["table"]) == ("ip", "tugx")
    doc = json.loads(nft.document(cmds))
    assert doc["nftables"][0] == {"metainfo": {"json_schema_version": 1}}
    assert not any("flush" in c or "delete" in c for c in doc["nftables"])


def test_base_chains_hooks():
    chains = {c["add"]["chain"]["name"]: c["add"]["chain"] for c in nft.base("t") if "chain" in c["add"]}
    assert chains["prerouting"]["type"] == "nat" and chains["prerouting"]["hook"] == "prerouting"
    assert chains["output"]["hook"] == "output" and chains["postrouting"]["hook"] == "postrouting"
    assert chains["guard"]["prio"] < chains["prerouting"]["prio"]
    assert all(c["policy"] == "accept" for c in chains.values())


def test_network_rules_masquerade_and_guard():
    rules = _rules(nft.network_rules("t", "br0", "10.89.0.0/24", False))
    assert {r["comment"] for r in rules} == {"tug net br0"}
    by_chain = {r["chain"] for r in rules}
    assert by_chain == {"guard", "postrouting"}
    masq = [r for r in rules if r["chain"] == "postrouting" and
            {"match": {"op": "!=", "left": {"meta": {"key": "oifname"}}, "right": "br0"}} in r["expr"]]
    assert masq and {"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "saddr"}},
                               "right": {"prefix": {"addr": "10.89.0.0", "len": 24}}}} in masq[0]["expr"]
    guard = [r for r in rules if r["chain"] == "guard"][0]
    assert guard["expr"][-1] == {"drop": None}


def test_internal_network_has_no_masquerade_and_drops_leaving_traffic():
    rules = _rules(nft.network_rules("t", "br1", "10.89.1.0/24", True))
    chains = [r["chain"] for r in rules]
    assert chains.count("forward") == 2 and chains.count("input") == 1
    assert not any(r["chain"] == "postrouting" and
                   {"match": {"op": "!=", "left": {"meta": {"key": "oifname"}}, "right": "br1"}} in r["expr"]
                   for r in rules)
    assert all(r["expr"][-1] in ({"drop": None}, {"masquerade": None}) for r in rules)


def test_port_rules():
    rules = _rules(nft.port_rules("t", "b" * 64, "10.88.0.5", [("", 8080, 80, "tcp"), ("127.0.0.1", 9000, 90, "udp"),
                                                               ("192.0.2.9", 53, 53, "udp"), ("::1", 1, 1, "tcp")]))
    assert {r["comment"] for r in rules} == {"tug ctr bbbbbbbbbbbb"}
    any_addr = [r for r in rules if {"dnat": {"addr": "10.88.0.5", "port": 80}} in r["expr"]]
    assert sorted(r["chain"] for r in any_addr) == ["output", "prerouting"]
    assert {"match": {"op": "==", "left": {"fib": {"result": "type", "flags": ["daddr"]}}, "right": "local"}} \
        in any_addr[0]["expr"]
    loop = [r for r in rules if {"dnat": {"addr": "10.88.0.5", "port": 90}} in r["expr"]]
    assert [r["chain"] for r in loop] == ["output"]  # never prerouting: no other namespace can reach it
    assert {"match": {"op": "==", "left": {"payload": {"protocol": "udp", "field": "dport"}}, "right": 9000}} \
        in loop[0]["expr"]
    specific = [r for r in rules if {"dnat": {"addr": "10.88.0.5", "port": 53}} in r["expr"]]
    assert len(specific) == 2
    assert not [r for r in rules if {"dnat": {"addr": "10.88.0.5", "port": 1}} in r["expr"]]


def test_delete_by_tag_from_listing():
    listing = {"nftables": [
        {"metainfo": {}}, {"table": {"family": "ip", "name": "t"}},
        {"rule": {"family": "ip", "table": "t", "chain": "output", "handle": 7, "comment": "tug ctr aaaaaaaaaaaa"}},
        {"rule": {"family": "ip", "table": "t", "chain": "prerouting", "handle": 9, "comment": "tug ctr aaaaaaaaaaaa"}},
        {"rule": {"family": "ip", "table": "t", "chain": "output", "handle": 8, "comment": "tug ctr cccccccccccc"}},
    ]}
    handles = nft.tagged_handles(listing, nft.ctr_tag("a" * 64))
    assert handles == [("output", 7), ("prerouting", 9)]
    assert nft.delete_commands("t", handles)[0] == {"delete": {"rule": {"family": "ip", "table": "t",
                                                                        "chain": "output", "handle": 7}}}
    assert nft.rule_count(listing) == 3
