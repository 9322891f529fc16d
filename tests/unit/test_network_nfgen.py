"""tug.sys.nfgen: the NFT_MSG_GETGEN request and the parsing of its answer (pure; the kernel test exercises the
real socket through tug.engine.networks)."""

from __future__ import annotations

import struct

from tug.sys import nfgen


def _answer(kind: int, attrs: bytes) -> bytes:
    body = struct.pack("=BBH", 0, 0, 0) + attrs
    return struct.pack("=IHHII", 16 + len(body), kind, 0, 1, 0) + body


def _attr(kind: int, payload: bytes) -> bytes:
    raw = struct.pack("=HH", 4 + len(payload), kind) + payload
    return raw + b"\0" * (-len(raw) % 4)


NEWGEN = 10 << 8 | 15


def test_request_is_a_getgen_of_the_nftables_subsystem():
    req = nfgen.request(seq=7)
    length, kind, flags, seq, pid = struct.unpack_from("=IHHII", req)
    assert (length, kind, flags, seq, pid) == (len(req), 10 << 8 | 16, 1, 7, 0)
    assert req[16:] == b"\0\0\0\0"


def test_generation_id_is_read_big_endian_after_other_attributes():
    attrs = _attr(3, b"nft\0") + _attr(2, struct.pack(">I", 99)) + _attr(1, struct.pack(">I", 0x01020304))
    assert nfgen.parse_answer(_answer(NEWGEN, attrs)) == 0x01020304


def test_errors_and_short_or_foreign_answers_give_none():
    assert nfgen.parse_answer(_answer(2, struct.pack("=i", -1))) is None  # NLMSG_ERROR
    assert nfgen.parse_answer(_answer(NEWGEN, _attr(3, b"x\0"))) is None  # no id
    assert nfgen.parse_answer(b"\0" * 8) is None
    assert nfgen.parse_answer(_answer(NEWGEN, struct.pack("=HH", 2, 1))) is None  # bad attribute length
