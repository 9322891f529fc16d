"""Forgetting a finished container with nothing but `sqlite3` and `os`: its row and its directory.

The per-container monitor removes `--rm` containers when they end. It keeps its import set tiny (it lives as long as
the container), so this does the same as `Metadata.delete_container` plus removing `containers/<id>`, without the
rest of the store. The schema it touches is `metadata.py`'s `containers` table.
"""

from __future__ import annotations

import _sqlite3 as sqlite3  # the C module: the `sqlite3` package adds only datetime adapters (~1 ms)
import os

BUSY_TIMEOUT_MS = 30_000


def remove_tree(path: str) -> None:
    """`rm -rf` without shutil (which costs milliseconds to import); symlinks are removed, never followed."""
    try:
        os.lstat(path)
    except FileNotFoundError:
        return
    for top, dirs, files in os.walk(path, topdown=False):
        for name in files:
            os.unlink(os.path.join(top, name))
        for name in dirs:
            p = os.path.join(top, name)
            if os.path.islink(p):
                os.unlink(p)
            else:
                os.rmdir(p)
    os.rmdir(path)


def forget_container(root: str, ctr_id: str) -> str | None:
    """Delete the container's row and `containers/<id>`; return the row's `config` JSON text (None if gone)."""
    conn = sqlite3.connect(os.path.join(root, "tug.db"), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        row = conn.execute("SELECT config FROM containers WHERE id = ?", (ctr_id,)).fetchone()
        remove_tree(os.path.join(root, "containers", ctr_id))
        conn.execute("DELETE FROM containers WHERE id = ?", (ctr_id,))
    finally:
        conn.close()
    return row[0] if row else None


_held: list[sqlite3.Connection] = []  # connections forget_record(hold=True) left open for release_held


def forget_record(root: str, ctr_id: str, monitor_pid: int | None = None, wait: float = 2.0,
                  hold: bool = False) -> str | None:
    """Delete only the container's row (its name is free again); return its `config` JSON text (None if gone). The
    caller removes `containers/<id>` next; a directory left without a record is what `tug check --repair` removes.

    With `monitor_pid`, first wait (at most `wait` seconds) until the row names that monitor: the command that
    started the container records the start (state.MonitorPid) once the monitor reported it, and a container that
    ends at once must not lose its row before that update (the command would fail with "No such container").

    `hold`: keep the database connection open until `release_held` (see there)."""
    import time

    conn = sqlite3.connect(os.path.join(root, "tug.db"), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        deadline = time.monotonic() + wait
        while monitor_pid is not None and time.monotonic() < deadline:
            row = conn.execute("SELECT json_extract(state, '$.MonitorPid') FROM containers WHERE id = ?",
                               (ctr_id,)).fetchone()
            if row is None or row[0] == monitor_pid:
                break
            time.sleep(0.001)
        rows = conn.execute("DELETE FROM containers WHERE id = ? RETURNING config", (ctr_id,)).fetchall()
    finally:
        if hold:
            _held.append(conn)
        else:
            conn.close()
    return rows[0][0] if rows else None


def release_held(after_pid: int | None = None, timeout: float = 0.1) -> None:
    """Close what forget_record(hold=True) kept open, once process `after_pid` has ended (at most `timeout` s).

    SQLite's last connection to a database checkpoints the WAL into it when it closes (an fsync, about 1 ms here).
    The monitor of a `tug run --rm` holds its connection until that command has exited, so the checkpoint is its
    cost, after the fact, and not the waiting command's."""
    if after_pid is not None and _held:
        try:
            pidfd = os.pidfd_open(after_pid)
        except OSError:
            pidfd = -1  # gone already
        if pidfd >= 0:
            import select

            try:
                select.select([pidfd], [], [], timeout)
            finally:
                os.close(pidfd)
    while _held:
        try:
            _held.pop().close()
        except sqlite3.Error:
            pass
