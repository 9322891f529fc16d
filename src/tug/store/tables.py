"""The operations on each table of the store database, mixed into `Metadata` as flat methods.

Rows come back as plain dicts of column -> value (digests as `sha256:<hex>` strings; a container's `config` and
`state` as the JSON text stored). Methods that change several rows run in one transaction; inside an outer
`transaction()` they join it.
"""

from __future__ import annotations

import _sqlite3 as sqlite3  # the C module: the `sqlite3` package adds only datetime adapters (~1 ms)
import json
from collections.abc import Iterator
from contextlib import AbstractContextManager

from tug.errors import Conflict, Invalid, NotFound
from tug.oci.digest import Digest
from tug.oci.times import now_rfc3339

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    Row = dict[str, Any]


def _d(d: Digest | str) -> str:
    """A digest as stored: validated `algorithm:hex` text."""
    return str(d) if isinstance(d, Digest) else str(Digest.parse(d))


def _json(v: str | dict[str, Any] | None) -> str:
    if v is None:
        return "{}"
    return v if isinstance(v, str) else json.dumps(v)


class _Base:
    def transaction(self) -> AbstractContextManager[sqlite3.Connection]:  # provided by Metadata
        raise NotImplementedError

    def query(self, sql: str, args: tuple[object, ...] = ()) -> list[sqlite3.Row]:
        raise NotImplementedError

    def _rows(self, sql: str, args: tuple[object, ...] = ()) -> list[Row]:
        return [dict(r) for r in self.query(sql, args)]

    def _row(self, sql: str, args: tuple[object, ...] = ()) -> Row | None:
        rows = self._rows(sql, args)
        return rows[0] if rows else None


def _prefix_range(prefix: str) -> tuple[str, str]:
    return prefix, prefix + "\x7f"


class ImagesMixin(_Base):
    def add_image(self, image_id: Digest | str, *, layers: list[Digest | str] = (),  # type: ignore[assignment]
                  manifest_digest: Digest | str | None = None, manifest_media_type: str | None = None,
                  created: str | None = None, size: int = 0, added_at: str | None = None) -> Row:
        """Insert or update an image and its chain ids (bottom to top). Re-adding keeps the first `added_at`."""
        iid = _d(image_id)
        with self.transaction() as c:
            c.execute("INSERT INTO images (id, manifest_digest, manifest_media_type, created, added_at, size) "
                      "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET "
                      "manifest_digest=excluded.manifest_digest, manifest_media_type=excluded.manifest_media_type, "
                      "created=excluded.created, size=excluded.size",
                      (iid, _d(manifest_digest) if manifest_digest else None, manifest_media_type, created,
                       added_at or now_rfc3339(), size))
            c.execute("DELETE FROM image_layers WHERE image_id = ?", (iid,))
            c.executemany("INSERT INTO image_layers (image_id, idx, chain_id) VALUES (?, ?, ?)",
                          [(iid, i, _d(ch)) for i, ch in enumerate(layers)])
        row = self.get_image(iid)
        assert row is not None
        return row

    def get_image(self, image_id: Digest | str) -> Row | None:
        return self._row("SELECT * FROM images WHERE id = ?", (str(image_id),))

    def image_layers(self, image_id: Digest | str) -> list[str]:
        """The image's chain ids, bottom to top."""
        return [r[0] for r in self.query("SELECT chain_id FROM image_layers WHERE image_id = ? ORDER BY idx",
                                         (str(image_id),))]

    def list_images(self) -> list[Row]:
        return self._rows("SELECT * FROM images ORDER BY added_at DESC, id")

    def delete_image(self, image_id: Digest | str) -> list[str]:
        """Remove an image with its layer list, tags and repo digests; returns the removed tag names."""
        iid = str(image_id)
        with self.transaction() as c:
            tags = [r[0] for r in c.execute("SELECT name FROM tags WHERE image_id = ? ORDER BY name", (iid,))]
            for table in ("tags", "repo_digests", "image_layers"):
                c.execute(f"DELETE FROM {table} WHERE image_id = ?", (iid,))
            if c.execute("DELETE FROM images WHERE id = ?", (iid,)).rowcount == 0:
                raise NotFound(f"No such image: {iid}", where=iid)
        return tags

    def find_images_by_prefix(self, prefix: str) -> list[Row]:
        """Images whose id starts with `prefix` (`sha256:` added when missing), at most 2 (enough to see ambiguity)."""
        text = prefix if ":" in prefix else f"sha256:{prefix}"
        lo, hi = _prefix_range(text)
        return self._rows("SELECT * FROM images WHERE id >= ? AND id < ? ORDER BY id LIMIT 2", (lo, hi))

    def find_image_by_prefix(self, prefix: str) -> Row:
        """One image by unambiguous id prefix: NotFound or Invalid worded as docker does."""
        rows = self.find_images_by_prefix(prefix) if prefix.removeprefix("sha256:") else []
        if not rows:
            raise NotFound(f"No such image: {prefix}", where=prefix)
        if len(rows) > 1:
            raise Invalid(f"multiple IDs found with provided prefix: {prefix}", where=prefix)
        return rows[0]

    # -- repo digests (repository name -> manifest digest, as `docker images --digests` shows) ---------------------

    def add_repo_digest(self, repository: str, digest: Digest | str, image_id: Digest | str) -> None:
        try:
            with self.transaction() as c:
                c.execute("INSERT OR REPLACE INTO repo_digests (repository, digest, image_id) VALUES (?, ?, ?)",
                          (repository, _d(digest), str(image_id)))
        except sqlite3.IntegrityError:
            raise NotFound(f"No such image: {image_id}", where=str(image_id)) from None

    def repo_digests_for_image(self, image_id: Digest | str) -> Iterator[tuple[str, str]]:
        for r in self.query("SELECT repository, digest FROM repo_digests WHERE image_id = ? ORDER BY repository",
                            (str(image_id),)):
            yield r[0], r[1]


