"""The bpf(2) calls cgroup v2's device controller needs: load a BPF_PROG_TYPE_CGROUP_DEVICE program, attach it.

The program's bytecode is made elsewhere (tug.cgroups.devicefilter); this module only hands it to the kernel.
"""

from __future__ import annotations

import ctypes
import os

from tug.errors import SystemFailure
from tug.sys.libc import libc

SYS_BPF = 321 if os.uname().machine == "x86_64" else 280
BPF_PROG_LOAD, BPF_PROG_ATTACH = 5, 8
BPF_PROG_TYPE_CGROUP_DEVICE = 15
BPF_CGROUP_DEVICE = 6          # attach type
LOG_SIZE = 1 << 16


class _ProgLoad(ctypes.Structure):
    _fields_ = [("prog_type", ctypes.c_uint32), ("insn_cnt", ctypes.c_uint32), ("insns", ctypes.c_uint64),
                ("license", ctypes.c_uint64), ("log_level", ctypes.c_uint32), ("log_size", ctypes.c_uint32),
                ("log_buf", ctypes.c_uint64), ("kern_version", ctypes.c_uint32), ("prog_flags", ctypes.c_uint32),
                ("prog_name", ctypes.c_char * 16), ("pad", ctypes.c_uint8 * 64)]


class _Attach(ctypes.Structure):
    _fields_ = [("target_fd", ctypes.c_uint32), ("attach_bpf_fd", ctypes.c_uint32), ("attach_type", ctypes.c_uint32),
                ("attach_flags", ctypes.c_uint32), ("replace_bpf_fd", ctypes.c_uint32), ("pad", ctypes.c_uint8 * 44)]


def _bpf(cmd: int, attr: ctypes.Structure) -> int:
    fn = libc.syscall
    fn.restype = ctypes.c_long
    return int(fn(ctypes.c_long(SYS_BPF), ctypes.c_int(cmd), ctypes.byref(attr), ctypes.c_uint(ctypes.sizeof(attr))))


def load_device_program(code: bytes, where: str) -> int:
    """Load cgroup-device bytecode; returns the program fd. The verifier's log is in the error on refusal."""
    insns = ctypes.create_string_buffer(code, len(code))
    lic = ctypes.create_string_buffer(b"Apache-2.0")
    log = ctypes.create_string_buffer(LOG_SIZE)
    attr = _ProgLoad(prog_type=BPF_PROG_TYPE_CGROUP_DEVICE, insn_cnt=len(code) // 8,
                     insns=ctypes.addressof(insns), license=ctypes.addressof(lic), log_level=1, log_size=LOG_SIZE,
                     log_buf=ctypes.addressof(log), prog_name=b"tug_devices")
    fd = _bpf(BPF_PROG_LOAD, attr)
    if fd < 0:
        err = ctypes.get_errno()
        detail = [log.value.decode(errors="replace").strip().replace("\n", " | ")]
        raise SystemFailure(f"loading the device filter: {os.strerror(err)} {detail[0]}".strip(), errno=err,
                            where=where)
    return fd


def attach_device_program(cgroup_dir: str, prog_fd: int) -> None:
    """Attach to the cgroup, replacing a program attached there before (no flags: one program per cgroup)."""
    cg = os.open(cgroup_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        attr = _Attach(target_fd=cg, attach_bpf_fd=prog_fd, attach_type=BPF_CGROUP_DEVICE, attach_flags=0)
        if _bpf(BPF_PROG_ATTACH, attr) < 0:
            err = ctypes.get_errno()
            raise SystemFailure(f"attaching the device filter: {os.strerror(err)}", errno=err, where=cgroup_dir)
    finally:
        os.close(cg)
