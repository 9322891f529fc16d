"""process.user: `-u` or the image's User resolved through the image's /etc/passwd and /etc/group, as docker does.

Forms: "" (root), "uid", "name", "uid:gid", "name:group", "uid:group", "name:gid". A numeric user without a passwd
entry is fine (gid 0, HOME "/"); a name that is not in passwd is an error. additionalGids is the primary gid, then
the groups that list the user by name (only when no group was given explicitly), then --group-add.
"""

from __future__ import annotations

from tug.errors import Invalid
from tug.records import field, record

MAX_ID = 2**31 - 1


@record(frozen=True)
class PasswdEntry:
    name: str
    uid: int
    gid: int
    home: str


@record(frozen=True)
class GroupEntry:
    name: str
    gid: int
    members: tuple[str, ...]


@record(frozen=True)
class ResolvedUser:
    uid: int
    gid: int
    additional_gids: list[int] = field(default_factory=list)
    home: str = "/"
    name: str = ""


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        return 0


def parse_passwd(text: str | None) -> list[PasswdEntry]:
    out = []
    for line in (text or "").splitlines():
        line = line.strip()
        if not line:
            continue
        p = line.split(":") + [""] * 7
        out.append(PasswdEntry(p[0], _int(p[2]), _int(p[3]), p[5]))
    return out


def parse_group(text: str | None) -> list[GroupEntry]:
    out = []
    for line in (text or "").splitlines():
        line = line.strip()
        if not line:
            continue
        p = line.split(":") + [""] * 4
        members = tuple(m for m in p[3].split(",") if m)
        out.append(GroupEntry(p[0], _int(p[2]), members))
    return out


def _numeric(text: str) -> int | None:
    if text and text.isdigit():
        n = int(text)
        if n > MAX_ID:
            raise Invalid(f"user or group id {text} is out of range (0-{MAX_ID})")
        return n
    return None


def resolve_user(spec: str, passwd: str | None, group: str | None, group_add: list[str] | None = None) -> ResolvedUser:
    user_arg, _, rest = spec.partition(":")
    group_arg = rest.split(":", 1)[0]
    uid_num = _numeric(user_arg)
    gid_num = _numeric(group_arg)

    users = parse_passwd(passwd)
    if user_arg == "":
        match = next((u for u in users if u.uid == 0), None)
    elif uid_num is not None:
        match = next((u for u in users if u.uid == uid_num), None)
    else:
        match = next((u for u in users if u.name == user_arg), None)

    uid, gid, home, name = 0, 0, "/", ""
    if match is not None:
        uid, gid, home, name = match.uid, match.gid, match.home or "/", match.name
    elif user_arg != "":
        if uid_num is None:
            raise Invalid(f"unable to find user {user_arg}: no matching entries in passwd file")
        uid = uid_num

    groups = parse_group(group)
    sgids: list[int] = []
    if group_arg:
        g = next((g for g in groups if (g.gid == gid_num if gid_num is not None else g.name == group_arg)), None)
        if g is not None:
            gid = g.gid
        elif gid_num is not None:
            gid = gid_num
        else:
            raise Invalid(f"unable to find group {group_arg}: no matching entries in group file")
    elif name:
        sgids = [g.gid for g in groups if name in g.members]

    added = additional_groups(group_add or [], groups)
    return ResolvedUser(uid=uid, gid=gid, additional_gids=_unique([gid, *sgids, *added]), home=home, name=name)


def additional_groups(names: list[str], groups: list[GroupEntry]) -> list[int]:
    """--group-add: group names looked up in /etc/group, numbers taken as they are."""
    out = []
    for ag in names:
        num = _numeric(ag)
        g = next((g for g in groups if g.name == ag or (num is not None and g.gid == num)), None)
        if g is not None:
            out.append(g.gid)
        elif num is not None:
            out.append(num)
        else:
            raise Invalid(f"unable to find group {ag}: no matching entries in group file")
    return out


def _unique(ids: list[int]) -> list[int]:
    seen: set[int] = set()
    out = []
    for i in ids:
        if i not in seen:
            seen.add(i)
            out.append(i)
    return out
