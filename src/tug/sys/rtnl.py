"""Links, addresses and routes over rtnetlink (a NETLINK_ROUTE socket), packed by hand with `struct`.

What wiring a container needs, and no more: a bridge; a veth pair made in one RTM_NEWLINK (host end with its MTU,
bridge and IFF_UP; the peer with its name, MAC and MTU, created straight inside the container's namespace by fd); an
interface set up; an IPv4 address; a default route. Each change asks for an ACK and is sent alone, so the first
refusal stops the sequence (as `ip -b` does) and is raised with the kernel's errno. A netlink socket acts in the
network namespace it was opened in: `Rtnl.open(ns_fd)` enters that namespace on the calling thread only for the
socket(2) call and is back (checked against the namespace it left) before anything is sent. No process is started.

Messages are built by pure functions (`veth_message`, `addr4_message`, ...) that the unit tests read back.
"""

from __future__ import annotations

import _socket
import os
import struct

from tug.errors import SystemFailure

AF_NETLINK = 16
NETLINK_ROUTE = 0
AF_UNSPEC, AF_INET = 0, 2

NLM_F_REQUEST, NLM_F_ACK, NLM_F_EXCL, NLM_F_CREATE = 0x1, 0x4, 0x200, 0x400
NLMSG_ERROR = 2
RTM_NEWLINK, RTM_DELLINK, RTM_GETLINK = 16, 17, 18
RTM_NEWADDR = 20
RTM_NEWROUTE = 24

IFF_UP = 0x1
IFLA_ADDRESS, IFLA_IFNAME, IFLA_MTU, IFLA_MASTER, IFLA_LINKINFO, IFLA_NET_NS_FD = 1, 3, 4, 10, 18, 28
IFLA_INFO_KIND, IFLA_INFO_DATA = 1, 2
VETH_INFO_PEER = 1
IFA_ADDRESS, IFA_LOCAL = 1, 2
RTA_GATEWAY, RTA_OIF = 5, 4
RT_TABLE_MAIN, RTPROT_BOOT, RT_SCOPE_UNIVERSE, RTN_UNICAST = 254, 3, 0, 1
NLA_F_NESTED = 0x8000

_HDR = struct.Struct("=IHHII")  # nlmsghdr: len, type, flags, seq, pid
_IFINFO = struct.Struct("=BxHiII")  # ifinfomsg: family, pad, type, index, flags, change
_IFADDR = struct.Struct("=BBBBi")  # ifaddrmsg: family, prefixlen, flags, scope, index
_RTMSG = struct.Struct("=BBBBBBBBI")  # rtmsg: family, dst_len, src_len, tos, table, protocol, scope, type, flags
_ATTR = struct.Struct("=HH")
_SELF_NET = "/proc/thread-self/ns/net"


def attr(kind: int, payload: bytes) -> bytes:
    """One rtattr, padded to 4 bytes."""
    n = _ATTR.size + len(payload)
    return _ATTR.pack(n, kind) + payload + b"\0" * (-n & 3)


def nested(kind: int, *attrs: bytes) -> bytes:
    return attr(kind | NLA_F_NESTED, b"".join(attrs))


def u32(kind: int, value: int) -> bytes:
    return attr(kind, struct.pack("=I", value))


def name_attr(name: str) -> bytes:
    return attr(IFLA_IFNAME, name.encode() + b"\0")


def mac_bytes(mac: str) -> bytes:
    parts = mac.split(":")
    if len(parts) != 6:
        raise ValueError(f"not a MAC address: {mac!r}")
    return bytes(int(p, 16) for p in parts)


def ipv4_bytes(address: str) -> bytes:
    parts = address.split(".")
    if len(parts) != 4 or not all(p.isdigit() and int(p) < 256 for p in parts):
        raise ValueError(f"not an IPv4 address: {address!r}")
    return bytes(int(p) for p in parts)


def ifinfo(index: int = 0, flags: int = 0, change: int = 0) -> bytes:
    return _IFINFO.pack(AF_UNSPEC, 0, index, flags, change)


