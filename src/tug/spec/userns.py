"""`--userns`: whether the container gets its own user namespace, and the id mappings it gets (issue 7).

Pure: the subordinate-id files are given as text, the caller's ids as numbers. Modes, as docker/podman spell them:

- "" / "host": no new user namespace (container root is host root, or the rootless user's namespace root).
- "auto" (or "auto:size=N"): container ids 0..N-1 are host ids START..START+N-1, START taken from the /etc/subuid
  and /etc/subgid entry of the range owner (user "tug", as docker's "dockremap"), else DEFAULT_START.
- "keep-id": rootless only (podman's meaning): the container sees the caller's own uid/gid as theirs.
"""

from __future__ import annotations

from tug.errors import Invalid
from tug.records import record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

RANGE_OWNER = "tug"  # the /etc/subuid user whose range `--userns=auto` uses when tug runs as root
DEFAULT_START = 100000
DEFAULT_SIZE = 65536


@record(frozen=True)
class IdMap:
    """One mapping line: container ids [inside, inside+size) are host ids [outside, outside+size)."""

    inside: int
    outside: int
    size: int

    def oci(self) -> dict[str, int]:
        return {"containerID": self.inside, "hostID": self.outside, "size": self.size}

    def text(self) -> str:
        return f"{self.inside} {self.outside} {self.size}"


@record(frozen=True)
class Mappings:
    uids: tuple[IdMap, ...]
    gids: tuple[IdMap, ...]

    def host_uid(self, uid: int) -> int | None:
        return _to_host(self.uids, uid)

    def host_gid(self, gid: int) -> int | None:
        return _to_host(self.gids, gid)

    def document(self) -> dict[str, list[dict[str, int]]]:
        return {"uidMappings": [m.oci() for m in self.uids], "gidMappings": [m.oci() for m in self.gids]}

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> Mappings:
        def one(key: str) -> tuple[IdMap, ...]:
            return tuple(IdMap(int(m["containerID"]), int(m["hostID"]), int(m["size"])) for m in doc.get(key) or ())
        return cls(one("uidMappings"), one("gidMappings"))


def _to_host(maps: tuple[IdMap, ...], cid: int) -> int | None:
    for m in maps:
        if m.inside <= cid < m.inside + m.size:
            return m.outside + cid - m.inside
    return None


@record(frozen=True)
class Mode:
    kind: str  # "host" | "auto" | "keep-id"
    size: int = DEFAULT_SIZE


def parse_mode(value: str | None) -> Mode:
    """The --userns value; Invalid names what is wrong."""
    v = (value or "").strip()
    if v in ("", "host"):
        return Mode("host")
    if v == "keep-id":
        return Mode("keep-id")
    kind, _, rest = v.partition(":")
    if kind != "auto":
        raise Invalid(f"invalid --userns mode {v!r}: expected host, auto, auto:size=N or keep-id")
    size = DEFAULT_SIZE
    for item in filter(None, rest.split(",")):
        key, _, val = item.partition("=")
        if key != "size" or not val.isdigit() or not 0 < int(val) <= 2**31:
            raise Invalid(f"invalid --userns option {item!r}: only size=N (a positive number) is known")
        size = int(val)
    return Mode("auto", size)


def parse_subid(text: str, user: str, uid: int | None = None) -> list[tuple[int, int]]:
    """(start, count) ranges of `user` (or of its uid written as a number) in /etc/subuid or /etc/subgid text."""
    out = []
    names = {user} | ({str(uid)} if uid is not None else set())
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(":")
        if len(parts) != 3 or not parts[1].isdigit() or not parts[2].isdigit():
            raise Invalid(f"subordinate id file line {n} is not NAME:START:COUNT: {line!r}")
        if parts[0] in names and int(parts[2]) > 0:
            out.append((int(parts[1]), int(parts[2])))
    return out


def auto_mappings(size: int, subuids: list[tuple[int, int]], subgids: list[tuple[int, int]]) -> Mappings:
    """`--userns=auto` as root: the first subordinate range of RANGE_OWNER that is large enough, else DEFAULT_START."""
    def start(ranges: list[tuple[int, int]], what: str) -> int:
        for s, count in ranges:
            if count >= size:
                return s
        if ranges:
            raise Invalid(f"--userns=auto: no range of {size} ids for user {RANGE_OWNER!r} in /etc/{what}")
        return DEFAULT_START
    return Mappings((IdMap(0, start(subuids, "subuid"), size),), (IdMap(0, start(subgids, "subgid"), size),))


def rootless_mappings(uid: int, gid: int, subuids: list[tuple[int, int]],
                      subgids: list[tuple[int, int]]) -> Mappings:
    """The rootless user namespace tug runs in: 0 is the caller, 1..N their subordinate ids (as podman maps)."""
    def build(own: int, ranges: list[tuple[int, int]], what: str) -> tuple[IdMap, ...]:
        if not ranges:
            raise Invalid(f"rootless mode: no subordinate ids for this user in /etc/{what}",
                          hint="add a line NAME:START:65536 to /etc/subuid and /etc/subgid (usermod --add-subuids)")
        maps, inside = [IdMap(0, own, 1)], 1
        for s, count in ranges:
            maps.append(IdMap(inside, s, count))
            inside += count
        return tuple(maps)
    return Mappings(build(uid, subuids, "subuid"), build(gid, subgids, "subgid"))


def keep_id_mappings(uid: int, gid: int, outer: Mappings) -> Mappings:
    """`--userns=keep-id` inside the rootless namespace `outer`: the caller (0 there) is `uid` in the container,
    container ids below it are outer ids 1..uid, and the ones above follow."""
    def build(own: int, maps: tuple[IdMap, ...]) -> tuple[IdMap, ...]:
        total = sum(m.size for m in maps)  # ids 0..total-1 exist in the outer namespace
        if own <= 0 or own >= total:
            raise Invalid(f"--userns=keep-id: id {own} is outside the {total} ids of the rootless namespace")
        out = [IdMap(0, 1, own), IdMap(own, 0, 1)]
        if total - own - 1 > 0:
            out.append(IdMap(own + 1, own + 1, total - own - 1))
        return tuple(out)
    return Mappings(build(uid, outer.uids), build(gid, outer.gids))


def apply(linux: dict[str, Any], namespaces: list[dict[str, Any]], maps: Mappings | None) -> None:
    """Add the user namespace and its mappings to the spec's `linux` section (nothing for host mode)."""
    if maps is None:
        return
    namespaces.append({"type": "user"})
    linux.update(maps.document())


def for_foreign_runtime(spec: dict[str, Any]) -> None:
    """runc and crun make their mounts and write sysctls from inside the new user namespace (tug-runtime does both as
    host root first). The network namespace is always the engine's for them (or the host's), which belongs to the
    host's user namespace, so from in there no sysfs can be mounted and no net.* sysctl written: /sys is bound from
    the host read-only instead, and those sysctls are left as the kernel has them."""
    for m in spec.get("mounts") or ():
        if m.get("type") == "sysfs":
            m.update({"type": "bind", "source": "/sys", "options": ["rbind", "nosuid", "noexec", "nodev", "ro"]})
    sysctl = spec["linux"].get("sysctl") or {}
    for key in [k for k in sysctl if k.startswith("net.")]:
        del sysctl[key]
    if "sysctl" in spec["linux"] and not sysctl:
        del spec["linux"]["sysctl"]
