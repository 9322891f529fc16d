"""seccomp filters through libseccomp (ctypes): build a filter from an OCI `linux.seccomp` object and load it.

libseccomp does the architecture handling and BPF generation. Load it last, after no_new_privs, or earlier while the
process still holds CAP_SYS_ADMIN when the spec does not ask for no_new_privs.
"""

from __future__ import annotations

import ctypes
import errno as _errno

from tug.errors import Invalid, SystemFailure, Unavailable

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

ACT_KILL_THREAD = 0x00000000
ACT_KILL_PROCESS = 0x80000000
ACT_TRAP = 0x00030000
ACT_ERRNO = 0x00050000
ACT_TRACE = 0x7FF00000
ACT_LOG = 0x7FFC0000
ACT_ALLOW = 0x7FFF0000

OPS = {"SCMP_CMP_NE": 1, "SCMP_CMP_LT": 2, "SCMP_CMP_LE": 3, "SCMP_CMP_EQ": 4, "SCMP_CMP_GE": 5, "SCMP_CMP_GT": 6,
       "SCMP_CMP_MASKED_EQ": 7}
ARCHES = {"SCMP_ARCH_X86": "x86", "SCMP_ARCH_X86_64": "x86_64", "SCMP_ARCH_X32": "x32", "SCMP_ARCH_ARM": "arm",
          "SCMP_ARCH_AARCH64": "aarch64", "SCMP_ARCH_MIPS": "mips", "SCMP_ARCH_MIPS64": "mips64",
          "SCMP_ARCH_MIPS64N32": "mips64n32", "SCMP_ARCH_MIPSEL": "mipsel", "SCMP_ARCH_MIPSEL64": "mipsel64",
          "SCMP_ARCH_MIPSEL64N32": "mipsel64n32", "SCMP_ARCH_PPC": "ppc", "SCMP_ARCH_PPC64": "ppc64",
          "SCMP_ARCH_PPC64LE": "ppc64le", "SCMP_ARCH_S390": "s390", "SCMP_ARCH_S390X": "s390x",
          "SCMP_ARCH_RISCV64": "riscv64"}
_FLTATR_CTL_NNP = 3


class _ArgCmp(ctypes.Structure):
    _fields_ = [("arg", ctypes.c_uint), ("op", ctypes.c_int), ("datum_a", ctypes.c_uint64),
                ("datum_b", ctypes.c_uint64)]


def action(name: str, errno_ret: int | None = None, default_errno: int = _errno.EPERM) -> int:
    """An OCI action name -> libseccomp's action value."""
    if name == "SCMP_ACT_ERRNO":
        return ACT_ERRNO | ((default_errno if errno_ret is None else errno_ret) & 0xFFFF)
    if name == "SCMP_ACT_TRACE":
        return ACT_TRACE | ((default_errno if errno_ret is None else errno_ret) & 0xFFFF)
    fixed = {"SCMP_ACT_KILL": ACT_KILL_THREAD, "SCMP_ACT_KILL_THREAD": ACT_KILL_THREAD,
             "SCMP_ACT_KILL_PROCESS": ACT_KILL_PROCESS, "SCMP_ACT_TRAP": ACT_TRAP, "SCMP_ACT_ALLOW": ACT_ALLOW,
             "SCMP_ACT_LOG": ACT_LOG}
    if name not in fixed:
        raise Invalid(f"seccomp action {name!r} is not supported", where="linux.seccomp")
    return fixed[name]


