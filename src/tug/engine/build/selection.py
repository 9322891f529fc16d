"""COPY/ADD `--exclude=PATTERN` and COPY `--parents`, as the Dockerfile frontend's labs syntax defines them.

Both work on the path an object gets below the destination:

  - without `--parents`, a copied file lands as its name, and what a copied directory holds lands as its path below
    that directory; `--exclude` patterns are matched against those paths (`*.log` leaves out top-level logs only,
    `**/*.log` all of them), with .dockerignore's rules (a pattern matches a path or any of its parents; `!`
    re-includes);
  - with `--parents`, each source keeps the directories above it: `COPY --parents a/b/c.txt /d/` makes
    `/d/a/b/c.txt`. A `/./` in the source marks where kept parents start (`x/./y/c.txt` gives `/d/y/c.txt`); the
    exclude patterns then see those longer paths.

The functions here are pure (paths and entry lists in, paths and entry lists out) and tested with tables.
"""

from __future__ import annotations

import posixpath

from tug.dockerfile.ignore import IgnoreMatcher, clean
from tug.engine.build.context import Entry, Source
from tug.records import replace


def split_pivot(source: str) -> tuple[str, str]:
    """(the directory kept parents start below, the source as a path pattern) for a `--parents` source."""
    text = source
    while text.startswith("./"):
        text = text[2:]
    head, sep, tail = text.partition("/./")
    if not sep:
        return "", source
    pivot = clean(head).lstrip("/")
    return ("" if pivot == "." else pivot), f"{head}/{tail}"


def kept_parents(matched: str, pivot: str, is_dir: bool) -> str:
    """The directory a `--parents` source lands in, below the destination: its parents below the pivot, and for a
    directory the directory itself (its contents go inside it)."""
    path = clean(matched).lstrip("/")
    if pivot and (path == pivot or path.startswith(pivot + "/")):
        path = path[len(pivot):].lstrip("/")
    elif pivot:
        return ""  # a match outside its pivot cannot happen for a cleaned pattern; keep it flat
    if path in ("", "."):
        return ""
    return path if is_dir else posixpath.dirname(path)


def landing(src: Source, e: Entry) -> str:
    """The path `e` of `src` gets below the destination (what --exclude patterns are matched against)."""
    rel = e.rel if src.is_dir else src.name
    if not rel:
        return src.prefix
    return f"{src.prefix}/{rel}" if src.prefix else rel


def exclude(src: Source, matcher: IgnoreMatcher) -> Source | None:
    """`src` without the entries the patterns exclude (a directory stays when something below it stays); None when
    nothing of it is left to copy."""
    if not matcher.patterns:
        return src
    if not src.is_dir:
        return None if matcher.excluded(landing(src, src.entries[0])) else src
    kept: list[Entry] = [src.entries[0]]
    pending: list[Entry] = []  # excluded directories, kept only if something below them is
    for e in src.entries[1:]:
        while pending and not e.rel.startswith(pending[-1].rel + "/"):
            pending.pop()
        if matcher.excluded(landing(src, e)):
            if e.kind == "dir":
                pending.append(e)
            continue
        for d in pending:  # a re-included path: the directories above it come too, in order
            if d not in kept:
                kept.append(d)
        kept.append(e)
    return replace(src, entries=kept)


def select(sources: list[Source], excludes: list[str], parents: bool, pivot: str) -> list[Source]:
    """The sources one argument gave, placed for `--parents` and filtered by `--exclude`."""
    matcher = IgnoreMatcher(excludes)
    out = []
    for s in sources:
        if parents:
            s = replace(s, prefix=kept_parents(s.matched or s.path, pivot, s.is_dir))
        kept = exclude(s, matcher) if excludes else s
        if kept is not None:
            out.append(kept)
    return out
