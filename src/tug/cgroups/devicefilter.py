"""OCI device rules -> an eBPF program for cgroup v2 (BPF_PROG_TYPE_CGROUP_DEVICE). Pure: returns bytecode.

The kernel runs the program on every device open/mknod in the cgroup with a context of three u32 words:
`access_type` (access bits << 16 | device type), `major`, `minor`. The program returns 1 to allow, 0 to deny.

Rules are checked last to first (a later OCI rule overrides earlier ones, as successive writes to v1's
devices.allow/deny do); the first rule that matches decides, and no match denies. A deny rule matches when it
covers any of the requested access bits, an allow rule when it covers all of them.
"""

from __future__ import annotations

import struct

from tug.errors import Invalid

# device types and access bits of struct bpf_cgroup_dev_ctx
DEV_BLOCK, DEV_CHAR = 1, 2
ACC_MKNOD, ACC_READ, ACC_WRITE = 1, 2, 4
_TYPES = {"b": DEV_BLOCK, "c": DEV_CHAR}
_ACCESS = {"m": ACC_MKNOD, "r": ACC_READ, "w": ACC_WRITE}

# opcodes (class | op | source)
_LDXW = 0x61        # BPF_LDX | BPF_MEM | BPF_W
_MOV64_X = 0xBF     # BPF_ALU64 | BPF_MOV | BPF_X
_MOV64_K = 0xB7     # BPF_ALU64 | BPF_MOV | BPF_K
_AND64_K = 0x57     # BPF_ALU64 | BPF_AND | BPF_K
_RSH64_K = 0x77     # BPF_ALU64 | BPF_RSH | BPF_K
_JNE_K = 0x55       # BPF_JMP | BPF_JNE | BPF_K
_JEQ_K = 0x15       # BPF_JMP | BPF_JEQ | BPF_K
_EXIT = 0x95        # BPF_JMP | BPF_EXIT

R0, R1, R2, R3, R4, R5 = range(6)
_NEXT = object()    # placeholder jump target: the start of the next rule's block


def insn(code: int, dst: int = 0, src: int = 0, off: int = 0, imm: int = 0) -> bytes:
    """One struct bpf_insn: u8 code, u8 dst:4|src:4, s16 off, s32 imm (little-endian hosts)."""
    return struct.pack("<BBhi", code, (src << 4) | dst, off, imm)


def _rule_block(rule: dict) -> list[tuple[int, int, int, object, int]]:
    kind = rule.get("type") or "a"
    access = rule.get("access") or "rwm"
    if kind not in ("a", "b", "c") or set(access) - set("rwm"):
        raise Invalid(f"device rule {rule!r} is not valid", where="linux.resources.devices")
    bits = sum(_ACCESS[c] for c in set(access))
    block: list[tuple[int, int, int, object, int]] = []
    if kind != "a":
        block.append((_JNE_K, R2, 0, _NEXT, _TYPES[kind]))
    if bits != 7:
        block.append((_MOV64_X, R0, R3, 0, 0))
        if rule.get("allow"):
            block.append((_AND64_K, R0, 0, 0, ~bits & 7))   # asks for a bit the rule does not grant: not ours
            block.append((_JNE_K, R0, 0, _NEXT, 0))
        else:
            block.append((_AND64_K, R0, 0, 0, bits))        # asks for none of the denied bits: not ours
            block.append((_JEQ_K, R0, 0, _NEXT, 0))
    for reg, key in ((R4, "major"), (R5, "minor")):
        value = rule.get(key)
        if value is not None and value != -1:
            block.append((_JNE_K, reg, 0, _NEXT, int(value)))
    block.append((_MOV64_K, R0, 0, 0, 1 if rule.get("allow") else 0))
    block.append((_EXIT, 0, 0, 0, 0))
    return block


def program(rules: list[dict]) -> bytes:
    """The bytecode for `rules` (OCI linux.resources.devices, in order)."""
    out = [
        insn(_LDXW, R2, R1, 0), insn(_AND64_K, R2, imm=0xFFFF),        # r2 = type
        insn(_LDXW, R3, R1, 0), insn(_RSH64_K, R3, imm=16),            # r3 = access bits
        insn(_LDXW, R4, R1, 4),                                        # r4 = major
        insn(_LDXW, R5, R1, 8),                                        # r5 = minor
    ]
    for rule in reversed(rules):
        block = _rule_block(rule)
        for i, (code, dst, src, off, imm) in enumerate(block):
            jump = len(block) - i - 1 if off is _NEXT else off
            out.append(insn(code, dst, src, int(jump), imm))  # type: ignore[call-overload]
        if len(block) == 2:  # matches everything: earlier rules are unreachable (the verifier refuses dead code)
            return b"".join(out)
    out += [insn(_MOV64_K, R0, imm=0), insn(_EXIT)]
    return b"".join(out)


def evaluate(rules: list[dict], kind: str, major: int, minor: int, access: str) -> bool:
    """What `program(rules)` decides for one request, computed directly (the model the tests compare against)."""
    want = sum(_ACCESS[c] for c in set(access))
    for rule in reversed(rules):
        rkind = rule.get("type") or "a"
        bits = sum(_ACCESS[c] for c in set(rule.get("access") or "rwm"))
        if rkind != "a" and rkind != kind:
            continue
        if rule.get("allow") and want & ~bits:
            continue
        if not rule.get("allow") and not want & bits:
            continue
        if rule.get("major") not in (None, -1) and rule["major"] != major:
            continue
        if rule.get("minor") not in (None, -1) and rule["minor"] != minor:
            continue
        return bool(rule.get("allow"))
    return False
