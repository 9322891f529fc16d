"""tug.network.links over rtnetlink on the real kernel: a bridge and a veth pair in the host, the peer configured in a
namespace the test creates (held by an fd, never mounted), checked with iproute2 from outside. Names are random
(tugt...) and everything is deleted at the end; the only traffic is a ping from that namespace to the bridge."""

from __future__ import annotations

import errno
import json
import os
import subprocess

import pytest
from network_helpers import unique

from conftest import BUSYBOX
from tug.errors import SystemFailure
from tug.network import links, netns

pytestmark = pytest.mark.timeout(60)

SELF_NET = "/proc/thread-self/ns/net"


def _ns_id(path: str = SELF_NET) -> tuple[int, int]:
    st = os.stat(path)
    return st.st_dev, st.st_ino


def ip_in(fd: int | None, *args: str) -> list[dict]:
    argv = ["ip", "-j", *args]
    if fd is not None:
        argv = ["nsenter", f"--net=/proc/{os.getpid()}/fd/{fd}", *argv]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=20)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout or "[]")


@pytest.fixture
def wired():
    """A bridge tugtXXXb (10.231.7.1/24) and a fresh namespace fd; both gone afterwards."""
    import ipaddress

    if any(n.overlaps(ipaddress.IPv4Network("10.231.7.0/24")) for n in links.host_subnets()):
        pytest.skip("the host routes 10.231.7.0/24")
    name = unique()
    bridge = name + "b"
    home = _ns_id()
    assert links.ensure_bridge(bridge, "10.231.7.1", 24, 1400)
    fd = netns.create()
    try:
        yield name, bridge, fd
    finally:
        os.close(fd)
        for link in (name + "h", bridge):
            subprocess.run(["ip", "link", "del", link], capture_output=True)
        assert _ns_id() == home
    assert not links.link_exists(bridge) and not links.link_exists(name + "h")


def test_bridge_veth_and_inside_configuration(wired):
    name, bridge, fd = wired
    home = _ns_id()
    (br,) = ip_in(None, "addr", "show", "dev", bridge)
    assert br["mtu"] == 1400 and "UP" in br["flags"]
    assert [(a["local"], a["prefixlen"]) for a in br["addr_info"] if a["family"] == "inet"] == [("10.231.7.1", 24)]
    assert links.get_sysctl(f"net.ipv4.conf.{bridge}.route_localnet") == "1"
    assert not links.ensure_bridge(bridge, "10.231.7.1", 24, 1400)  # already there

    links.add_veth(name + "h", "eth0", fd, bridge, "02:42:0a:e7:07:05", 1400)
    links.configure_inside(fd, "eth0", "10.231.7.5", 24, "10.231.7.1")
    assert _ns_id() == home, "the calling thread must be back in its own namespace"

    (host,) = ip_in(None, "-d", "link", "show", "dev", name + "h")
    assert host["mtu"] == 1400 and host["master"] == bridge and "UP" in host["flags"]
    inside = {link["ifname"]: link for link in ip_in(fd, "addr")}
    assert set(inside) == {"lo", "eth0"}
    assert "UP" in inside["lo"]["flags"]
    eth = inside["eth0"]
    assert eth["address"] == "02:42:0a:e7:07:05" and eth["mtu"] == 1400 and "UP" in eth["flags"]
    assert [(a["local"], a["prefixlen"], a.get("broadcast")) for a in eth["addr_info"] if a["family"] == "inet"] == \
        [("10.231.7.5", 24, None)]
    routes = ip_in(fd, "-4", "route")
    assert {"dst": "default", "gateway": "10.231.7.1", "dev": "eth0", "flags": []} in routes
    r = subprocess.run(["nsenter", f"--net=/proc/{os.getpid()}/fd/{fd}", BUSYBOX, "ping", "-c1", "-W3", "10.231.7.1"],
                       capture_output=True, text=True, timeout=20)
    assert r.returncode == 0, r.stdout + r.stderr


def test_second_interface_without_route_or_loopback(wired):
    name, bridge, fd = wired
    links.add_veth(name + "h", "eth1", fd, bridge, "02:42:0a:e7:07:06", 1400)
    links.configure_inside(fd, "eth1", "10.231.7.6", 24, None, loopback=False)
    inside = {link["ifname"]: link for link in ip_in(fd, "link")}
    assert "UP" not in inside["lo"]["flags"] and "UP" in inside["eth1"]["flags"]
    assert not [r for r in ip_in(fd, "-4", "route") if r["dst"] == "default"]
    links.loopback_up(fd)
    assert "UP" in {link["ifname"]: link for link in ip_in(fd, "link")}["lo"]["flags"]


def test_refusals_name_the_step_and_leave_the_thread_at_home(wired):
    name, bridge, fd = wired
    home = _ns_id()
    with pytest.raises(SystemFailure) as e:
        links.configure_inside(fd, "eth9", "10.231.7.9", 24, "10.231.7.1")
    assert e.value.errno == errno.ENODEV and "eth9" in e.value.message
    assert _ns_id() == home
    links.add_veth(name + "h", "eth0", fd, bridge, "02:42:0a:e7:07:07", 1400)
    with pytest.raises(SystemFailure) as e:
        links.add_veth(name + "h", "eth1", fd, bridge, "02:42:0a:e7:07:08", 1400)
    assert e.value.errno == errno.EEXIST and name + "h" in e.value.message
    with pytest.raises(SystemFailure):
        links.add_veth(name + "x", "eth2", fd, name + "nobridge", "02:42:0a:e7:07:09", 1400)
    assert not links.link_exists(name + "x")
    assert links.delete_link(name + "h") and not links.link_exists(name + "h")
    assert not links.delete_link(name + "h")
