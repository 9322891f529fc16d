"""What `tug stats` and the stats API read from a cgroup, and the parsers of the kernel's stat files."""

from __future__ import annotations

# v1 reports "no limit" as a page-rounded LONG_MAX; anything this large is unlimited
UNLIMITED_V1 = 1 << 62

# a plain class, not a dataclass: tug-runtime imports this room on every container start (dataclasses pulls in
# inspect, ast, enum: ~9 ms)
_FIELDS = ("cpu_usage_ns", "cpu_user_ns", "cpu_system_ns", "memory_usage", "memory_limit", "memory_cache",
           "memory_inactive_file", "memory_stat", "pids_current", "pids_limit", "blkio_read_bytes",
           "blkio_write_bytes")


class Stats:
    """One reading of a cgroup. memory_usage: v1 memory.usage_in_bytes, v2 memory.current; memory_limit None is
    unlimited (callers show the host's memory, as docker does); memory_cache: v1 total_cache, v2 file;
    memory_inactive_file: v1 total_inactive_file, v2 inactive_file."""

    __slots__ = _FIELDS

    def __init__(self, cpu_usage_ns: int = 0, cpu_user_ns: int = 0, cpu_system_ns: int = 0, memory_usage: int = 0,
                 memory_limit: int | None = None, memory_cache: int = 0, memory_inactive_file: int = 0,
                 memory_stat: dict[str, int] | None = None, pids_current: int = 0, pids_limit: int | None = None,
                 blkio_read_bytes: int = 0, blkio_write_bytes: int = 0) -> None:
        self.cpu_usage_ns = cpu_usage_ns
        self.cpu_user_ns = cpu_user_ns
        self.cpu_system_ns = cpu_system_ns
        self.memory_usage = memory_usage
        self.memory_limit = memory_limit
        self.memory_cache = memory_cache
        self.memory_inactive_file = memory_inactive_file
        self.memory_stat: dict[str, int] = {} if memory_stat is None else memory_stat
        self.pids_current = pids_current
        self.pids_limit = pids_limit
        self.blkio_read_bytes = blkio_read_bytes
        self.blkio_write_bytes = blkio_write_bytes

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in _FIELDS}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Stats) and self.as_dict() == other.as_dict()

    def __repr__(self) -> str:
        return "Stats(" + ", ".join(f"{k}={v!r}" for k, v in self.as_dict().items()) + ")"

    @property
    def memory_usage_no_cache(self) -> int:
        """The MEM USAGE docker shows: usage minus inactive file pages (when smaller than usage)."""
        if 0 < self.memory_inactive_file < self.memory_usage:
            return self.memory_usage - self.memory_inactive_file
        return self.memory_usage


def parse_keyed(text: str) -> dict[str, int]:
    """Flat "key value" lines (memory.stat, cpu.stat, memory.events, memory.oom_control) -> {key: int}."""
    out: dict[str, int] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2:
            try:
                out[parts[0]] = int(parts[1])
            except ValueError:
                continue
    return out


def parse_limit(text: str) -> int | None:
    """A limit file's value: "max" or a huge v1 number -> None (unlimited)."""
    text = text.strip()
    if not text or text == "max":
        return None
    value = int(text)
    return None if value >= UNLIMITED_V1 else value


def parse_blkio_v1(text: str) -> tuple[int, int]:
    """blkio.*io_service_bytes*: "MAJ:MIN Read N" lines -> (read bytes, write bytes) summed over devices."""
    read = write = 0
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[2].isdigit():
            if parts[1] == "Read":
                read += int(parts[2])
            elif parts[1] == "Write":
                write += int(parts[2])
    return read, write


def parse_io_stat_v2(text: str) -> tuple[int, int]:
    """io.stat: "MAJ:MIN rbytes=N wbytes=N ..." lines -> (read bytes, write bytes) summed over devices."""
    read = write = 0
    for line in text.splitlines():
        for item in line.split()[1:]:
            key, _, value = item.partition("=")
            if key == "rbytes" and value.isdigit():
                read += int(value)
            elif key == "wbytes" and value.isdigit():
                write += int(value)
    return read, write
