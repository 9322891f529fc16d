"""A container's row by reference without the engine: one read-only query on the store database.

For commands that must start fast (`tug exec`): no Engine, no dataclasses, no `sqlite3` package (its adapters pull
in datetime), only the `_sqlite3` extension. It resolves a reference as `tug.store.tables.find_container` does (full
id, then exact name, then a unique id prefix) and answers None for anything else (unknown, ambiguous, no database):
the caller then takes the full path, which raises the proper error.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

HEX = frozenset("0123456789abcdef")
COLUMNS = "id, name, config, state"


def find_container(root: str, ref: str) -> dict[str, Any] | None:
    """{"id", "name", "config", "state"} (the last two as JSON text) of the container `ref` names, or None."""
    db = os.path.join(root, "tug.db")
    if not ref or not os.path.exists(db):
        return None
    import _sqlite3

    try:
        conn = _sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30, isolation_level=None)
    except _sqlite3.Error:
        return None
    try:
        rows = conn.execute(f"SELECT {COLUMNS} FROM containers WHERE id = ? OR name = ?",
                            (ref, ref.removeprefix("/"))).fetchall()
        if not rows and set(ref) <= HEX:
            rows = conn.execute(f"SELECT {COLUMNS} FROM containers WHERE id >= ? AND id < ? ORDER BY id LIMIT 2",
                                (ref, ref + "g")).fetchall()
    except _sqlite3.Error:
        return None
    finally:
        conn.close()
    if len(rows) > 1:
        by_id = [r for r in rows if r[0] == ref]  # a full id wins over a name
        rows = by_id if len(by_id) == 1 else []
    if len(rows) != 1:
        return None
    cid, name, config, state = rows[0]
    return {"id": cid, "name": name, "config": config, "state": state}
