"""The cgroup v2 device filter bytecode, run by a small interpreter of the instructions it uses and compared with
the rule semantics (`evaluate`) over many requests."""

from __future__ import annotations

import itertools
import struct

import pytest

from tug.cgroups.devicefilter import evaluate, program
from tug.errors import Invalid

MASK = (1 << 64) - 1


def run(code: bytes, kind: str, major: int, minor: int, access: str) -> int:
    """Interpret the subset of eBPF the filter uses against one bpf_cgroup_dev_ctx."""
    acc = sum({"m": 1, "r": 2, "w": 4}[c] for c in access)
    ctx = struct.pack("<III", (acc << 16) | {"b": 1, "c": 2}[kind], major, minor)
    regs = [0] * 11
    insns = [struct.unpack("<BBhi", code[i:i + 8]) for i in range(0, len(code), 8)]
    pc, steps = 0, 0
    while True:
        steps += 1
        assert steps < 10000 and 0 <= pc < len(insns), "ran off the program"
        op, regbyte, off, imm = insns[pc]
        dst, src = regbyte & 0xF, regbyte >> 4
        k = imm & MASK
        pc += 1
        if op == 0x61:
            assert src == 1 and off in (0, 4, 8)
            regs[dst] = struct.unpack_from("<I", ctx, off)[0]
        elif op == 0xBF:
            regs[dst] = regs[src]
        elif op == 0xB7:
            regs[dst] = k
        elif op == 0x57:
            regs[dst] &= k
        elif op == 0x77:
            regs[dst] >>= imm
        elif op == 0x55:
            if regs[dst] != k:
                pc += off
        elif op == 0x15:
            if regs[dst] == k:
                pc += off
        elif op == 0x95:
            return regs[0]
        else:
            raise AssertionError(f"unexpected opcode {op:#x}")


DOCKER_LIKE = [
    {"allow": False, "access": "rwm"},
    {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rwm"},    # null
    {"allow": True, "type": "c", "major": 1, "minor": 5, "access": "rwm"},    # zero
    {"allow": True, "type": "c", "major": 136, "access": "rwm"},              # pts/*
    {"allow": True, "type": "c", "major": 5, "minor": 1, "access": "rw"},     # console, no mknod
    {"allow": False, "type": "c", "major": 1, "minor": 5, "access": "w"},     # then zero loses write
    {"allow": True, "type": "b", "access": "m"},                              # mknod any block device
]

RULESETS = [
    DOCKER_LIKE,
    [],                                                      # nothing allowed
    [{"allow": True, "access": "rwm"}],                      # privileged
    [{"allow": True, "access": "rwm"}, {"allow": False, "type": "b", "major": 8, "access": "rw"}],
    [{"allow": True, "type": "c", "access": "r"}, {"allow": False, "type": "c", "major": 1, "minor": 3}],
]


@pytest.mark.parametrize("rules", RULESETS, ids=["docker-like", "empty", "all", "all-but-sd", "char-read-only"])
def test_program_agrees_with_the_rules(rules):
    code = program(rules)
    assert len(code) % 8 == 0
    for kind, major, minor, access in itertools.product("bc", (1, 5, 8, 136), (1, 3, 5), ("r", "w", "rw", "m", "rwm")):
        expected = evaluate(rules, kind, major, minor, access)
        assert run(code, kind, major, minor, access) == int(expected), (kind, major, minor, access)


def test_semantics_of_the_docker_like_rules():
    assert evaluate(DOCKER_LIKE, "c", 1, 3, "rw")
    assert not evaluate(DOCKER_LIKE, "c", 1, 5, "w")          # a later deny of one bit wins
    assert evaluate(DOCKER_LIKE, "c", 1, 5, "r")
    assert not evaluate(DOCKER_LIKE, "c", 5, 1, "m")
    assert not evaluate(DOCKER_LIKE, "b", 8, 0, "r")
    assert evaluate(DOCKER_LIKE, "b", 8, 0, "m")


def test_bad_rules_are_refused():
    with pytest.raises(Invalid):
        program([{"allow": True, "type": "x"}])
    with pytest.raises(Invalid):
        program([{"allow": True, "access": "rx"}])