def veth_message(name: str, peer: str, mtu: int, master: int, peer_mac: str, peer_ns_fd: int) -> bytes:
    """RTM_NEWLINK body: veth `name` (mtu, enslaved to ifindex `master`, up) whose peer `peer` (MAC, mtu, down) is
    created in the namespace of `peer_ns_fd`."""
    peer_body = ifinfo() + name_attr(peer) + attr(IFLA_ADDRESS, mac_bytes(peer_mac)) + u32(IFLA_MTU, mtu) + \
        u32(IFLA_NET_NS_FD, peer_ns_fd)
    info = nested(IFLA_LINKINFO, attr(IFLA_INFO_KIND, b"veth"),
                  nested(IFLA_INFO_DATA, nested(VETH_INFO_PEER, peer_body)))
    return ifinfo(0, IFF_UP, IFF_UP) + name_attr(name) + u32(IFLA_MTU, mtu) + u32(IFLA_MASTER, master) + info


def bridge_message(name: str, mtu: int) -> bytes:
    """RTM_NEWLINK body: bridge `name` with `mtu`, down (as `ip link add name NAME mtu MTU type bridge`)."""
    return ifinfo() + name_attr(name) + u32(IFLA_MTU, mtu) + nested(IFLA_LINKINFO, attr(IFLA_INFO_KIND, b"bridge"))


def link_up_message(index: int) -> bytes:
    return ifinfo(index, IFF_UP, IFF_UP)


def addr4_message(index: int, address: str, prefixlen: int) -> bytes:
    """RTM_NEWADDR body: `address/prefixlen` on ifindex `index`, global scope, no broadcast (as `ip addr add`)."""
    a = ipv4_bytes(address)
    return _IFADDR.pack(AF_INET, prefixlen, 0, RT_SCOPE_UNIVERSE, index) + attr(IFA_LOCAL, a) + attr(IFA_ADDRESS, a)


def default_route4_message(index: int, gateway: str) -> bytes:
    """RTM_NEWROUTE body: the IPv4 default route via `gateway` out of ifindex `index` (main table, proto boot)."""
    return _RTMSG.pack(AF_INET, 0, 0, 0, RT_TABLE_MAIN, RTPROT_BOOT, RT_SCOPE_UNIVERSE, RTN_UNICAST, 0) + \
        attr(RTA_GATEWAY, ipv4_bytes(gateway)) + u32(RTA_OIF, index)


def name_message(name: str) -> bytes:
    """RTM_GETLINK / RTM_DELLINK body naming a link."""
    return ifinfo() + name_attr(name)


def frame(kind: int, flags: int, body: bytes, seq: int) -> bytes:
    return _HDR.pack(_HDR.size + len(body), kind, flags, seq, 0) + body


def parse_reply(data: bytes, seq: int) -> tuple[int, int | None]:
    """(errno, ifindex) from the answers to request `seq`: errno 0 for an ACK or a link, ifindex from an
    RTM_NEWLINK answer (None otherwise). Raises ValueError when no answer to `seq` is in `data`."""
    off = 0
    while off + _HDR.size <= len(data):
        length, kind, _flags, mseq, _pid = _HDR.unpack_from(data, off)
        if length < _HDR.size:
            break
        if mseq == seq:
            if kind == NLMSG_ERROR and length >= _HDR.size + 4:
                return -struct.unpack_from("=i", data, off + _HDR.size)[0], None
            if kind == RTM_NEWLINK and length >= _HDR.size + _IFINFO.size:
                return 0, _IFINFO.unpack_from(data, off + _HDR.size)[2]
        off += (length + 3) & ~3
    raise ValueError(f"no netlink answer to request {seq}")