class TagsMixin(_Base):
    def set_tag(self, name: str, image_id: Digest | str) -> str | None:
        """Point `name` at an image; returns the image id it named before (None if the tag is new)."""
        try:
            with self.transaction() as c:
                old = c.execute("SELECT image_id FROM tags WHERE name = ?", (name,)).fetchone()
                c.execute("INSERT INTO tags (name, image_id) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET "
                          "image_id = excluded.image_id", (name, str(image_id)))
        except sqlite3.IntegrityError:
            raise NotFound(f"No such image: {image_id}", where=str(image_id)) from None
        return old[0] if old else None

    def get_tag(self, name: str) -> str | None:
        rows = self.query("SELECT image_id FROM tags WHERE name = ?", (name,))
        return rows[0][0] if rows else None

    def list_tags(self) -> list[tuple[str, str]]:
        return [(r[0], r[1]) for r in self.query("SELECT name, image_id FROM tags ORDER BY name")]

    def delete_tag(self, name: str) -> str:
        with self.transaction() as c:
            row = c.execute("SELECT image_id FROM tags WHERE name = ?", (name,)).fetchone()
            if row is None:
                raise NotFound(f"No such image: {name}", where=name)
            c.execute("DELETE FROM tags WHERE name = ?", (name,))
        return row[0]

    def tags_for_image(self, image_id: Digest | str) -> list[str]:
        return [r[0] for r in self.query("SELECT name FROM tags WHERE image_id = ? ORDER BY name", (str(image_id),))]


class LayersMixin(_Base):
    def add_layer(self, chain_id: Digest | str, diff_id: Digest | str, parent: Digest | str | None,
                  size: int) -> None:
        with self.transaction() as c:
            c.execute("INSERT OR REPLACE INTO layers (chain_id, diff_id, parent, size) VALUES (?, ?, ?, ?)",
                      (_d(chain_id), _d(diff_id), _d(parent) if parent else None, size))

    def get_layer(self, chain_id: Digest | str) -> Row | None:
        return self._row("SELECT * FROM layers WHERE chain_id = ?", (str(chain_id),))

    def list_layers(self) -> list[Row]:
        return self._rows("SELECT * FROM layers ORDER BY chain_id")

    def delete_layer(self, chain_id: Digest | str) -> None:
        with self.transaction() as c:
            c.execute("DELETE FROM layers WHERE chain_id = ?", (str(chain_id),))

    def layer_users(self, chain_id: Digest | str) -> list[str]:
        """Ids of the images whose layer list holds this chain id."""
        return [r[0] for r in self.query(
            "SELECT DISTINCT image_id FROM image_layers WHERE chain_id = ? ORDER BY image_id", (str(chain_id),))]


