"""SIGKILL of commit, load and rmi at random points, 50+ times each: `system check` repairs what is left and every
image that was complete before stays complete. Plus `system check` on planted damage.

The killed operations run in forked children of the test process (the engine already imported), so a kill point
costs a fork, not an interpreter start; the kill lands at a random time within the operation's measured length.
"""

from __future__ import annotations

import io
import json
import os
import random
import shutil
import signal
import tarfile
import time

import pytest
from layers_helpers import runtime_for

from tug.engine import images
from tug.engine.archive import save
from tug.engine.archive_load import load
from tug.engine.check import check
from tug.engine.commit import CommitOptions, commit
from tug.engine.engine import Engine
from tug.engine.importer import import_tarball

KILLS = 50


def in_child(root, runroot, fn) -> int:  # noqa: ANN001
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 1
        try:
            fn(Engine(root, runroot, env={}))
            code = 0
        finally:
            os._exit(code)
    return pid


def timed(root, runroot, fn) -> float:  # noqa: ANN001
    t0 = time.monotonic()
    pid = in_child(root, runroot, fn)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    return time.monotonic() - t0


REPAIRED: list[str] = []


def kill_loop(tug, fn_for, rng: random.Random, before: list[str], between=None) -> int:  # noqa: ANN001
    """Run fn_for(i) in a child KILLS times, SIGKILL each at a random point; check and repair after each."""
    length = timed(tug.root, tug.runroot, fn_for(-1))
    killed = 0
    for i in range(KILLS):
        if between is not None:
            between(i)
        pid = in_child(tug.root, tug.runroot, fn_for(i))
        time.sleep(rng.uniform(0, length * 1.1))
        os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        killed += os.WIFSIGNALED(status)
        eng = Engine(tug.root, tug.runroot, env={})
        report = check(eng, repair=True)
        assert not report.unrepaired, [str(p) for p in report.unrepaired]
        REPAIRED.extend(p.kind for p in report.problems)
        again = check(eng, repair=False)
        assert not again.problems, [str(p) for p in again.problems]
        assert set(before) <= set(again.images_ok)
    return killed


def small_tar(i: int) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for j in range(20):
            data = f"image {i} file {j}\n".encode() * 50
            ti = tarfile.TarInfo(f"d{i}/f{j}")
            ti.size = len(data)
            tf.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


@pytest.fixture
def store(busybox_tug):
    rt = runtime_for(busybox_tug)
    script = "mkdir /w; i=0; while [ $i -lt 300 ]; do echo $i > /w/f$i; i=$((i+1)); done; rm /etc/group"
    busybox_tug("run", "--runtime", rt, "--name", "work", "busybox", "sh", "-c", script, check=True)
    return busybox_tug


def test_sigkill_commit_load_rmi(store, tmp_path):
    seed = int.from_bytes(os.urandom(4), "big")
    rng = random.Random(seed)
    print(f"random seed {seed}")
    eng = Engine(store.root, store.runroot, env={})
    commit(eng, CommitOptions("work", "kept:1"))
    before = [images.find(eng, n).id for n in ("busybox", "kept:1")]
    archive = tmp_path / "kept.tar"
    with open(archive, "wb") as f:
        save(eng, ["kept:1"], "docker", out=f)

    kills = kill_loop(store, lambda i: lambda e: commit(e, CommitOptions("work", f"c{i}:x")), rng, before)
    per_phase = [kills]

    def drop_loaded(i: int) -> None:
        e = Engine(store.root, store.runroot, env={})
        for name in ("loaded:1",):
            try:
                images.remove(e, name, force=True)
            except Exception:  # noqa: BLE001 - not there after a kill before the record
                pass

    with open(archive, "rb") as f:
        data = f.read()
    loaded = tmp_path / "loaded.tar"
    with tarfile.open(fileobj=io.BytesIO(data)) as src, tarfile.open(loaded, "w") as dst:
        for m in src.getmembers():
            body = src.extractfile(m) if m.isreg() else None
            if m.name == "manifest.json":
                doc = json.loads(body.read())
                doc[0]["RepoTags"] = ["loaded:1"]
                raw = json.dumps(doc).encode()
                m.size = len(raw)
                body = io.BytesIO(raw)
            dst.addfile(m, body)
    per_phase.append(kill_loop(store, lambda i: lambda e: load(e, str(loaded)), rng, before, between=drop_loaded))

    pool = [import_tarball(eng, io.BytesIO(small_tar(i)), [f"pool{i}:1"]) for i in range(KILLS + 1)]
    assert len(set(pool)) == KILLS + 1
    per_phase.append(kill_loop(store, lambda i: lambda e: images.remove(e, f"pool{i + 1}:1"), rng, before))
    kills = sum(per_phase)
    # kill points are uniform over the command's length, so about two thirds land mid-command; a phase where
    # fewer than 10 of 50 landed would mean the loop was not testing anything
    assert min(per_phase) >= 10, per_phase
    assert len(REPAIRED) >= 10, REPAIRED  # and many left something behind that check repaired
    print(f"{kills} kills, repairs: " + ", ".join(f"{k} {REPAIRED.count(k)}" for k in sorted(set(REPAIRED))))
    for image_id in before:
        img = images.find(eng, image_id)
        assert img.id == image_id
    r = store("run", "--rm", "--runtime", runtime_for(store), "kept:1", "cat", "/w/f299", check=True)
    assert r.stdout == "299\n"


def test_check_finds_and_repairs_planted_damage(store):
    eng = Engine(store.root, store.runroot, env={})
    commit(eng, CommitOptions("work", "app:1"))
    app = images.find(eng, "app:1")
    cfg = images.config(eng, app)
    top = str(cfg.diff_ids[-1]).split(":")[1]
    chain = images.layer_chain(eng, app)[-1]
    shutil.rmtree(store.root / "snapshots" / chain.hex)  # a lost snapshot: its blob is there
    (store.root / "snapshots" / ("e" * 64)).mkdir()  # a directory with no layer.json
    (store.root / "containers" / ("f" * 64)).mkdir()  # a container directory without a record
    (store.root / "blobs" / "sha256" / ("a" * 64)).write_bytes(b"not what the name says")
    (store.root / "index.json").write_text('{"schemaVersion": 2, "manifests": []}')
    found = check(eng)
    kinds = sorted((p.kind, p.message.split(":")[0]) for p in found.problems)
    assert len(found.problems) == 6, kinds  # the lost snapshot counts twice: its row, and its image
    assert all(p.repair for p in found.problems) and not any(p.repaired for p in found.problems)
    r = store("system", "check", "--repair")
    assert r.returncode == 0, r.stdout
    assert "6 problems found, 6 repaired" in r.stdout
    assert store("system", "check", check=True).stdout.strip().endswith("0 problems found.")
    assert (store.root / "snapshots" / chain.hex / "fs" / "w" / "f1").read_text() == "1\n"
    assert (store.root / "blobs" / "sha256" / top).exists()
    # a corrupt layer blob of an image: removed, and the image reported as unable to be saved
    (store.root / "blobs" / "sha256" / top).write_bytes(b"rot")
    r = store("system", "check", "--repair")
    assert r.returncode == 1 and "cannot be saved" in r.stdout