class Rtnl:
    """A NETLINK_ROUTE socket and its requests; acts in the namespace it was opened in."""

    def __init__(self, sock: _socket.socket, where: str) -> None:
        self.sock = sock
        self.where = where
        self.seq = 0

    @classmethod
    def open(cls, ns_fd: int | None = None, where: str = "rtnetlink") -> Rtnl:
        """A socket in the calling thread's network namespace, or in that of `ns_fd` (entered only to open it)."""
        if ns_fd is None:
            return cls(_socket_now(where), where)
        home = os.open(_SELF_NET, os.O_RDONLY | os.O_CLOEXEC)
        try:
            before = os.fstat(home)
            _setns(ns_fd, where)
            try:
                sock = _socket_now(where)
            finally:
                _setns(home, _SELF_NET)
                now = os.stat(_SELF_NET)
                if (now.st_dev, now.st_ino) != (before.st_dev, before.st_ino):  # pragma: no cover - kernel refused
                    raise SystemFailure("setns: did not return to the original network namespace", where=_SELF_NET)
        finally:
            os.close(home)
        return cls(sock, where)

    def __enter__(self) -> Rtnl:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.sock.close()

    def request(self, kind: int, flags: int, body: bytes, what: str) -> int | None:
        """Send one request and wait for its answer: the ifindex of an RTM_NEWLINK answer (to RTM_GETLINK, sent
        without NLM_F_ACK so the link is the only answer), else None after the ACK. SystemFailure with the kernel's
        errno and `what` when it refuses."""
        self.seq += 1
        flags |= NLM_F_REQUEST | (0 if kind == RTM_GETLINK else NLM_F_ACK)
        try:
            self.sock.sendto(frame(kind, flags, body, self.seq), (0, 0))
            while True:
                try:
                    err, index = parse_reply(self.sock.recv(65536), self.seq)
                    break
                except ValueError:
                    continue  # an answer to nothing of ours (cannot happen on a private socket): read on
        except OSError as e:
            raise SystemFailure(f"{what}: {e.strerror}", errno=e.errno, where=self.where) from None
        if err:
            raise SystemFailure(f"{what}: {os.strerror(err)}", errno=err, where=self.where)
        return index

    def index(self, name: str) -> int:
        idx = self.request(RTM_GETLINK, 0, name_message(name), f"find link {name}")
        if not idx:
            raise SystemFailure(f"find link {name}: no index in the answer", where=self.where)
        return idx

    def add_veth(self, name: str, peer: str, mtu: int, master: int, peer_mac: str, peer_ns_fd: int) -> None:
        self.request(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, veth_message(name, peer, mtu, master, peer_mac,
                                                                          peer_ns_fd), f"add veth {name}")

    def add_bridge(self, name: str, mtu: int) -> None:
        self.request(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, bridge_message(name, mtu), f"add bridge {name}")

    def link_up(self, index: int, name: str) -> None:
        self.request(RTM_NEWLINK, 0, link_up_message(index), f"set link {name} up")

    def add_addr4(self, index: int, address: str, prefixlen: int, name: str) -> None:
        self.request(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, addr4_message(index, address, prefixlen),
                     f"add address {address}/{prefixlen} to {name}")

    def add_default_route4(self, index: int, gateway: str, name: str) -> None:
        self.request(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, default_route4_message(index, gateway),
                     f"add default route via {gateway} dev {name}")

    def delete_link(self, name: str) -> None:
        self.request(RTM_DELLINK, 0, name_message(name), f"delete link {name}")


def _socket_now(where: str) -> _socket.socket:
    try:
        sock = _socket.socket(AF_NETLINK, _socket.SOCK_RAW | _socket.SOCK_CLOEXEC, NETLINK_ROUTE)
        sock.settimeout(5)  # the kernel answers at once; never hang a start on a lost answer
        return sock
    except OSError as e:
        raise SystemFailure(f"rtnetlink socket: {e.strerror}", errno=e.errno, where=where) from None


def _setns(fd: int, where: str) -> None:
    from tug.sys import ns  # ctypes: loaded anyway where namespaces are made (tug.network.holder)

    ns.setns(fd, ns.CLONE_NEWNET, where=where)
