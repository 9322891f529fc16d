"""The memo of a fully cached build: its key (which options rule a replay out), the context's stat signature
(content, names, .dockerignore), racy signatures, and a replay that checks its files and the database."""

from __future__ import annotations

import json
import os
import sqlite3
import time

import pytest

from tug.engine.build.memo import Memo, memo_key, signature
from tug.engine.build.options import BuildEvent, BuildOptions


def _ctx(tmp_path, files=None):
    ctx = tmp_path / "ctx"
    ctx.mkdir(exist_ok=True)
    for name, data in (files or {"Dockerfile": "FROM busybox\nCOPY a /a\n", "a": "a\n"}).items():
        p = ctx / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(data)
    return ctx


def _old(path):
    """Make every entry's times old enough not to be racy (ctime cannot be set: wait for it instead)."""
    time.sleep(1.05)


@pytest.mark.parametrize("change,replayable", [
    ({}, True),
    ({"no_cache": True}, False),
    ({"pull": True}, False),
    ({"squash": True}, False),
    ({"squash_all": True}, False),
    ({"context": "-"}, False),
    ({"dockerfile": "-"}, False),
])
def test_key_rules_out_builds_that_read_more_than_the_context(tmp_path, change, replayable):
    ctx = _ctx(tmp_path)
    opts = BuildOptions(context=str(ctx))
    for k, v in change.items():
        setattr(opts, k, v)
    assert (memo_key(opts, {}) is not None) == replayable


@pytest.mark.parametrize("field,value", [
    ("build_args", {"A": "1"}), ("target", "t"), ("network", "host"), ("labels", {"l": "v"}), ("explain", True),
    ("platform", "linux/arm64"), ("secrets", {"s": "/x"}), ("dockerfile", "other.Dockerfile"),
    ("run_settings", {"memory": "64m"}), ("run_settings", {"ulimits": ["nofile=1024:1024"]}),
    ("run_settings", {"security_opt": ["seccomp=/p.json"]}), ("run_settings", {"add_hosts": ["a:10.0.0.1"]}),
])
def test_key_changes_with_every_option(tmp_path, field, value):
    ctx = _ctx(tmp_path)
    base = memo_key(BuildOptions(context=str(ctx)), {})
    opts = BuildOptions(context=str(ctx))
    setattr(opts, field, value)
    assert memo_key(opts, {}) != base
    assert memo_key(BuildOptions(context=str(ctx)), {"SOURCE_DATE_EPOCH": "5"}) != base


def test_key_is_none_for_a_tarball_context(tmp_path):
    (tmp_path / "c.tar").write_bytes(b"x")
    assert memo_key(BuildOptions(context=str(tmp_path / "c.tar")), {}) is None


def test_signature_sees_content_names_and_modes_but_not_ignored_paths(tmp_path):
    ctx = _ctx(tmp_path, {"Dockerfile": "FROM x\n", "a": "a\n", "sub/b": "b\n", ".dockerignore": "logs\n",
                          "logs/x.log": "1\n"})
    df = str(ctx / "Dockerfile")
    first, _ = signature(str(ctx), df)
    assert signature(str(ctx), df)[0] == first
    (ctx / "logs" / "x.log").write_text("2, a different size\n")
    (ctx / "logs" / "new.log").write_text("new\n")
    assert signature(str(ctx), df)[0] == first  # .dockerignore hides logs/ from every COPY
    (ctx / "sub" / "b").write_text("c\n")  # same size, new content: a new ctime
    second, _ = signature(str(ctx), df)
    assert second != first
    os.chmod(ctx / "a", 0o600)
    third, _ = signature(str(ctx), df)
    assert third != second
    (ctx / "sub" / "c").write_text("")
    assert signature(str(ctx), df)[0] != third


def test_signature_is_racy_for_fresh_files_only(tmp_path):
    ctx = _ctx(tmp_path)
    assert signature(str(ctx), str(ctx / "Dockerfile"))[1] is True
    _old(ctx)
    assert signature(str(ctx), str(ctx / "Dockerfile"))[1] is False
    (ctx / "a").write_text("b\n")
    assert signature(str(ctx), str(ctx / "Dockerfile"))[1] is True


