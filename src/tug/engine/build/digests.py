"""The content digests of context files, remembered by their stat so an unchanged file is not read again.

COPY/ADD cache keys hold the sha256 of every file they copy. A file whose device, inode, size, mtime and ctime (ns)
are what they were when it was hashed has the same content: a write changes its ctime, which no user can set
back. Entries are made only for files whose times are more than a second old when hashed and whose stat did not
change while they were read (a write in the same clock tick would otherwise keep the times). The table lives in
`<root>/buildcache/digests.json`, rewritten atomically at the end of a build that added to it; it keeps what this
build used and, up to a bound, what earlier builds left.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

RACY_NS = 1_000_000_000
KEEP = 100_000


def stat_key(st: os.stat_result) -> str:
    return f"{st.st_dev}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}"


class DigestCache:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._old: dict[str, str] | None = None
        self.used: dict[str, str] = {}
        self.added = 0
        self.start_ns = time.time_ns()

    def _table(self) -> dict[str, str]:
        if self._old is None:
            try:
                doc = json.loads(self.path.read_bytes())
                self._old = doc if isinstance(doc, dict) else {}
            except (OSError, ValueError):
                self._old = {}
        return self._old

    def get(self, st: os.stat_result) -> str | None:
        key = stat_key(st)
        found = self.used.get(key) or self._table().get(key)
        if found is not None:
            self.used[key] = found
        return found

    def put(self, before: os.stat_result, after: os.stat_result, digest: str) -> None:
        """Remember a digest read between two stats of the file (only when they agree and are not racy)."""
        key = stat_key(before)
        if key != stat_key(after) or max(before.st_mtime_ns, before.st_ctime_ns) > self.start_ns - RACY_NS:
            return
        self.used[key] = digest
        self.added += 1

    def save(self) -> None:
        if not self.added:
            return
        table = dict(self._table())
        if len(table) + len(self.used) > KEEP:
            table = {}
        table.update(self.used)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(table, separators=(",", ":")))
        os.replace(tmp, self.path)
        self.added = 0
