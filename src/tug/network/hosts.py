"""Name resolution between containers through their /etc/hosts files.

Each network a container is on owns one section of that container's hosts file, between `# tug network NAME` and
`# end tug network NAME` lines; the engine rewrites the sections of every member whenever one joins or leaves (under
the network's address-table lock). Files are rewritten in place, never replaced: the container sees its hosts file
through a bind mount of that inode.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any


def _begin(net: str) -> str:
    return f"# tug network {net}"


def _end(net: str) -> str:
    return f"# end tug network {net}"


def entry_line(ip: str, names: Iterable[str]) -> str:
    seen: list[str] = []
    for n in names:
        if n and n not in seen:
            seen.append(n)
    return f"{ip}\t{' '.join(seen)}"


def section_lines(me: str, members: dict[str, dict[str, Any]], with_peers: bool) -> list[str]:
    """Lines for owner `me` from the members (ip -> {"owner", "hostname", "name", "aliases"}): its own address
    first, then (on user networks) every other member by name, aliases and short id."""
    lines = []
    for ip, m in members.items():
        if m.get("owner") == me:
            lines.append(entry_line(ip, [m.get("hostname", ""), m.get("name", ""), *m.get("aliases", [])]))
    if with_peers:
        for ip, m in sorted(members.items()):
            if m.get("owner") != me:
                lines.append(entry_line(ip, [m.get("name", ""), *m.get("aliases", []), str(m.get("owner", ""))[:12]]))
    return lines


def replace_section(text: str, net: str, lines: list[str] | None) -> str:
    """`text` with the section of `net` replaced by `lines` (removed when None), appended when missing."""
    out: list[str] = []
    skipping = False
    for line in text.splitlines():
        if line == _begin(net):
            skipping = True
            continue
        if skipping:
            if line == _end(net):
                skipping = False
            continue
        out.append(line)
    if lines is not None:
        out += [_begin(net), *lines, _end(net)]
    return "\n".join(out) + "\n" if out else ""


def rewrite_in_place(path: str, net: str, lines: list[str] | None) -> bool:
    """Update one section of the hosts file at `path` without changing its inode; False if the file is gone."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CLOEXEC | os.O_NOFOLLOW)
    except OSError:
        return False
    with os.fdopen(fd, "r+") as f:
        new = replace_section(f.read(), net, lines)
        f.seek(0)
        f.write(new)
        f.truncate()
    return True