_CONTAINER_FIELDS = ("name", "image_id", "image_name", "created", "config", "state")


class ContainersMixin(_Base):
    def insert_container(self, id: str, name: str, *, image_id: str | None = None,  # noqa: A002
                         image_name: str | None = None, created: str | None = None,
                         config: str | dict[str, Any] | None = None, state: str | dict[str, Any] | None = None) -> Row:
        """Record a new container; Conflict if its name (or id) is taken. The UNIQUE constraint decides races."""
        try:
            with self.transaction() as c:
                c.execute("INSERT INTO containers (id, name, image_id, image_name, created, config, state) "
                          "VALUES (?, ?, ?, ?, ?, ?, ?)",
                          (id, name, image_id, image_name, created or now_rfc3339(), _json(config), _json(state)))
        except sqlite3.IntegrityError:
            taken = self.query("SELECT id FROM containers WHERE name = ?", (name,))
            if taken:
                raise Conflict(f'The container name "/{name}" is already in use by container "{taken[0][0]}". '
                               "You have to remove (or rename) that container to be able to reuse that name.",
                               where=name) from None
            raise Conflict(f"container id {id} already exists", where=id) from None
        row = self.get_container(id)
        assert row is not None
        return row

    def get_container(self, id: str) -> Row | None:  # noqa: A002
        return self._row("SELECT * FROM containers WHERE id = ?", (id,))

    def list_containers(self) -> list[Row]:
        return self._rows("SELECT * FROM containers ORDER BY created DESC, id")

    def update_container(self, id: str, **fields: Any) -> Row:  # noqa: A002
        """Change columns (`config`/`state` as JSON text or dicts); Conflict on a taken name, NotFound if missing."""
        bad = set(fields) - set(_CONTAINER_FIELDS)
        if bad:
            raise Invalid(f"unknown container fields {sorted(bad)}")
        if fields:
            cols = ", ".join(f"{k} = ?" for k in fields)
            vals = [_json(v) if k in ("config", "state") else v for k, v in fields.items()]
            try:
                with self.transaction() as c:
                    if c.execute(f"UPDATE containers SET {cols} WHERE id = ?", (*vals, id)).rowcount == 0:
                        raise NotFound(f"No such container: {id}", where=id)
            except sqlite3.IntegrityError:
                raise Conflict(f'The container name "/{fields.get("name")}" is already in use',
                               where=str(fields.get("name"))) from None
        row = self.get_container(id)
        if row is None:
            raise NotFound(f"No such container: {id}", where=id)
        return row

    def delete_container(self, id: str) -> None:  # noqa: A002
        with self.transaction() as c:
            if c.execute("DELETE FROM containers WHERE id = ?", (id,)).rowcount == 0:
                raise NotFound(f"No such container: {id}", where=id)

    def find_container(self, ref: str) -> Row:
        """By full id, then exact name (a leading '/' allowed), then unique id prefix, as docker resolves it.

        NotFound ("No such container: X") when nothing matches, Invalid when a prefix matches several.
        """
        row = self.get_container(ref) if ref else None
        if row is not None:
            return row
        row = self._row("SELECT * FROM containers WHERE name = ?", (ref.removeprefix("/"),)) if ref else None
        if row is not None:
            return row
        if ref and all(ch in "0123456789abcdef" for ch in ref):
            rows = self._rows("SELECT * FROM containers WHERE id >= ? AND id < ? ORDER BY id LIMIT 2",
                              _prefix_range(ref))
            if len(rows) > 1:
                raise Invalid(f"multiple IDs found with provided prefix: {ref}", where=ref)
            if rows:
                return rows[0]
        raise NotFound(f"No such container: {ref}", where=ref)
