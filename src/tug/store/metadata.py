"""The store's database: one SQLite file in WAL mode holding only references (blobs and trees live on disk).

One connection per process and database file: `Metadata(path)` objects share it, because closing a second fd on the
file would drop the process's POSIX locks that SQLite relies on. A forked child opens its own. Writes run in
`transaction()` (`BEGIN IMMEDIATE`, so writers queue on the busy timeout instead of failing mid-transaction).
The per-table methods (`add_image`, `set_tag`, `insert_container`, ...) are mixed in from `tug.store.tables`.
"""

from __future__ import annotations

import _sqlite3 as sqlite3  # the C module: the `sqlite3` package adds only datetime adapters (~1 ms)
import _thread  # not threading: its import is ~1 ms of every command's start-up
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tug.errors import Corrupt, Unavailable
from tug.store.tables import ContainersMixin, ImagesMixin, LayersMixin, TagsMixin

SCHEMA_VERSION = 1
BUSY_TIMEOUT_MS = 30_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS images (
    id TEXT PRIMARY KEY,                 -- config digest
    manifest_digest TEXT,
    manifest_media_type TEXT,
    created TEXT,                        -- the config's `created`
    added_at TEXT NOT NULL,
    size INTEGER NOT NULL DEFAULT 0      -- sum of unpacked layer bytes
);
CREATE TABLE IF NOT EXISTS tags (
    name TEXT PRIMARY KEY,               -- normalised full reference, docker.io/library/busybox:latest
    image_id TEXT NOT NULL REFERENCES images(id)
);
CREATE INDEX IF NOT EXISTS tags_by_image ON tags(image_id);
CREATE TABLE IF NOT EXISTS layers (
    chain_id TEXT PRIMARY KEY,
    diff_id TEXT NOT NULL,
    parent TEXT,
    size INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS image_layers (
    image_id TEXT NOT NULL REFERENCES images(id),
    idx INTEGER NOT NULL,
    chain_id TEXT NOT NULL,
    PRIMARY KEY (image_id, idx)
);
CREATE INDEX IF NOT EXISTS image_layers_by_chain ON image_layers(chain_id);
CREATE TABLE IF NOT EXISTS repo_digests (
    repository TEXT NOT NULL,            -- normalised repository name, docker.io/library/busybox
    digest TEXT NOT NULL,                -- manifest digest in that repository
    image_id TEXT NOT NULL REFERENCES images(id),
    PRIMARY KEY (repository, digest)
);
CREATE TABLE IF NOT EXISTS containers (
    id TEXT PRIMARY KEY,
    name TEXT UNIQUE NOT NULL,
    image_id TEXT,
    image_name TEXT,
    created TEXT,
    config TEXT NOT NULL DEFAULT '{}',   -- JSON
    state TEXT NOT NULL DEFAULT '{}'     -- JSON
);
"""

_SCHEMA_NAMES = frozenset(re.findall(r"CREATE (?:TABLE|INDEX) IF NOT EXISTS (\w+)", _SCHEMA))

_connections: dict[tuple[int, str], tuple[sqlite3.Connection, _thread.RLock]] = {}
_registry_lock = _thread.allocate_lock()


def _connect(path: Path) -> tuple[sqlite3.Connection, _thread.RLock]:
    key = (os.getpid(), os.path.realpath(path))
    with _registry_lock:
        found = _connections.get(key)
        if found is not None:
            return found
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                                   check_same_thread=False)
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA foreign_keys = ON")
        except sqlite3.DatabaseError as e:
            raise Corrupt(f"cannot open the store database: {e}", where=str(path)) from None
        conn.row_factory = sqlite3.Row
        found = (conn, _thread.RLock())
        _connections[key] = found
        return found


def close_all() -> None:
    """Close this process's connections (the last one out checkpoints the WAL into the database and removes it);
    for a process about to leave by os._exit."""
    with _registry_lock:
        for key in [k for k in _connections if k[0] == os.getpid()]:
            conn, _ = _connections.pop(key)
            try:
                conn.close()
            except sqlite3.Error:
                pass


class Metadata(ImagesMixin, TagsMixin, LayersMixin, ContainersMixin):
    def __init__(self, db_path: Path | str) -> None:
        self.db_path = Path(db_path)
        self._conn, self._lock = _connect(self.db_path)
        self._migrate()

    @property
    def conn(self) -> sqlite3.Connection:
        return self._conn

    @contextmanager  # type: ignore[override]
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """`BEGIN IMMEDIATE` ... `COMMIT` (or ROLLBACK on error). Nested calls join the outer transaction."""
        with self._lock:
            if self._conn.in_transaction:
                yield self._conn
                return
            try:
                self._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as e:
                raise Unavailable(f"the store database is busy: {e}", where=str(self.db_path)) from None
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            else:
                self._conn.execute("COMMIT")

    def query(self, sql: str, args: tuple[object, ...] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._conn.execute(sql, args).fetchall()

    def _migrate(self) -> None:
        # the common case, a store already at this schema with every table and index, costs two reads and takes no
        # write lock (a BEGIN IMMEDIATE here serialised every tug command on the store)
        try:
            row = self._conn.execute("SELECT version FROM schema_version").fetchone()
            have = {r[0] for r in self._conn.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'index')")}
        except sqlite3.Error:
            row, have = None, set()
        if row is not None and row[0] == SCHEMA_VERSION and have >= _SCHEMA_NAMES:
            return
        with self.transaction() as c:
            for stmt in _SCHEMA.split(";"):
                if stmt.strip():
                    c.execute(stmt)
            row = c.execute("SELECT version FROM schema_version").fetchone()
            if row is None:
                c.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION,))
            elif row[0] > SCHEMA_VERSION:
                raise Corrupt(f"store database schema {row[0]} is newer than this tug ({SCHEMA_VERSION})",
                              where=str(self.db_path), hint="upgrade tug")