class Library:
    """The loaded libseccomp; create it BEFORE pivot_root (dlopen needs the host's filesystem)."""

    def __init__(self) -> None:
        try:
            lib = ctypes.CDLL("libseccomp.so.2", use_errno=True)
        except OSError as e:
            raise Unavailable("libseccomp.so.2 cannot be loaded", hint="install libseccomp2") from e
        lib.seccomp_init.restype = ctypes.c_void_p
        lib.seccomp_init.argtypes = [ctypes.c_uint32]
        lib.seccomp_release.argtypes = [ctypes.c_void_p]
        lib.seccomp_arch_add.argtypes = [ctypes.c_void_p, ctypes.c_uint32]
        lib.seccomp_arch_resolve_name.argtypes = [ctypes.c_char_p]
        lib.seccomp_arch_resolve_name.restype = ctypes.c_uint32
        lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
        lib.seccomp_rule_add_array.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint,
                                               ctypes.POINTER(_ArgCmp)]
        lib.seccomp_attr_set.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_uint32]
        lib.seccomp_load.argtypes = [ctypes.c_void_p]
        lib.seccomp_export_bpf.argtypes = [ctypes.c_void_p, ctypes.c_int]
        self.lib = lib

    def _ok(self, ret: int, what: str) -> None:
        if ret < 0:
            raise SystemFailure(f"seccomp: {what}: {_errno.errorcode.get(-ret, -ret)}", errno=-ret)

    def build(self, profile: dict[str, Any], no_new_privs: bool) -> int:
        """A filter context for `profile`; the caller loads it with `load`."""
        lib = self.lib
        dflt_errno = profile.get("defaultErrnoRet")
        default = action(profile.get("defaultAction", "SCMP_ACT_ALLOW"), dflt_errno)
        ctx = lib.seccomp_init(default)
        if not ctx:
            raise SystemFailure("seccomp_init failed")
        for arch in profile.get("architectures") or ():
            name = ARCHES.get(arch)
            if name is None:
                raise Invalid(f"seccomp architecture {arch!r} is not known", where="linux.seccomp")
            token = lib.seccomp_arch_resolve_name(name.encode())
            ret = lib.seccomp_arch_add(ctx, token) if token else 0
            if ret < 0 and -ret != _errno.EEXIST:
                self._ok(ret, f"add architecture {arch}")
        self._ok(lib.seccomp_attr_set(ctx, _FLTATR_CTL_NNP, int(no_new_privs)), "set no_new_privs attribute")
        for rule in profile.get("syscalls") or ():
            act = action(rule["action"], rule.get("errnoRet"))
            if act == default:
                continue
            for name in rule.get("names") or ():
                nr = lib.seccomp_syscall_resolve_name(name.encode())
                if nr < 0:
                    continue  # not a syscall of this architecture
                self._add(ctx, act, nr, name, rule.get("args") or [])
        return ctx

    def _add(self, ctx: int, act: int, nr: int, name: str, args: list[dict[str, Any]]) -> None:
        cmps = [_ArgCmp(a["index"], OPS[a["op"]], a.get("value", 0), a.get("valueTwo", 0)) for a in args]
        indexes = [a["index"] for a in args]
        groups = [cmps] if len(set(indexes)) == len(indexes) else [[c] for c in cmps]
        for group in groups:
            arr = (_ArgCmp * max(len(group), 1))(*group)
            self._ok(self.lib.seccomp_rule_add_array(ctx, act, nr, len(group), arr), f"rule for {name}")

    def load(self, ctx: int) -> None:
        try:
            self._ok(self.lib.seccomp_load(ctx), "load filter")
        finally:
            self.lib.seccomp_release(ctx)

    def export(self, ctx: int) -> bytes:
        """The filter as raw classic-BPF (struct sock_filter array), as `seccomp_load` would load it; releases ctx."""
        import os

        fd = os.memfd_create("seccomp-bpf", os.MFD_CLOEXEC)
        try:
            self._ok(self.lib.seccomp_export_bpf(ctx, fd), "export filter")
            size = os.lseek(fd, 0, os.SEEK_END)
            return os.pread(fd, size, 0)
        finally:
            os.close(fd)
            self.lib.seccomp_release(ctx)


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 22, 2
_prctl = ctypes.CDLL(None, use_errno=True).prctl  # resolved at import, before the runtime's pivot_root
_prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p, ctypes.c_ulong, ctypes.c_ulong]


def load_bpf(code: bytes) -> None:
    """Install a classic-BPF seccomp filter (what `Library.export` gave) with prctl(PR_SET_SECCOMP): no libseccomp
    needed at load time. Needs no_new_privs or CAP_SYS_ADMIN, like any filter."""
    if not code or len(code) % 8:
        raise SystemFailure(f"seccomp: a BPF program of {len(code)} bytes is not valid")
    buf = ctypes.create_string_buffer(code, len(code))
    prog = _SockFprog(len(code) // 8, ctypes.addressof(buf))
    if _prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(prog), 0, 0) != 0:
        err = ctypes.get_errno()
        raise SystemFailure(f"seccomp: load filter: {_errno.errorcode.get(err, err)}", errno=err)