def _store(tmp_path, tags: dict[str, str], image: str):
    root = tmp_path / "root"
    root.mkdir()
    db = sqlite3.connect(root / "tug.db")
    db.execute("CREATE TABLE tags (name TEXT PRIMARY KEY, image_id TEXT)")
    db.execute("CREATE TABLE images (id TEXT PRIMARY KEY)")
    db.executemany("INSERT INTO tags VALUES (?, ?)", list(tags.items()))
    db.execute("INSERT INTO images VALUES (?)", (image,))
    db.commit()
    db.close()
    (root / "blobs").mkdir()
    (root / "blobs" / "cfg").write_text("{}")
    return root


def test_replay_needs_a_clean_signature_its_files_and_the_database_as_recorded(tmp_path):
    ctx = _ctx(tmp_path)
    _old(ctx)
    img = "sha256:" + "1" * 64
    base = "sha256:" + "2" * 64
    root = _store(tmp_path, {"docker.io/library/busybox:latest": base, "docker.io/library/app:latest": img}, img)
    opts = BuildOptions(context=str(ctx), tags=["app"])
    events = [BuildEvent("step", "Step 1/2 : FROM busybox"), BuildEvent("base", "2222"),
              BuildEvent("step", "Step 2/2 : COPY a /a"), BuildEvent("cache", "Using cache"), BuildEvent("done", "1")]
    m = Memo(str(root), opts, {})
    assert m.save(img, {"app": "docker.io/library/app:latest"}, {"app": "app:latest"},
                  {"docker.io/library/busybox:latest": base}, ["blobs/cfg"], events)

    def replay(tags=("app",)):
        got: list[tuple[str, str]] = []
        memo = Memo(str(root), BuildOptions(context=str(ctx), tags=list(tags)), {})
        image = memo.replay(list(tags), lambda e: got.append((e.kind, e.text)))
        return image, got, memo.familiar

    image, got, familiar = replay()
    assert image == img and got == [(e.kind, e.text) for e in events] and familiar == ["app:latest"]
    assert replay(("other",))[0] is None  # a tag the memo never recorded
    db = sqlite3.connect(root / "tug.db")
    db.execute("UPDATE tags SET image_id = 'sha256:x' WHERE name LIKE '%busybox%'")  # the base was re-tagged
    db.commit()
    assert replay() == (None, [], [])
    db.execute("UPDATE tags SET image_id = ? WHERE name LIKE '%busybox%'", (base,))
    db.commit()
    assert replay()[0] == img
    db.execute("DELETE FROM images")  # the image was removed
    db.commit()
    assert replay()[0] is None
    db.execute("INSERT INTO images VALUES (?)", (img,))
    db.commit()
    db.close()
    (root / "blobs" / "cfg").unlink()  # a step's blob is gone
    assert replay()[0] is None
    (root / "blobs" / "cfg").write_text("{}")
    assert replay()[0] == img
    (root / "tmp" / "build-0123").mkdir(parents=True)  # maybe a killed build: the ordinary path looks at it
    assert replay()[0] is None
    (root / "tmp" / "build-0123").rmdir()
    (ctx / "a").write_text("b\n")
    assert replay()[0] is None


def test_no_memo_from_a_racy_signature_or_unreplayable_events(tmp_path):
    ctx = _ctx(tmp_path)
    root = tmp_path / "root"
    m = Memo(str(root), BuildOptions(context=str(ctx)), {})
    assert m.racy and not m.save("sha256:1", {}, {}, {}, [], [])
    _old(ctx)
    m = Memo(str(root), BuildOptions(context=str(ctx)), {})
    assert not m.save("sha256:1", {}, {}, {}, [], [BuildEvent("running", "abc")])
    assert m.save("sha256:1", {}, {}, {}, [], [BuildEvent("step", "Step 1/1 : FROM scratch")])
    with open(m.path) as f:
        assert json.loads(f.read())["image"] == "sha256:1"


def test_the_clis_store_root_is_the_engines():
    from tug.cli.build import build, store_root
    from tug.cli.flags import Context
    from tug.engine.engine import Engine

    env = os.environ.pop("TUG_ROOT", None)
    try:
        ctx = Context(build, "build")
        assert store_root(ctx, None) == str(Engine.from_env().root)
        assert store_root(ctx, "rel/dir") == str(Engine.from_env("rel/dir").root)
        ctx.obj = {"root": "/x/y"}
        assert store_root(ctx, None) == "/x/y"
    finally:
        if env is not None:
            os.environ["TUG_ROOT"] = env
