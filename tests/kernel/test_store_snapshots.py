"""Snapshots for real: unpack once under concurrency, survive SIGKILL mid-extraction, remove, restore rows."""

from __future__ import annotations

import gzip
import io
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from store_tars import entry, tar_bytes

from tug.errors import Corrupt
from tug.oci.digest import Digest, chain_ids
from tug.store import Store

LAYER = tar_bytes([entry("etc/", "dir"), entry("etc/hostname", data=b"tug\n"),
                   entry("big", data=os.urandom(1 << 20))])

ENSURE = textwrap.dedent("""
    import io, sys, time
    from pathlib import Path
    from tug.oci.digest import Digest
    from tug.store import Store
    root, layer, count, go = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4])
    store = Store(root)
    raw = layer.read_bytes()
    def opener():
        with open(count, "a") as f:
            f.write("x")
        return io.BytesIO(raw)
    while not go.exists():
        time.sleep(0.005)
    snap = store.snapshots.ensure(Digest.of(raw), None, opener, "none")
    print(snap.path)
""")


def test_concurrent_ensure_unpacks_once(tmp_path):
    root = tmp_path / "root"
    Store(root).open()
    layer, count, go = tmp_path / "layer.tar", tmp_path / "count", tmp_path / "go"
    layer.write_bytes(LAYER)
    procs = [subprocess.Popen([sys.executable, "-c", ENSURE, str(root), str(layer), str(count), str(go)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(4)]
    go.touch()
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [e for _, e in outs]
    assert len({o.strip() for o, _ in outs}) == 1
    assert count.read_text() == "x"
    store = Store(root)
    chain = Digest.of(LAYER)
    assert store.snapshots.exists(chain)
    assert [r["chain_id"] for r in store.metadata.list_layers()] == [str(chain)]
    assert sorted(p.name for p in store.layout.snapshots.iterdir()) == [chain.hex]


def test_ensure_returns_existing_and_checks_diff_id(tmp_path):
    store = Store(tmp_path / "root").open()
    chain = Digest.of(LAYER)
    blob = gzip.compress(LAYER)
    snap = store.snapshots.ensure(chain, None, lambda: io.BytesIO(blob), "gzip", diff_id=chain)
    assert snap.diff_id == chain and snap.size == 4 + (1 << 20)
    assert (snap.path / "etc/hostname").read_text() == "tug\n" and os.fspath(snap) == str(snap.path)
    again = store.snapshots.ensure(chain, None, lambda: pytest.fail("must not unpack twice"), "gzip")
    assert again == snap
    raw2 = tar_bytes([entry("x", data=b"x")])
    d2 = Digest.of(raw2)
    chain2 = chain_ids([chain, d2])[1]
    with pytest.raises(Corrupt):  # a chain id that is not parent + diff id
        store.snapshots.ensure(Digest.of(b"nope"), chain, lambda: io.BytesIO(raw2), "none")
    with pytest.raises(Corrupt):  # the chain is right but the caller's diff id is not
        store.snapshots.ensure(chain2, chain, lambda: io.BytesIO(raw2), "none", diff_id=Digest.of(b"other"))
    s2 = store.snapshots.ensure(chain2, chain, lambda: io.BytesIO(raw2), "none", diff_id=d2)
    assert s2.parent == chain
    assert store.metadata.get_layer(chain2) == {"chain_id": str(chain2), "diff_id": str(d2), "parent": str(chain),
                                                "size": 1}


def test_remove_and_row_restore(tmp_path):
    store = Store(tmp_path / "root").open()
    chain = Digest.of(LAYER)
    store.snapshots.ensure(chain, None, lambda: io.BytesIO(LAYER), "none")
    store.metadata.delete_layer(chain)  # as if the process died between rename and the row
    assert store.snapshots.get(chain) is not None
    assert store.metadata.get_layer(chain)["size"] == 4 + (1 << 20)
    store.snapshots.remove(chain)
    assert not store.snapshots.exists(chain)
    assert store.metadata.get_layer(chain) is None
    assert list(store.layout.snapshots.iterdir()) == []
    store.snapshots.remove(chain)  # idempotent


KILLED = textwrap.dedent("""
    import sys
    from pathlib import Path
    from tug.oci.digest import Digest
    from tug.store import Store
    root, fifo = Path(sys.argv[1]), sys.argv[2]
    store = Store(root)
    store.snapshots.ensure(Digest("sha256", "ab" * 32), None, lambda: open(fifo, "rb"), "none")
""")


def test_sigkill_mid_extraction_leaves_old_state_and_recover_cleans(tmp_path):
    root = tmp_path / "root"
    store = Store(root).open()
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    p = subprocess.Popen([sys.executable, "-c", KILLED, str(root), str(fifo)], stderr=subprocess.PIPE)
    try:
        with open(fifo, "wb") as w:
            w.write(LAYER[: len(LAYER) // 2])  # half a layer: the child is now unpacking
            w.flush()
            deadline = time.monotonic() + 60
            while not any(p.name.startswith(".tmp-") for p in store.layout.snapshots.iterdir()):
                assert time.monotonic() < deadline, "the extraction never started"
                time.sleep(0.01)
            partial_dirs = [p for p in store.layout.snapshots.iterdir() if p.name.startswith(".tmp-")]
            # while the extraction is alive, recover() leaves its temp dir alone (the chain lock is held)
            assert Store(root).recover() == []
            assert all(d.exists() for d in partial_dirs)
            os.kill(p.pid, signal.SIGKILL)
            p.wait(timeout=30)
    except BrokenPipeError:
        pass
    finally:
        if p.poll() is None:
            os.kill(p.pid, signal.SIGKILL)
            p.wait()
    chain = Digest("sha256", "ab" * 32)
    assert not store.snapshots.exists(chain)
    assert store.metadata.list_layers() == []
    removed = Store(root).recover()
    assert len(removed) == 1 and removed[0].startswith(".tmp-")
    assert list(store.layout.snapshots.iterdir()) == []
