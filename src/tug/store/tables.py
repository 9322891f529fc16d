"""The rows of the store database and the operations on each table (reached as `Metadata.images` etc.)."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from tug.errors import Conflict, Invalid, NotFound
from tug.oci.digest import Digest

if TYPE_CHECKING:
    from tug.store.metadata import Metadata


def _digest(d: Digest | str) -> str:
    return str(d) if isinstance(d, Digest) else str(Digest.parse(d))


def _opt_digest(text: str | None) -> Digest | None:
    return Digest.parse(text) if text else None


def now_rfc3339() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class ImageRecord:
    id: Digest  # the config digest
    manifest_digest: Digest | None
    manifest_media_type: str | None
    created: str | None
    added_at: str
    size: int
    layers: list[Digest] = field(default_factory=list)  # chain ids, bottom to top


@dataclass(frozen=True)
class LayerRecord:
    chain_id: Digest
    diff_id: Digest
    parent: Digest | None
    size: int


@dataclass(frozen=True)
class ContainerRecord:
    id: str
    name: str
    image_id: str | None
    image_name: str | None
    created: str | None
    config: dict[str, Any]
    state: dict[str, Any]


class _Table:
    def __init__(self, md: Metadata) -> None:
        self.md = md


class Images(_Table):
    def add(self, image_id: Digest | str, layers: list[Digest], *, manifest_digest: Digest | str | None = None,
            manifest_media_type: str | None = None, created: str | None = None, size: int = 0,
            added_at: str | None = None) -> ImageRecord:
        """Insert or replace an image and its chain ids (bottom to top)."""
        iid = _digest(image_id)
        with self.md.transaction() as c:
            c.execute("INSERT INTO images (id, manifest_digest, manifest_media_type, created, added_at, size) "
                      "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET "
                      "manifest_digest=excluded.manifest_digest, manifest_media_type=excluded.manifest_media_type, "
                      "created=excluded.created, size=excluded.size",
                      (iid, _digest(manifest_digest) if manifest_digest else None, manifest_media_type, created,
                       added_at or now_rfc3339(), size))
            c.execute("DELETE FROM image_layers WHERE image_id = ?", (iid,))
            c.executemany("INSERT INTO image_layers (image_id, idx, chain_id) VALUES (?, ?, ?)",
                          [(iid, i, _digest(ch)) for i, ch in enumerate(layers)])
        rec = self.get(iid)
        assert rec is not None
        return rec

    def _record(self, row: sqlite3.Row) -> ImageRecord:
        layers = [Digest.parse(r["chain_id"]) for r in self.md.query(
            "SELECT chain_id FROM image_layers WHERE image_id = ? ORDER BY idx", (row["id"],))]
        return ImageRecord(Digest.parse(row["id"]), _opt_digest(row["manifest_digest"]), row["manifest_media_type"],
                           row["created"], row["added_at"], row["size"], layers)

    def get(self, image_id: Digest | str) -> ImageRecord | None:
        rows = self.md.query("SELECT * FROM images WHERE id = ?", (_digest(image_id),))
        return self._record(rows[0]) if rows else None

    def list(self) -> list[ImageRecord]:
        return [self._record(r) for r in self.md.query("SELECT * FROM images ORDER BY added_at DESC, id")]

    def delete(self, image_id: Digest | str) -> list[str]:
        """Remove an image, its layer list and the tags naming it; returns the removed tag names."""
        iid = _digest(image_id)
        with self.md.transaction() as c:
            tags = [r[0] for r in c.execute("SELECT name FROM tags WHERE image_id = ? ORDER BY name", (iid,))]
            c.execute("DELETE FROM tags WHERE image_id = ?", (iid,))
            c.execute("DELETE FROM image_layers WHERE image_id = ?", (iid,))
            if c.execute("DELETE FROM images WHERE id = ?", (iid,)).rowcount == 0:
                raise NotFound(f"No such image: {iid}", where=iid)
        return tags

    def find_by_prefix(self, prefix: str) -> ImageRecord:
        """An image by full id, `sha256:`-prefixed or bare hex prefix (docker's short IMAGE ID)."""
        text = prefix.removeprefix("sha256:")
        if not text or any(ch not in "0123456789abcdef" for ch in text):
            raise NotFound(f"No such image: {prefix}", where=prefix)
        rows = self.md.query("SELECT * FROM images WHERE id >= ? AND id < ? ORDER BY id LIMIT 2",
                             (f"sha256:{text}", f"sha256:{text}\x7f"))
        if not rows:
            raise NotFound(f"No such image: {prefix}", where=prefix)
        if len(rows) > 1:
            raise Invalid(f"multiple IDs found with provided prefix: {prefix}", where=prefix)
        return self._record(rows[0])


class Tags(_Table):
    def set(self, name: str, image_id: Digest | str) -> Digest | None:
        """Point `name` at an image; returns the image it pointed at before (None if new)."""
        with self.md.transaction() as c:
            old = c.execute("SELECT image_id FROM tags WHERE name = ?", (name,)).fetchone()
            c.execute("INSERT INTO tags (name, image_id) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET "
                      "image_id = excluded.image_id", (name, _digest(image_id)))
        return Digest.parse(old[0]) if old else None

    def get(self, name: str) -> Digest | None:
        rows = self.md.query("SELECT image_id FROM tags WHERE name = ?", (name,))
        return Digest.parse(rows[0][0]) if rows else None

    def list(self) -> list[tuple[str, Digest]]:
        return [(r[0], Digest.parse(r[1])) for r in self.md.query("SELECT name, image_id FROM tags ORDER BY name")]

    def delete(self, name: str) -> Digest:
        with self.md.transaction() as c:
            row = c.execute("SELECT image_id FROM tags WHERE name = ?", (name,)).fetchone()
            if row is None:
                raise NotFound(f"No such image: {name}", where=name)
            c.execute("DELETE FROM tags WHERE name = ?", (name,))
        return Digest.parse(row[0])

    def for_image(self, image_id: Digest | str) -> list[str]:
        return [r[0] for r in self.md.query("SELECT name FROM tags WHERE image_id = ? ORDER BY name",
                                            (_digest(image_id),))]


class Layers(_Table):
    def add(self, chain_id: Digest | str, diff_id: Digest | str, parent: Digest | str | None, size: int) -> None:
        with self.md.transaction() as c:
            c.execute("INSERT OR REPLACE INTO layers (chain_id, diff_id, parent, size) VALUES (?, ?, ?, ?)",
                      (_digest(chain_id), _digest(diff_id), _digest(parent) if parent else None, size))

    @staticmethod
    def _record(row: sqlite3.Row) -> LayerRecord:
        return LayerRecord(Digest.parse(row["chain_id"]), Digest.parse(row["diff_id"]),
                           _opt_digest(row["parent"]), row["size"])

    def get(self, chain_id: Digest | str) -> LayerRecord | None:
        rows = self.md.query("SELECT * FROM layers WHERE chain_id = ?", (_digest(chain_id),))
        return self._record(rows[0]) if rows else None

    def list(self) -> list[LayerRecord]:
        return [self._record(r) for r in self.md.query("SELECT * FROM layers ORDER BY chain_id")]

    def delete(self, chain_id: Digest | str) -> None:
        with self.md.transaction() as c:
            c.execute("DELETE FROM layers WHERE chain_id = ?", (_digest(chain_id),))

    def users_of(self, chain_id: Digest | str) -> list[Digest]:
        """Images whose layer list holds this chain id."""
        return [Digest.parse(r[0]) for r in self.md.query(
            "SELECT DISTINCT image_id FROM image_layers WHERE chain_id = ? ORDER BY image_id", (_digest(chain_id),))]


_CONTAINER_FIELDS = ("name", "image_id", "image_name", "created", "config", "state")


class Containers(_Table):
    def insert(self, id: str, name: str, *, image_id: str | None = None, image_name: str | None = None,  # noqa: A002
               created: str | None = None, config: dict[str, Any] | None = None,
               state: dict[str, Any] | None = None) -> ContainerRecord:
        """Insert a new container; Conflict if the name (or id) is taken. The UNIQUE constraint decides races."""
        try:
            with self.md.transaction() as c:
                c.execute("INSERT INTO containers (id, name, image_id, image_name, created, config, state) "
                          "VALUES (?, ?, ?, ?, ?, ?, ?)",
                          (id, name, image_id, image_name, created or now_rfc3339(), json.dumps(config or {}),
                           json.dumps(state or {})))
        except sqlite3.IntegrityError:
            taken = self.md.query("SELECT id FROM containers WHERE name = ?", (name,))
            if taken:
                raise Conflict(f'The container name "/{name}" is already in use by container "{taken[0][0]}". '
                               "You have to remove (or rename) that container to be able to reuse that name.",
                               where=name) from None
            raise Conflict(f"container id {id} already exists", where=id) from None
        rec = self.get(id)
        assert rec is not None
        return rec

    @staticmethod
    def _record(row: sqlite3.Row) -> ContainerRecord:
        return ContainerRecord(row["id"], row["name"], row["image_id"], row["image_name"], row["created"],
                               json.loads(row["config"] or "{}"), json.loads(row["state"] or "{}"))

    def get(self, id: str) -> ContainerRecord | None:  # noqa: A002
        rows = self.md.query("SELECT * FROM containers WHERE id = ?", (id,))
        return self._record(rows[0]) if rows else None

    def list(self) -> list[ContainerRecord]:
        return [self._record(r) for r in self.md.query("SELECT * FROM containers ORDER BY created DESC, id")]

    def update(self, id: str, **fields: Any) -> ContainerRecord:  # noqa: A002
        """Change some columns (config/state as dicts); Conflict on a taken name, NotFound on a missing id."""
        bad = set(fields) - set(_CONTAINER_FIELDS)
        if bad:
            raise Invalid(f"unknown container fields {sorted(bad)}")
        if fields:
            cols = ", ".join(f"{k} = ?" for k in fields)
            vals = [json.dumps(v) if k in ("config", "state") else v for k, v in fields.items()]
            try:
                with self.md.transaction() as c:
                    if c.execute(f"UPDATE containers SET {cols} WHERE id = ?", (*vals, id)).rowcount == 0:
                        raise NotFound(f"No such container: {id}", where=id)
            except sqlite3.IntegrityError:
                raise Conflict(f'The container name "/{fields.get("name")}" is already in use',
                               where=str(fields.get("name"))) from None
        rec = self.get(id)
        if rec is None:
            raise NotFound(f"No such container: {id}", where=id)
        return rec

    def delete(self, id: str) -> None:  # noqa: A002
        with self.md.transaction() as c:
            if c.execute("DELETE FROM containers WHERE id = ?", (id,)).rowcount == 0:
                raise NotFound(f"No such container: {id}", where=id)

    def find(self, ref: str) -> ContainerRecord:
        """By full id, then exact name (a leading '/' allowed), then unique id prefix, as docker resolves it."""
        if not ref:
            raise NotFound("No such container: ", where=ref)
        rec = self.get(ref)
        if rec is not None:
            return rec
        rows = self.md.query("SELECT * FROM containers WHERE name = ?", (ref.removeprefix("/"),))
        if rows:
            return self._record(rows[0])
        if all(ch in "0123456789abcdef" for ch in ref):
            rows = self.md.query("SELECT * FROM containers WHERE id >= ? AND id < ? ORDER BY id LIMIT 2",
                                 (ref, ref + "\x7f"))
            if len(rows) > 1:
                raise Invalid(f"multiple IDs found with provided prefix: {ref}", where=ref)
            if rows:
                return self._record(rows[0])
        raise NotFound(f"No such container: {ref}", where=ref)
