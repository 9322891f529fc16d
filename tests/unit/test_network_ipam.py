"""Subnet choice and the flock'ed address table, including 20 processes allocating at once."""

from __future__ import annotations

import ipaddress
import multiprocessing

import pytest

from tug.errors import Conflict, Invalid, Unavailable
from tug.network import ipam

N = ipaddress.IPv4Network


def test_pick_subnet_avoids_host_routes_and_other_networks():
    cands = [N(s) for s in ipam.DEFAULT_BRIDGE_SUBNETS]
    assert ipam.pick_subnet(cands, [N("192.0.2.0/24")]) == N("10.88.0.0/16")
    assert ipam.pick_subnet(cands, [N("10.88.5.0/24")]) == N("10.87.0.0/16")
    with pytest.raises(Unavailable):
        ipam.pick_subnet(cands, [N("10.0.0.0/8")])
    user = ipam.pick_subnet(ipam.user_subnet_candidates(), [N("10.89.0.0/24"), N("10.89.1.0/24")])
    assert user == N("10.89.2.0/24")


def test_subnet_and_gateway_checks():
    assert ipam.parse_subnet("10.90.0.7/24") == N("10.90.0.0/24")
    for bad in ("10.90.0.0/31", "nope", "fd00::/64"):
        with pytest.raises(Invalid):
            ipam.parse_subnet(bad)
    net = N("10.90.0.0/24")
    assert ipam.default_gateway(net) == "10.90.0.1"
    assert ipam.check_gateway(net, "10.90.0.254") == "10.90.0.254"
    for bad in ("10.91.0.1", "10.90.0.0", "10.90.0.255", "x"):
        with pytest.raises(Invalid):
            ipam.check_gateway(net, bad)


def test_next_free_round_robin_and_exhaustion():
    net = N("10.90.0.0/29")  # hosts .1-.6
    assert ipam.next_free(net, {"10.90.0.1"}, None) == "10.90.0.2"
    assert ipam.next_free(net, {"10.90.0.1"}, "10.90.0.3") == "10.90.0.4"
    assert ipam.next_free(net, {"10.90.0.1", "10.90.0.2"}, "10.90.0.6") == "10.90.0.3"  # wraps
    with pytest.raises(Unavailable):
        ipam.next_free(net, {f"10.90.0.{i}" for i in range(1, 7)}, None)
    assert ipam.mac_for("10.88.0.2") == "02:42:0a:58:00:02"


def test_table_allocate_release_requested(tmp_path):
    t = ipam.AllocationTable(tmp_path, N("10.90.0.0/24"), "10.90.0.1")
    a = t.allocate("c1", info={"name": "one"})
    b = t.allocate("c2")
    assert (a, b) == ("10.90.0.2", "10.90.0.3")
    assert t.allocate("c3", "10.90.0.50") == "10.90.0.50"
    with pytest.raises(Conflict):
        t.allocate("c4", "10.90.0.50")
    with pytest.raises(Conflict):
        t.allocate("c4", "10.90.0.1")
    with pytest.raises(Invalid):
        t.allocate("c4", "10.91.0.9")
    assert t.entries()["10.90.0.2"] == {"owner": "c1", "name": "one"}
    assert t.release("c1") == ["10.90.0.2"]
    assert t.allocate("c5") == "10.90.0.4"  # after the last one handed out (.3), not the one just freed (.2)
    assert sorted(t.entries()) == ["10.90.0.3", "10.90.0.4", "10.90.0.50"]


def _grab(args):
    directory, owner = args
    t = ipam.AllocationTable(directory, N("10.90.0.0/24"), "10.90.0.1")
    return t.allocate(owner)


def test_concurrent_processes_get_distinct_addresses(tmp_path):
    with multiprocessing.get_context("fork").Pool(20) as pool:
        got = pool.map(_grab, [(tmp_path, f"c{i}") for i in range(20)])
    assert len(set(got)) == 20
    t = ipam.AllocationTable(tmp_path, N("10.90.0.0/24"), "10.90.0.1")
    assert sorted(a["owner"] for a in t.entries().values()) == sorted(f"c{i}" for i in range(20))
