"""linux.seccomp from a Docker-format profile: Docker's default (seccomp_default.json) or one the user gave.

`seccomp_default.json` is moby's profile as data (github.com/moby/profiles, seccomp/default.json v0.2.3, Apache-2.0,
vendored in moby/moby). A Docker profile differs from OCI's linux.seccomp by `archMap` (architectures to use for
each native one) and by per-rule `includes`/`excludes` on capabilities, architectures and kernel versions; this
module resolves those against the container's bounding capabilities and the host, as docker does, and returns
plain OCI rules. The default denies with EPERM, answers clone3 with ENOSYS unless CAP_SYS_ADMIN (so libcs fall
back to clone), and allows clone only without namespace flags.
"""

from __future__ import annotations

import json
import os
import re
from functools import lru_cache

from tug.errors import Invalid

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

# GOARCH-style native name -> libseccomp arch
NATIVE_TO_SECCOMP = {
    "x86": "SCMP_ARCH_X86", "386": "SCMP_ARCH_X86", "amd64": "SCMP_ARCH_X86_64", "arm": "SCMP_ARCH_ARM",
    "arm64": "SCMP_ARCH_AARCH64", "loong64": "SCMP_ARCH_LOONGARCH64", "mips64": "SCMP_ARCH_MIPS64",
    "mips64n32": "SCMP_ARCH_MIPS64N32", "mipsel64": "SCMP_ARCH_MIPSEL64", "mipsel64n32": "SCMP_ARCH_MIPSEL64N32",
    "mipsle": "SCMP_ARCH_MIPSEL", "ppc": "SCMP_ARCH_PPC", "ppc64": "SCMP_ARCH_PPC64", "ppc64le": "SCMP_ARCH_PPC64LE",
    "riscv64": "SCMP_ARCH_RISCV64", "s390": "SCMP_ARCH_S390", "s390x": "SCMP_ARCH_S390X",
}
# names used in a profile's includes/excludes "arches" (libseccomp's), from GOARCH
GO_TO_NATIVE = {"386": "x86", "loong64": "loongarch64", "mips64p32": "mips64n32", "mips64le": "mipsel64"}

_OCI_RULE_KEYS = ("names", "action", "errnoRet", "args")


@lru_cache(maxsize=1)
def _default_text() -> str:
    # a plain open: importlib.resources costs milliseconds of imports on every `tug run`
    with open(os.path.join(os.path.dirname(__file__), "seccomp_default.json"), encoding="utf-8") as f:
        return f.read()


def default_profile() -> dict[str, Any]:
    """A fresh copy of Docker's default profile (Docker format, not yet resolved)."""
    return json.loads(_default_text())


def _kernel_at_least(release: str, wanted: str) -> bool:
    have = re.match(r"^(\d+)\.(\d+)", release or "")
    want = re.match(r"^(\d+)\.(\d+)", wanted)
    if not want:
        raise Invalid(f"seccomp profile: invalid minKernel {wanted!r}")
    if not have:
        return False  # unknown kernel: leave version-gated rules out
    return (int(have[1]), int(have[2])) >= (int(want[1]), int(want[2]))


def _arg(a: dict[str, Any]) -> dict[str, Any]:
    out = {"index": int(a["index"]), "value": int(a.get("value", 0)), "op": a["op"]}
    out["valueTwo"] = int(a.get("valueTwo", 0))
    return out


