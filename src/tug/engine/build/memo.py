"""The replay of a fully cached build: when nothing a build reads has changed, print what it printed and stop.

A build whose every step came from the cache leaves a memo, `<root>/buildcache/memo/<key>.json`. The key is the
sha256 of everything the build was asked (options, build args, the context's and Dockerfile's absolute paths,
SOURCE_DATE_EPOCH). The build containers' settings (`-m`, `--ulimit`, `--add-host`, `--security-opt`...) are in it
too, though no step's cache key holds them (a fully cached build runs no container, so they change no result): a
build with other settings is checked afresh once (a bad value fails as it would have the first time), and leaves
its own memo. The memo holds:

  - the context's stat signature: every entry's relative path, mode, size, inode, mtime and ctime (ns), walked with
    `os.scandir` (directories `.dockerignore` hides entirely are skipped, as COPY never sees them), plus the
    Dockerfile's; a file whose contents changed has a new ctime, which no user can set back;
  - the images the build started from, by the tag they were found under, and the image and tags it recorded;
  - the files its cached steps stood on (cache entries, config and layer blobs, snapshots);
  - the events it emitted.

The next build with the same key replays the events when the signature matches, every file is still there and one
database read finds the base tags, the image and the requested tags as they were. Anything else (a different
signature, a stale file, a re-tagged base, a build killed earlier whose scratch directory waits for removal) falls
through to the ordinary build, which checks every step as usual and may write a fresh memo.

A signature taken within a second of an entry's last change is "racy" (a write in the same clock tick would keep
its times) and no memo is written from it. Builds that read anything but the context and the store (ADD of a URL,
a tarball or stdin context, `--pull`, `--no-cache`, squashing) never leave one.

The module imports nothing of the builder, the store or the image models: a replay costs a directory walk, a few
stats and one SQLite query.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

from tug.engine.build.options import BuildEvent, BuildOptions, OnEvent

VERSION = 1
MEMO_DIR = ("buildcache", "memo")
RACY_NS = 1_000_000_000
REPLAYED = ("step", "base", "cache", "done", "triggers", "warning")


def _sha256():  # noqa: ANN202 - a hash object; the builtin one loads no OpenSSL
    try:
        from _sha256 import sha256  # type: ignore[import-not-found]  # Python <= 3.11
    except ImportError:
        try:
            from _sha2 import sha256  # type: ignore[import-not-found,no-redef]  # Python >= 3.12
        except ImportError:
            from hashlib import sha256  # type: ignore[assignment]
    return sha256()


def dockerfile_path(opts: BuildOptions) -> str | None:
    """The Dockerfile a directory context's build reads (as context.open_context finds it); None for stdin."""
    name = opts.dockerfile
    if name == "-":
        return None
    if name:
        if os.path.exists(name):
            return os.path.abspath(name)
        return os.path.join(os.path.abspath(opts.context), name.lstrip("/"))
    path = os.path.join(os.path.abspath(opts.context), "Dockerfile")
    if not os.path.exists(path) and os.path.exists(path[: -len("Dockerfile")] + "dockerfile"):
        return path[: -len("Dockerfile")] + "dockerfile"
    return path


def memo_key(opts: BuildOptions, env: os._Environ[str] | dict[str, str]) -> str | None:
    """The memo's name for these options; None when the build may never be replayed."""
    if opts.no_cache or opts.pull or opts.squash or opts.squash_all or opts.context == "-":
        return None
    if not os.path.isdir(opts.context):
        return None
    df = dockerfile_path(opts)
    if df is None:
        return None
    doc = {"v": VERSION, "context": os.path.realpath(opts.context), "dockerfile": df,
           "build_args": opts.build_args, "target": opts.target, "network": opts.network, "labels": opts.labels,
           "explain": opts.explain, "secrets": opts.secrets, "ssh": opts.ssh, "platform": opts.platform,
           "run_settings": opts.run_settings,
           "epoch": env.get("SOURCE_DATE_EPOCH", "").strip()}
    h = _sha256()
    h.update(json.dumps(doc, sort_keys=True).encode())
    return h.hexdigest()


