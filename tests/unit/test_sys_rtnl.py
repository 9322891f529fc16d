"""tug.sys.rtnl's messages, read back field by field (no root, no socket): what `ip` would have asked the kernel."""

from __future__ import annotations

import struct

import pytest

from tug.sys import rtnl


def attrs(data: bytes) -> dict[int, bytes]:
    """rtattrs by type (the nested flag cleared); every attribute starts 4-aligned."""
    out, off = {}, 0
    while off < len(data):
        n, kind = struct.unpack_from("=HH", data, off)
        assert n >= 4 and off % 4 == 0
        out[kind & ~rtnl.NLA_F_NESTED] = data[off + 4:off + n]
        off += (n + 3) & ~3
    assert off == len(data)
    return out


def u32(b: bytes) -> int:
    return struct.unpack("=I", b)[0]


def test_veth_message_puts_the_host_end_on_the_bridge_up_and_the_peer_in_the_namespace():
    body = rtnl.veth_message("vethabc", "eth0", 1400, 7, "02:42:0a:58:00:05", 9)
    family, _type, index, flags, change = struct.unpack_from("=BxHiII", body)
    assert (family, index, flags, change) == (0, 0, rtnl.IFF_UP, rtnl.IFF_UP)
    top = attrs(body[16:])
    assert top[rtnl.IFLA_IFNAME] == b"vethabc\0"
    assert u32(top[rtnl.IFLA_MTU]) == 1400 and u32(top[rtnl.IFLA_MASTER]) == 7
    info = attrs(top[rtnl.IFLA_LINKINFO])
    assert info[rtnl.IFLA_INFO_KIND] == b"veth"
    peer_msg = attrs(info[rtnl.IFLA_INFO_DATA])[rtnl.VETH_INFO_PEER]
    assert struct.unpack_from("=BxHiII", peer_msg)[2:] == (0, 0, 0)  # the peer stays down until configured inside
    peer = attrs(peer_msg[16:])
    assert peer[rtnl.IFLA_IFNAME] == b"eth0\0"
    assert peer[rtnl.IFLA_ADDRESS] == bytes([2, 0x42, 10, 0x58, 0, 5])
    assert u32(peer[rtnl.IFLA_MTU]) == 1400 and u32(peer[rtnl.IFLA_NET_NS_FD]) == 9
    assert rtnl.IFLA_MASTER not in peer


def test_bridge_message():
    body = rtnl.bridge_message("tug0", 1500)
    assert struct.unpack_from("=BxHiII", body)[2:] == (0, 0, 0)
    top = attrs(body[16:])
    assert top[rtnl.IFLA_IFNAME] == b"tug0\0" and u32(top[rtnl.IFLA_MTU]) == 1500
    assert attrs(top[rtnl.IFLA_LINKINFO]) == {rtnl.IFLA_INFO_KIND: b"bridge"}


def test_address_and_route_messages():
    body = rtnl.addr4_message(3, "10.88.0.2", 16)
    assert struct.unpack_from("=BBBBi", body) == (rtnl.AF_INET, 16, 0, 0, 3)
    assert attrs(body[8:]) == {rtnl.IFA_LOCAL: bytes([10, 88, 0, 2]), rtnl.IFA_ADDRESS: bytes([10, 88, 0, 2])}
    body = rtnl.default_route4_message(3, "10.88.0.1")
    fam, dst_len, _src, _tos, table, proto, scope, kind, _fl = struct.unpack_from("=BBBBBBBBI", body)
    assert (fam, dst_len, table, proto, scope, kind) == (rtnl.AF_INET, 0, 254, rtnl.RTPROT_BOOT, 0, rtnl.RTN_UNICAST)
    a = attrs(body[12:])
    assert a[rtnl.RTA_GATEWAY] == bytes([10, 88, 0, 1]) and u32(a[rtnl.RTA_OIF]) == 3
    assert rtnl.link_up_message(4) == struct.pack("=BxHiII", 0, 0, 4, 1, 1)


def test_frame_and_reply_parsing():
    msg = rtnl.frame(rtnl.RTM_NEWADDR, rtnl.NLM_F_REQUEST | rtnl.NLM_F_ACK, b"abcd", 7)
    assert struct.unpack_from("=IHHII", msg) == (20, rtnl.RTM_NEWADDR, 5, 7, 0) and msg[16:] == b"abcd"
    ack = struct.pack("=IHHIIi", 36, rtnl.NLMSG_ERROR, 0, 7, 0, 0) + msg[:16]
    assert rtnl.parse_reply(ack, 7) == (0, None)
    refused = struct.pack("=IHHIIi", 36, rtnl.NLMSG_ERROR, 0, 7, 0, -17) + msg[:16]
    assert rtnl.parse_reply(refused, 7) == (17, None)
    link = struct.pack("=IHHII", 32, rtnl.RTM_NEWLINK, 0, 8, 0) + struct.pack("=BxHiII", 0, 1, 12, 0, 0)
    assert rtnl.parse_reply(link, 8) == (0, 12)
    with pytest.raises(ValueError):
        rtnl.parse_reply(ack, 8)  # an answer to another request


@pytest.mark.parametrize("bad", ["10.88.0", "10.88.0.256", "a.b.c.d", "10.88.0.1/16"])
def test_bad_ipv4_addresses_are_refused(bad):
    with pytest.raises(ValueError):
        rtnl.ipv4_bytes(bad)


def test_bad_mac_is_refused():
    with pytest.raises(ValueError):
        rtnl.mac_bytes("02:42:0a:58:00")
