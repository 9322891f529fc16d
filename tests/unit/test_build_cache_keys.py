"""The build cache's keys, its on-disk index and `--explain`'s reasons (pure, temp dirs only)."""

from __future__ import annotations

import pytest

from tug import records
from tug.engine.build.cache import BuildCache, Result, StepInputs, explain
from tug.engine.record import LayerBlob
from tug.oci.descriptor import Descriptor
from tug.oci.digest import Digest

PARENT = "sha256:" + "a" * 64
OTHER = "sha256:" + "b" * 64


def inputs(**kw) -> StepInputs:
    base = StepInputs(PARENT, "/bin/sh -c make", args=["V=1"],
                      files={"src/a.c": "file 644 x1", "src/b.c": "file 644 x2"},
                      extra={"source stage": "sha256:" + "c" * 64})
    return records.replace(base, **kw)


def test_key_is_stable_and_order_independent_for_args():
    assert inputs().key() == inputs().key()
    assert inputs(args=["B=2", "A=1"]).key() == inputs(args=["A=1", "B=2"]).key()


@pytest.mark.parametrize("change", [
    {"parent": OTHER},
    {"instruction": "/bin/sh -c make all"},
    {"args": ["V=2"]},
    {"files": {"src/a.c": "file 644 x1", "src/b.c": "file 644 CHANGED"}},
    {"files": {"src/a.c": "file 755 x1", "src/b.c": "file 644 x2"}},
    {"files": {"src/a.c": "file 644 x1"}},
    {"extra": {"source stage": "sha256:" + "d" * 64}},
])
def test_every_input_changes_the_key(change):
    assert inputs(**change).key() != inputs().key()


@pytest.mark.parametrize(("change", "reason"), [
    ({"parent": OTHER}, "the parent changed"),
    ({"instruction": "/bin/sh -c make all"}, "the instruction changed (was: /bin/sh -c make)"),
    ({"args": ["V=2"]}, "the build argument V changed"),
    ({"files": {"src/a.c": "file 644 x1", "src/b.c": "file 644 new"}}, "the file src/b.c changed"),
    ({"files": {"src/a.c": "file 644 x1"}}, "the file src/b.c is gone"),
    ({"files": {"src/a.c": "file 644 x1", "src/b.c": "file 644 x2", "src/c.c": "file 644 x3"}},
     "the file src/c.c is new"),
    ({"extra": {"source stage": "sha256:" + "d" * 64}}, "the source stage changed"),
])
def test_explain_names_the_first_difference(change, reason):
    assert explain(inputs(), inputs(**change)).startswith(reason)


def test_explain_prefers_the_instruction_over_files():
    new = inputs(instruction="/bin/sh -c other", files={})
    assert "instruction" in explain(inputs(), new)


def _result() -> Result:
    d = Digest.of(b"layer")
    return Result(Digest.of(b"config"), [LayerBlob(Descriptor("application/vnd.oci.image.layer.v1.tar", d, 5), d, 5)])


def test_store_and_lookup_survive_a_new_cache_object(tmp_path):
    BuildCache(tmp_path).store(inputs(), _result())
    got = BuildCache(tmp_path).lookup(inputs())
    assert got == _result()
    assert BuildCache(tmp_path).lookup(inputs(args=["V=9"])) is None


def test_why_missed_compares_with_the_earlier_build_of_the_same_step(tmp_path):
    cache = BuildCache(tmp_path)
    assert cache.why_missed(inputs(), first_step=True) == "no earlier build from this base image"
    assert "parent is new" in cache.why_missed(inputs(), first_step=False)
    cache.store(inputs(), _result())
    changed = inputs(files={"src/a.c": "file 644 x1", "src/b.c": "file 644 zz"})
    assert cache.why_missed(changed, first_step=False) == "the file src/b.c changed"


def test_referenced_and_prune(tmp_path):
    cache = BuildCache(tmp_path)
    cache.store(inputs(), _result())
    (cache.mount_dir("apt")).mkdir(parents=True)
    blobs, chains = cache.referenced()
    assert Digest.of(b"config") in blobs and Digest.of(b"layer") in blobs and Digest.parse(PARENT) in blobs
    assert chains == {Digest.of(b"layer")}
    assert cache.prune(mounts=True) == (1, 1)
    assert cache.lookup(inputs()) is None
    assert cache.referenced() == (set(), set())
