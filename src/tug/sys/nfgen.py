"""The nftables ruleset generation of this network namespace, asked of the kernel over netlink.

The kernel counts every committed nftables transaction (any table, any tool) in one number per network namespace
(NFT_MSG_GETGEN). While it stays the same, no rule was added, changed or deleted anywhere: tug.engine.networks uses it
to skip listing its table on every `tug run` once the rules were seen in place. One request and one answer on a
netlink socket, about 50 µs, where `nft -j list table` costs a process start and the library's JSON.
"""

from __future__ import annotations

import _socket
import struct

AF_NETLINK = 16
NETLINK_NETFILTER = 12
NFNL_SUBSYS_NFTABLES = 10
NFT_MSG_NEWGEN = 15
NFT_MSG_GETGEN = 16
NFTA_GEN_ID = 1
NLM_F_REQUEST = 1
NLMSG_ERROR = 2
_HDR = struct.Struct("=IHHII")  # nlmsghdr: len, type, flags, seq, pid
_NFGEN = struct.Struct("=BBH")  # nfgenmsg: family, version, res_id


def request(seq: int = 1) -> bytes:
    body = _NFGEN.pack(0, 0, 0)
    return _HDR.pack(_HDR.size + len(body), NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_GETGEN, NLM_F_REQUEST, seq, 0) + body


def parse_answer(data: bytes) -> int | None:
    """The generation id in a NFT_MSG_NEWGEN answer; None for an error or anything else."""
    if len(data) < _HDR.size + _NFGEN.size:
        return None
    length, kind, _flags, _seq, _pid = _HDR.unpack_from(data)
    if kind != (NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_NEWGEN):
        return None
    off = _HDR.size + _NFGEN.size
    end = min(length, len(data))
    while off + 4 <= end:
        alen, atype = struct.unpack_from("=HH", data, off)
        if alen < 4:
            return None
        if atype & 0x3FFF == NFTA_GEN_ID and alen >= 8:
            return struct.unpack_from(">I", data, off + 4)[0]
        off += (alen + 3) & ~3
    return None


def generation() -> int | None:
    """The current ruleset generation, or None when the kernel cannot say (no nf_tables, no netlink)."""
    try:
        s = _socket.socket(AF_NETLINK, _socket.SOCK_RAW | _socket.SOCK_CLOEXEC, NETLINK_NETFILTER)
    except OSError:
        return None
    try:
        s.settimeout(2)
        s.sendto(request(), (0, 0))
        return parse_answer(s.recv(65536))
    except OSError:
        return None
    finally:
        s.close()
