"""COPY --parents placement and --exclude filtering (selection.py), from tables."""

from __future__ import annotations

import pytest

from tug.dockerfile.document import parse
from tug.dockerfile.ignore import IgnoreMatcher
from tug.engine.build.context import Entry, Source
from tug.engine.build.selection import exclude, kept_parents, landing, select, split_pivot


@pytest.mark.parametrize("source,want", [
    ("a/b/c.txt", ("", "a/b/c.txt")),
    ("./a/b/c.txt", ("", "./a/b/c.txt")),
    ("x/./y/*.txt", ("x", "x/y/*.txt")),
    ("./x/./y/*.txt", ("x", "x/y/*.txt")),
    ("x/y/./z", ("x/y", "x/y/z")),
    ("./x/a.txt", ("", "./x/a.txt")),
    ("x/./y/./z", ("x", "x/y/./z")),  # the first /./ is the pivot
])
def test_split_pivot(source, want):
    assert split_pivot(source) == want


@pytest.mark.parametrize("matched,pivot,is_dir,want", [
    ("a/b/c.txt", "", False, "a/b"),
    ("c.txt", "", False, ""),
    ("a/b", "", True, "a/b"),
    ("x/y/a.txt", "x", False, "y"),
    ("x/a.txt", "x", False, ""),
    ("x/y", "x", True, "y"),
    ("x", "x", True, ""),
    ("./a/../b/c.txt", "", False, "b"),
])
def test_kept_parents(matched, pivot, is_dir, want):
    assert kept_parents(matched, pivot, is_dir) == want


def _dir(path: str, rels: list[tuple[str, str]], prefix: str = "") -> Source:
    entries = [Entry("", "dir", 0o755)] + [Entry(r, k, 0o644 if k == "file" else 0o755) for r, k in rels]
    return Source(path, path.rsplit("/", 1)[-1], entries, matched=path, prefix=prefix)


TREE = [("a.1", "file"), ("a.2", "file"), ("sub", "dir"), ("sub/a.1", "file"), ("sub/a.2", "file"),
        ("sub/deep", "dir"), ("sub/deep/keep.1", "file"), ("logs", "dir"), ("logs/x.log", "file")]


@pytest.mark.parametrize("patterns,prefix,want", [
    ([], "", [r for r, _ in TREE]),
    (["*.1"], "", ["a.2", "sub", "sub/a.1", "sub/a.2", "sub/deep", "sub/deep/keep.1", "logs", "logs/x.log"]),
    (["**/*.1"], "", ["a.2", "sub", "sub/a.2", "sub/deep", "logs", "logs/x.log"]),
    (["sub"], "", ["a.1", "a.2", "logs", "logs/x.log"]),
    (["sub", "!sub/deep/keep.1"], "", ["a.1", "a.2", "sub", "sub/deep", "sub/deep/keep.1", "logs", "logs/x.log"]),
    (["logs/*"], "", ["a.1", "a.2", "sub", "sub/a.1", "sub/a.2", "sub/deep", "sub/deep/keep.1", "logs"]),
    (["*.1"], "dir", [r for r, _ in TREE]),  # with --parents the patterns see dir/... paths
    (["dir/*.1"], "dir", ["a.2", "sub", "sub/a.1", "sub/a.2", "sub/deep", "sub/deep/keep.1", "logs", "logs/x.log"]),
])
def test_exclude_in_a_directory(patterns, prefix, want):
    got = exclude(_dir("dir", TREE, prefix), IgnoreMatcher(patterns))
    assert got is not None and [e.rel for e in got.entries[1:]] == want


@pytest.mark.parametrize("name,prefix,patterns,kept", [
    ("home.txt", "", ["*.txt"], False),
    ("home.md", "", ["*.txt"], True),
    ("home.txt", "docs", ["*.txt"], True),
    ("home.txt", "docs", ["docs/*.txt"], False),
    ("home.txt", "docs", ["docs"], False),
    ("home.txt", "", ["*.txt", "!home.txt"], True),
])
def test_exclude_a_file(name, prefix, patterns, kept):
    src = Source(f"x/{name}", name, [Entry("", "file", 0o644)], matched=f"x/{name}", prefix=prefix)
    assert (exclude(src, IgnoreMatcher(patterns)) is not None) == kept
    assert landing(src, src.entries[0]) == (f"{prefix}/{name}" if prefix else name)


def test_select_places_and_filters():
    f1 = Source("x/y/a.txt", "a.txt", [Entry("", "file", 0o644)], matched="x/y/a.txt")
    f2 = Source("x/y/b.log", "b.log", [Entry("", "file", 0o644)], matched="x/y/b.log")
    got = select([f1, f2], ["**/*.log"], True, "x")
    assert [(s.path, s.prefix) for s in got] == [("x/y/a.txt", "y")]
    assert [(s.path, s.prefix) for s in select([f1, f2], [], False, "")] == [("x/y/a.txt", ""), ("x/y/b.log", "")]


@pytest.mark.parametrize("line,excludes,parents", [
    ("COPY --exclude=*.txt --exclude=**/*.md a b /d/", ["*.txt", "**/*.md"], False),
    ("COPY --parents a/b /d/", [], True),
    ("COPY --parents=false a /d/", [], False),
    ("ADD --exclude=*.log ctx /d/", ["*.log"], None),
])
def test_parser_reads_the_flags(line, excludes, parents):
    node = parse(f"FROM x\n{line}\n".encode()).stages[0].instructions[0]  # type: ignore[attr-defined]
    assert node.excludes == excludes
    if parents is not None:
        assert node.parents is parents
