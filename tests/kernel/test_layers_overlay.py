"""Whiteouts and opaque directories, as snapshots, give the right merged view when mounted as an overlay.

The mount happens only inside `unshare --mount --propagation private`: the host's mount table never changes.
"""

from __future__ import annotations

import io
import os
import stat
import subprocess

from store_tars import entry, tar_bytes

from conftest import mountinfo
from tug.oci.digest import Digest, chain_ids
from tug.store import Store
from tug.store.layers import OPAQUE_XATTR

LOWER = [
    entry("a/", "dir"), entry("a/keep", data=b"keep"), entry("a/gone", data=b"gone"),
    entry("b/", "dir"), entry("b/old1", data=b"1"), entry("b/old2/", "dir"), entry("b/old2/deep", data=b"d"),
    entry("c/", "dir"), entry("c/file", data=b"c"),
    entry("top", data=b"top"), entry("replaced", data=b"old"),
]
UPPER = [
    entry("a/.wh.gone"),
    entry("b/", "dir"), entry("b/.wh..wh..opq"), entry("b/new", data=b"new"),
    entry(".wh.top"), entry(".wh.c"),
    entry("replaced", data=b"new"),
    entry("added/", "dir"), entry("added/f", data=b"f"),
]


def merged_view(spec, upper, work) -> list[str]:
    script = (f'cd "{spec.cwd}" && mount -t {spec.fstype} {spec.source} -o "{spec.data}" "{spec.target}" && '
              f'cd "{spec.target}" && find . -mindepth 1 | sort && echo --- && '
              'for f in replaced b/new a/keep; do cat $f; echo; done')
    r = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout.split()


def test_whiteouts_and_opaque_dirs_merge_as_overlay(tmp_path):
    store = Store(tmp_path / "root").open()
    raws = [tar_bytes(LOWER), tar_bytes(UPPER)]
    chains = chain_ids([Digest.of(r) for r in raws])
    parent = None
    for raw, chain in zip(raws, chains, strict=True):
        store.snapshots.ensure(chain, parent, lambda raw=raw: io.BytesIO(raw), "none")
        parent = chain
    top = store.snapshots.path(chains[1])
    wh = os.lstat(top / "a/gone")
    assert stat.S_ISCHR(wh.st_mode) and wh.st_rdev == os.makedev(0, 0)
    assert stat.S_ISCHR(os.lstat(top / "top").st_mode) and stat.S_ISCHR(os.lstat(top / "c").st_mode)
    assert os.getxattr(top / "b", OPAQUE_XATTR) == b"y"
    assert not os.path.exists(top / "b/.wh..wh..opq")

    upper, work, target = tmp_path / "upper", tmp_path / "work", tmp_path / "merged"
    for d in (upper, work, target):
        d.mkdir()
    spec = store.snapshots.overlay_mount(chains, upper, work, target)
    before = mountinfo()
    view = merged_view(spec, upper, work)
    assert mountinfo() == before
    assert view == ["./a", "./a/keep", "./added", "./added/f", "./b", "./b/new", "./replaced", "---",
                    "new", "new", "keep"]
    assert os.listdir(target) == []  # nothing leaked into the host's view


def test_single_layer_with_empty_upper(tmp_path):
    store = Store(tmp_path / "root").open()
    raw = tar_bytes([entry("replaced", data=b"only"), entry("b/", "dir"), entry("b/new", data=b"n"),
                     entry("a/", "dir"), entry("a/keep", data=b"k")])
    chain = Digest.of(raw)
    store.snapshots.ensure(chain, None, lambda: io.BytesIO(raw), "none")
    upper, work, target = tmp_path / "upper", tmp_path / "work", tmp_path / "merged"
    for d in (upper, work, target):
        d.mkdir()
    view = merged_view(store.snapshots.overlay_mount([chain], upper, work, target), upper, work)
    assert view == ["./a", "./a/keep", "./b", "./b/new", "./replaced", "---", "only", "n", "k"]


def test_many_layers_mount_through_short_links(tmp_path):
    store = Store(tmp_path / "root").open()
    raws = [tar_bytes([entry(f"f{i:03d}", data=str(i).encode())]) for i in range(100)]
    chains = chain_ids([Digest.of(r) for r in raws])
    parent = None
    for raw, chain in zip(raws, chains, strict=True):
        store.snapshots.ensure(chain, parent, lambda raw=raw: io.BytesIO(raw), "none")
        parent = chain
    upper, work, target = tmp_path / "upper", tmp_path / "work", tmp_path / "merged"
    for d in (upper, work, target):
        d.mkdir()
    spec = store.snapshots.overlay_mount(chains, upper, work, target)
    assert "lowerdir=l/" in spec.data  # 100 full-length relative paths would not fit in a page
    script = (f'cd "{spec.cwd}" && mount -t overlay overlay -o "{spec.data}" "{spec.target}" && '
              f'ls "{spec.target}" | wc -l && cat "{spec.target}/f042"')
    r = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["100", "42"]
