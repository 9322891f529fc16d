"""Which cgroup hierarchies are mounted where, and which cgroup this process is in.

Pure parsers of `/proc/self/mountinfo` and `/proc/self/cgroup` text, so detection is testable with sample texts.
"""

from __future__ import annotations

# v1 controllers the kernel knows; anything else in a cgroup mount's super options is a mount option
V1_CONTROLLERS = frozenset(
    {"cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "net_cls", "net_prio", "blkio", "perf_event",
     "hugetlb", "pids", "rdma", "misc"}
)


class Hierarchy:
    """One mounted cgroup hierarchy (a plain immutable value; no dataclass on the runtime's import path).

    `controllers` is the v1 controller set ("name=systemd" for a named one), empty for cgroup2. `root` is the cgroup
    path the mount shows at its mount point (not "/" inside a cgroup namespace or a bind mount of a subtree).
    """

    __slots__ = ("mount_point", "root", "version", "controllers")

    def __init__(self, mount_point: str, root: str, version: int, controllers: frozenset[str] = frozenset()) -> None:
        self.mount_point = mount_point
        self.root = root
        self.version = version
        self.controllers = controllers

    def _tuple(self) -> tuple:
        return (self.mount_point, self.root, self.version, self.controllers)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Hierarchy) and self._tuple() == other._tuple()

    def __hash__(self) -> int:
        return hash(self._tuple())

    def __repr__(self) -> str:
        return f"Hierarchy{self._tuple()!r}"

    @property
    def key(self) -> str:
        """How /proc/self/cgroup names this hierarchy: "cpu,cpuacct", "name=systemd", or "" for cgroup2."""
        return ",".join(sorted(self.controllers)) if self.version == 1 else ""


def _unescape(field: str) -> str:
    # mountinfo escapes space, tab, newline and backslash as octal
    for code, char in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
        field = field.replace(code, char)
    return field


def parse_mountinfo(text: str) -> list[Hierarchy]:
    """Every cgroup and cgroup2 mount, first mount of each hierarchy only (later ones are bind mounts)."""
    out: list[Hierarchy] = []
    seen: set[tuple[int, frozenset[str]]] = set()
    for line in text.splitlines():
        left, sep, right = line.partition(" - ")
        if not sep:
            continue
        fields, rest = left.split(), right.split()
        if len(fields) < 5 or len(rest) < 1 or rest[0] not in ("cgroup", "cgroup2"):
            continue
        version = 2 if rest[0] == "cgroup2" else 1
        controllers: frozenset[str] = frozenset()
        if version == 1:
            opts = rest[2].split(",") if len(rest) > 2 else []
            controllers = frozenset(o for o in opts if o in V1_CONTROLLERS or o.startswith("name="))
            if not controllers:
                continue
        ident = (version, controllers)
        if ident in seen:
            continue
        seen.add(ident)
        out.append(Hierarchy(_unescape(fields[4]), _unescape(fields[3]), version, controllers))
    return out


def parse_proc_cgroup(text: str) -> dict[str, str]:
    """/proc/PID/cgroup -> {hierarchy key: cgroup path}; the cgroup2 entry has key ""."""
    own: dict[str, str] = {}
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, ctrls, path = parts
        key = ",".join(sorted(ctrls.split(","))) if ctrls else ""
        own[key] = path
    return own


def own_path(own: dict[str, str], hierarchy: Hierarchy) -> str:
    """This process's cgroup in `hierarchy`, as a path below the hierarchy's mount point."""
    path = own.get(hierarchy.key)
    if path is None and hierarchy.version == 1:  # a kernel may list "cpuacct,cpu" in either order: match by overlap
        for key, p in own.items():
            if key and set(key.split(",")) & hierarchy.controllers:
                path = p
                break
    if path is None:
        return "/"
    root = hierarchy.root.rstrip("/")
    if root and (path == root or path.startswith(root + "/")):
        path = path[len(root):] or "/"
    return path
