"""OCI mount options -> mount(2) flags, propagation flags and the filesystem data string (pure)."""

from __future__ import annotations

from tug.sys import mount as m

# option -> (flags to clear, flags to set)
FLAGS: dict[str, tuple[int, int]] = {
    "defaults": (0, 0), "rw": (m.MS_RDONLY, 0), "ro": (0, m.MS_RDONLY),
    "suid": (m.MS_NOSUID, 0), "nosuid": (0, m.MS_NOSUID), "dev": (m.MS_NODEV, 0), "nodev": (0, m.MS_NODEV),
    "exec": (m.MS_NOEXEC, 0), "noexec": (0, m.MS_NOEXEC), "sync": (0, m.MS_SYNCHRONOUS),
    "async": (m.MS_SYNCHRONOUS, 0), "dirsync": (0, m.MS_DIRSYNC), "remount": (0, m.MS_REMOUNT),
    "mand": (0, m.MS_MANDLOCK), "nomand": (m.MS_MANDLOCK, 0), "atime": (m.MS_NOATIME, 0),
    "noatime": (0, m.MS_NOATIME), "diratime": (m.MS_NODIRATIME, 0), "nodiratime": (0, m.MS_NODIRATIME),
    "bind": (0, m.MS_BIND), "rbind": (0, m.MS_BIND | m.MS_REC), "relatime": (0, m.MS_RELATIME),
    "norelatime": (m.MS_RELATIME, 0), "strictatime": (0, m.MS_STRICTATIME),
    "nostrictatime": (m.MS_STRICTATIME, 0), "lazytime": (0, m.MS_LAZYTIME), "nolazytime": (m.MS_LAZYTIME, 0),
    "nosymfollow": (0, m.MS_NOSYMFOLLOW), "symfollow": (m.MS_NOSYMFOLLOW, 0),
}
PROPAGATION: dict[str, int] = {
    "private": m.MS_PRIVATE, "rprivate": m.MS_PRIVATE | m.MS_REC, "shared": m.MS_SHARED,
    "rshared": m.MS_SHARED | m.MS_REC, "slave": m.MS_SLAVE, "rslave": m.MS_SLAVE | m.MS_REC,
    "unbindable": m.MS_UNBINDABLE, "runbindable": m.MS_UNBINDABLE | m.MS_REC,
}
# options runc handles itself and never passes to the kernel
IGNORED = {"tmpcopyup", "idmap", "ridmap", "copy-symlink", "nocopyup"}


class MountOptions:
    __slots__ = ("flags", "propagation", "data")

    def __init__(self, flags: int, propagation: list[int], data: str) -> None:
        self.flags, self.propagation, self.data = flags, propagation, data

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MountOptions) and (self.flags, self.propagation, self.data) == (
            other.flags, other.propagation, other.data)

    def __repr__(self) -> str:
        return f"MountOptions(flags={self.flags:#x}, propagation={self.propagation}, data={self.data!r})"

    @property
    def is_bind(self) -> bool:
        return bool(self.flags & m.MS_BIND)

    @property
    def remount_flags(self) -> int:
        """The flags a bind mount needs in a second, remount step (ro, nosuid, ...)."""
        return self.flags & ~(m.MS_BIND | m.MS_REC | m.MS_REMOUNT)


def parse(options: list[str] | None) -> MountOptions:
    flags, prop, data = 0, [], []
    for opt in options or ():
        if opt in FLAGS:
            clear, set_ = FLAGS[opt]
            flags = (flags & ~clear) | set_
        elif opt in PROPAGATION:
            prop.append(PROPAGATION[opt])
        elif opt in IGNORED:
            continue
        else:
            data.append(opt)
    return MountOptions(flags, prop, ",".join(data))
