"""Signal names and numbers as `kill` accepts them: KILL, SIGKILL, 9, sigterm, RTMIN+3."""

from __future__ import annotations

from tug.errors import Invalid

NUMBERS = {
    "HUP": 1, "INT": 2, "QUIT": 3, "ILL": 4, "TRAP": 5, "ABRT": 6, "IOT": 6, "BUS": 7, "FPE": 8, "KILL": 9,
    "USR1": 10, "SEGV": 11, "USR2": 12, "PIPE": 13, "ALRM": 14, "TERM": 15, "STKFLT": 16, "CHLD": 17, "CONT": 18,
    "STOP": 19, "TSTP": 20, "TTIN": 21, "TTOU": 22, "URG": 23, "XCPU": 24, "XFSZ": 25, "VTALRM": 26, "PROF": 27,
    "WINCH": 28, "IO": 29, "POLL": 29, "PWR": 30, "SYS": 31,
}
SIGRTMIN, SIGRTMAX = 34, 64


def parse(text: str) -> int:
    """A signal name (with or without SIG, any case) or number -> its number; Invalid otherwise."""
    t = text.strip()
    if t.isdigit():
        n = int(t)
        if 0 < n <= SIGRTMAX:
            return n
        raise Invalid(f"invalid signal number: {text}")
    name = t.upper()
    if name.startswith("SIG"):
        name = name[3:]
    if name in NUMBERS:
        return NUMBERS[name]
    for base, anchor in (("RTMIN", SIGRTMIN), ("RTMAX", SIGRTMAX)):
        if name == base:
            return anchor
        if name.startswith(base) and name[len(base)] in "+-" and name[len(base) + 1:].isdigit():
            off = int(name[len(base) + 1:]) * (1 if name[len(base)] == "+" else -1)
            n = anchor + off
            if SIGRTMIN <= n <= SIGRTMAX:
                return n
    raise Invalid(f"unknown signal {text!r}")
