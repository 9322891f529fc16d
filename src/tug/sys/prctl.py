"""prctl(2) wrappers the runtime needs."""

from __future__ import annotations

import ctypes

from tug.sys.libc import check, libc

PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_KEEPCAPS = 8
PR_CAPBSET_READ = 23
PR_CAPBSET_DROP = 24
PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_RAISE = 2
PR_CAP_AMBIENT_CLEAR_ALL = 4

libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]


def prctl(option: int, a2: int = 0, a3: int = 0, a4: int = 0, a5: int = 0, what: str = "prctl") -> int:
    return check(libc.prctl(option, a2, a3, a4, a5), what)


def set_dumpable(on: bool) -> None:
    prctl(PR_SET_DUMPABLE, int(on), what="prctl(PR_SET_DUMPABLE)")


def set_keepcaps(on: bool) -> None:
    prctl(PR_SET_KEEPCAPS, int(on), what="prctl(PR_SET_KEEPCAPS)")


def set_no_new_privs() -> None:
    prctl(PR_SET_NO_NEW_PRIVS, 1, what="prctl(PR_SET_NO_NEW_PRIVS)")


def set_child_subreaper(on: bool = True) -> None:
    prctl(PR_SET_CHILD_SUBREAPER, int(on), what="prctl(PR_SET_CHILD_SUBREAPER)")


def set_pdeathsig(sig: int) -> None:
    prctl(PR_SET_PDEATHSIG, sig, what="prctl(PR_SET_PDEATHSIG)")
