"""Size strings as docker parses them: "32m", "1g", "512k", "100b", "1.5GiB" (binary units, case-insensitive)."""

from __future__ import annotations

import re

from tug.errors import Invalid

_SIZE = re.compile(r"^(\d+(?:\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$")
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}


def ram_in_bytes(text: str, flag: str = "size") -> int:
    """Parse a RAM size: a number and an optional binary unit suffix (k, m, g, t, p, each optionally + "b"/"ib")."""
    m = _SIZE.match(text.strip())
    if not m:
        raise Invalid(f"invalid argument {text!r} for {flag}: invalid size: {text!r}")
    number = m.group(1)
    if number.count(".") > 1:
        raise Invalid(f"invalid argument {text!r} for {flag}: invalid size: {text!r}")
    return int(float(number) * _UNITS[(m.group(2) or "").lower()])


def swap_in_bytes(text: str, flag: str = "--memory-swap") -> int:
    """--memory-swap: a size, or -1 for unlimited."""
    return -1 if text.strip() == "-1" else ram_in_bytes(text, flag)


def tmpfs_size_option(size: int) -> str:
    """A byte count written with the largest unit that divides it, as the tmpfs `size=` option."""
    for suffix, div in (("g", 1 << 30), ("m", 1 << 20), ("k", 1 << 10)):
        if size % div == 0:
            return f"{size // div}{suffix}"
    return str(size)
