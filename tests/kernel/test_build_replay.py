"""The replay of a fully cached build (memo.py) end to end: it prints what the cached build printed, and every
change a build could see (a copied file, the base's tag, the image, a new tag, a pruned cache) falls through to the
ordinary build."""

from __future__ import annotations

import json
import time

from build_helpers import build, containers_run, image_id, run, write_context

APP = "FROM busybox\nCOPY conf /conf\nRUN cat /conf > /derived\nCMD [\"cat\", \"/derived\"]\n"


def _memos(tug):
    d = tug.root / "buildcache" / "memo"
    return sorted(d.glob("*.json")) if d.is_dir() else []


def test_replay_and_what_invalidates_it(busybox_tug, tmp_path):
    ctx = write_context(tmp_path / "ctx", {"Dockerfile": APP, "conf": "one\n"})
    time.sleep(1.05)  # older than the racy window: the cached build below may leave a memo
    assert containers_run(build(busybox_tug, ctx, "-t", "app").stdout) == 1
    assert not _memos(busybox_tug)  # containers ran: nothing to replay yet
    cached = build(busybox_tug, ctx, "-t", "app").stdout
    assert containers_run(cached) == 0 and len(_memos(busybox_tug)) == 1
    assert build(busybox_tug, ctx, "-t", "app").stdout == cached

    memo = _memos(busybox_tug)[0]  # prove the replay is what printed: mark the memo's events
    doc = json.loads(memo.read_text())
    doc["events"][-1][1] += " (replayed)"
    memo.write_text(json.dumps(doc))
    assert " (replayed)" in build(busybox_tug, ctx, "-t", "app").stdout

    (ctx / "conf").write_text("two\n")  # same size, new content
    r = build(busybox_tug, ctx, "-t", "app")
    assert containers_run(r.stdout) == 1 and run(busybox_tug, "app") == "two\n"

    time.sleep(1.05)
    build(busybox_tug, ctx, "-t", "app")  # cached: a fresh memo
    first = image_id(busybox_tug, "app")
    busybox_tug("tag", "app", "busybox:latest", check=True)  # the base now names another image
    r = build(busybox_tug, ctx, "-t", "app")
    assert containers_run(r.stdout) == 1 and image_id(busybox_tug, "app") != first

    build(busybox_tug, ctx, "-t", "app")
    busybox_tug("rmi", "app", check=True)
    r = build(busybox_tug, ctx, "-t", "app")
    assert " (replayed)" not in r.stdout and image_id(busybox_tug, "app")

    r = build(busybox_tug, ctx, "-t", "app", "-t", "app:v2")  # a tag the memo never recorded
    assert "Successfully tagged app:v2" in r.stdout and image_id(busybox_tug, "app:v2") == image_id(busybox_tug, "app")

    busybox_tug("builder", "prune", "-f", check=True)
    assert not _memos(busybox_tug)
    assert containers_run(build(busybox_tug, ctx, "-t", "app").stdout) == 1