def signature(context: str, dockerfile: str) -> tuple[str, bool]:
    """(digest of every context entry's stat, racy): see the module docstring."""
    h = _sha256()
    limit = time.time_ns() - RACY_NS
    racy = False
    matcher = None
    ignore = os.path.join(context, ".dockerignore")
    if os.path.isfile(ignore):
        from tug.dockerfile.ignore import IgnoreMatcher, read_dockerignore

        with open(ignore, "rb") as f:
            matcher = IgnoreMatcher(read_dockerignore(f.read()))
    try:
        st = os.stat(dockerfile)
    except FileNotFoundError:
        return "", True
    h.update(f"{dockerfile}\0{st.st_mode}\0{st.st_size}\0{st.st_ino}\0{st.st_mtime_ns}\0{st.st_ctime_ns}\n".encode())
    racy = max(st.st_mtime_ns, st.st_ctime_ns) > limit
    stack = [("", context)]
    while stack:
        rel, path = stack.pop()
        with os.scandir(path) as it:
            entries = sorted(it, key=lambda e: e.name)
        for e in entries:
            sub = f"{rel}/{e.name}" if rel else e.name
            st = e.stat(follow_symlinks=False)
            is_dir = e.is_dir(follow_symlinks=False)
            if matcher is not None and matcher.excluded(sub) and not (is_dir and matcher.may_contain_included(sub)):
                continue
            h.update(f"{sub}\0{st.st_mode}\0{st.st_size}\0{st.st_ino}\0{st.st_mtime_ns}\0{st.st_ctime_ns}\n"
                     .encode(errors="surrogateescape"))
            if st.st_mtime_ns > limit or st.st_ctime_ns > limit:
                racy = True
            if is_dir:
                stack.append((sub, e.path))
    return h.hexdigest(), racy


class Memo:
    """The memo of one set of build options: `replay` it, or `save` a fully cached build as it."""

    def __init__(self, root: str, opts: BuildOptions, env: os._Environ[str] | dict[str, str]) -> None:
        self.root = root
        self.opts = opts
        self.key = memo_key(opts, env)
        self.sig = ""
        self.racy = True
        self.familiar: list[str] = []  # after a replay: the tags as docker prints them
        if self.key is not None:
            df = dockerfile_path(opts)
            assert df is not None
            self.sig, self.racy = signature(os.path.realpath(opts.context), df)

    @property
    def path(self) -> str:
        return os.path.join(self.root, *MEMO_DIR, f"{self.key}.json")

    def replay(self, tags: list[str], on_event: OnEvent) -> str | None:
        """The image id after replaying the memo's events, or None (nothing emitted) when it does not apply.
        `tags` are the -t values as given; the memo maps them to the names it recorded."""
        if self.key is None or not self.sig:
            return None
        try:
            with open(self.path, "rb") as f:
                doc = json.loads(f.read())
        except (OSError, ValueError):
            return None
        try:
            if doc["v"] != VERSION or doc["sig"] != self.sig or _killed_builds_wait(self.root):
                return None
            named = doc["tags"]
            if any(t not in named for t in tags):
                return None
            if not all(os.path.exists(os.path.join(self.root, p)) for p in doc["paths"]):
                return None
            want = dict(doc["bases"])
            want.update({named[t]: doc["image"] for t in tags})
            if not _db_agrees(self.root, doc["image"], want):
                return None
            events = [BuildEvent(kind, text) for kind, text in doc["events"]]
            self.familiar = [doc["familiar"][t] for t in tags]
        except (KeyError, TypeError, ValueError):
            return None
        for e in events:
            on_event(e)
        return str(doc["image"])

    def save(self, image: str, tags: dict[str, str], familiar: dict[str, str], bases: dict[str, str],
             paths: list[str], events: list[BuildEvent]) -> bool:
        """Write the memo of a fully cached build (not when the context was racy or any event is not replayable)."""
        if self.key is None or self.racy or not self.sig or any(e.kind not in REPLAYED for e in events):
            return False
        doc: dict[str, Any] = {"v": VERSION, "sig": self.sig, "image": image, "tags": tags, "familiar": familiar,
                               "bases": bases,
                               "paths": sorted(set(paths)), "events": [[e.kind, e.text] for e in events]}
        path = self.path
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "w") as f:
            f.write(json.dumps(doc))
        os.replace(tmp, path)
        return True


def _killed_builds_wait(root: str) -> bool:
    """A build scratch directory exists: let the ordinary build look whether its owner died (workdir.py)."""
    try:
        names = os.listdir(os.path.join(root, "tmp"))
    except FileNotFoundError:
        return False
    return any(n.startswith(("build-", ".building-")) for n in names)


def _db_agrees(root: str, image: str, tags: dict[str, str]) -> bool:
    """One read: the image is recorded and every tag names what the memo says."""
    import sqlite3

    path = os.path.join(root, "tug.db")
    if not os.path.exists(path):
        return False
    conn = sqlite3.connect(path, timeout=10, isolation_level=None)
    try:
        marks = ",".join("?" * len(tags))
        rows = conn.execute(f"SELECT name, image_id FROM tags WHERE name IN ({marks}) "  # noqa: S608 - only marks
                            "UNION ALL SELECT '', id FROM images WHERE id = ?", (*tags, image)).fetchall()
    except sqlite3.Error:
        return False
    finally:
        conn.close()
    found = dict(rows)
    return found.get("") == image and all(found.get(name) == want for name, want in tags.items())
