"""What `tug stats` and the stats API read from a cgroup, and the parsers of the kernel's stat files."""

from __future__ import annotations

from dataclasses import dataclass, field

# v1 reports "no limit" as a page-rounded LONG_MAX; anything this large is unlimited
UNLIMITED_V1 = 1 << 62


@dataclass
class Stats:
    cpu_usage_ns: int = 0
    cpu_user_ns: int = 0
    cpu_system_ns: int = 0
    memory_usage: int = 0                 # v1 memory.usage_in_bytes, v2 memory.current
    memory_limit: int | None = None       # None: unlimited (callers show the host's memory, as docker does)
    memory_cache: int = 0                 # v1 total_cache, v2 file
    memory_inactive_file: int = 0         # v1 total_inactive_file, v2 inactive_file
    memory_stat: dict[str, int] = field(default_factory=dict)
    pids_current: int = 0
    pids_limit: int | None = None
    blkio_read_bytes: int = 0
    blkio_write_bytes: int = 0

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