def resolve_profile(
    profile: dict[str, Any], bounding: list[str], arch: str, kernel_release: str
) -> dict[str, Any] | None:
    """Turn a Docker-format profile into linux.seccomp for this container; None when the profile disables seccomp."""
    if not isinstance(profile, dict):
        raise Invalid("seccomp profile is not a JSON object")
    syscalls = profile.get("syscalls") or []
    if not profile.get("defaultAction") and not syscalls:
        return None
    if profile.get("architectures") and profile.get("archMap"):
        raise Invalid("both 'architectures' and 'archMap' are specified in the seccomp profile, use either one")
    native = GO_TO_NATIVE.get(arch, arch)
    out: dict[str, Any] = {"defaultAction": profile.get("defaultAction") or "SCMP_ACT_ALLOW"}
    for key in ("defaultErrnoRet", "listenerPath", "listenerMetadata", "flags"):
        if profile.get(key) not in (None, "", []):
            out[key] = profile[key]
    arches = list(profile.get("architectures") or [])
    wanted = NATIVE_TO_SECCOMP.get(arch)
    for entry in profile.get("archMap") or []:
        if entry.get("architecture") == wanted:
            arches = [wanted, *(entry.get("subArchitectures") or [])]
            break
    if arches:
        out["architectures"] = arches

    rules = []
    for call in syscalls:
        names = call.get("names") or []
        if call.get("name"):
            if names:
                raise Invalid("both 'name' and 'names' are specified in the seccomp profile, use either one")
            names = [call["name"]]
        if not _applies(call, bounding, native, kernel_release):
            continue
        rule: dict[str, Any] = {"names": list(names), "action": call["action"]}
        if call.get("errnoRet") is not None:
            rule["errnoRet"] = int(call["errnoRet"])
        if call.get("args"):
            rule["args"] = [_arg(a) for a in call["args"]]
        rules.append(rule)
    if rules:
        out["syscalls"] = rules
    return out


def _applies(call: dict[str, Any], bounding: list[str], native: str, kernel_release: str) -> bool:
    exc = call.get("excludes") or {}
    if native in (exc.get("arches") or []):
        return False
    if any(c in bounding for c in exc.get("caps") or []):
        return False
    if exc.get("minKernel") and _kernel_at_least(kernel_release, exc["minKernel"]):
        return False
    inc = call.get("includes") or {}
    if inc.get("arches") and native not in inc["arches"]:
        return False
    if any(c not in bounding for c in inc.get("caps") or []):
        return False
    return not (inc.get("minKernel") and not _kernel_at_least(kernel_release, inc["minKernel"]))


def seccomp_for(
    choice: str, file_profile: dict[str, Any] | None, bounding: list[str], arch: str, kernel_release: str
) -> dict[str, Any] | None:
    """--security-opt seccomp=...: "default" (Docker's profile), "unconfined" (none) or a file the engine loaded."""
    if choice == "unconfined":
        return None
    if choice == "default" or choice == "builtin":
        return resolve_profile(default_profile(), bounding, arch, kernel_release)
    if file_profile is None:
        raise Invalid(f"seccomp profile {choice}: the engine did not load it")
    return resolve_profile(file_profile, bounding, arch, kernel_release)


def allowed(seccomp: dict[str, Any] | None, name: str, arg0: int | None = None) -> bool:
    """Whether a syscall (with first argument arg0, when rules test it) would be allowed: for tests and tools.

    Follows libseccomp's semantics closely enough for Docker-style profiles: the first rule naming the syscall whose
    arguments match decides; otherwise the default action does.
    """
    if seccomp is None:
        return True
    for rule in seccomp.get("syscalls") or []:
        if name not in rule["names"]:
            continue
        if not all(_arg_matches(a, arg0) for a in rule.get("args") or []):
            continue
        return rule["action"] in ("SCMP_ACT_ALLOW", "SCMP_ACT_LOG")
    return seccomp["defaultAction"] in ("SCMP_ACT_ALLOW", "SCMP_ACT_LOG")


def _arg_matches(a: dict[str, Any], arg0: int | None) -> bool:
    if a["index"] != 0:
        return True
    if arg0 is None:
        return False
    v, op = a["value"], a["op"]
    return {
        "SCMP_CMP_EQ": arg0 == v, "SCMP_CMP_NE": arg0 != v, "SCMP_CMP_LT": arg0 < v, "SCMP_CMP_LE": arg0 <= v,
        "SCMP_CMP_GT": arg0 > v, "SCMP_CMP_GE": arg0 >= v, "SCMP_CMP_MASKED_EQ": (arg0 & v) == a.get("valueTwo", 0),
    }[op]
