#!/usr/bin/env python3
"""Unpacking one layer: `tug.store.layers.apply_layer` against GNU tar on the same tar, same disk, same run.

Usage: .venv/bin/python bench/unpack_bench.py [--runs N] [--tar PATH] [--dir DIR] [--profile]

The layer is a rootfs tar (default: the Debian minbase tar ../shared/peers/setup-peers.sh made, as bench/pull_bench.py
uses), gzipped here once (level 6, as umoci and docker write layers). Each run unpacks into a fresh directory under
`--dir` (default: a temp dir on the store's disk), kept until the end: on ext4 without a journal, inodes freed in
the last minutes are skipped one by one when new ones are allocated, so a tree unpacked where another was just
removed is several times slower (the state the cold-cache pull benchmark creates). Trees go into a directory marked
FS_TOPDIR_FL as tug's snapshots/ is (`--plain`: an ordinary directory). Measured:
- `tar -xzf` / `tar -xf` with `--numeric-owner -p --xattrs` (GNU tar, no sync at the end);
- tug's `apply_layer` on the gzip and the uncompressed tar;
- tug's `Snapshots.ensure` (unpack + diff id check + syncfs + rename: what `tug pull` does per layer).
Alternating the tools within each run keeps the comparison fair when the disk slows down over time.
"""

from __future__ import annotations

import argparse
import cProfile
import gzip
import os
import pstats
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import PEERS, REPO, report

sys.path.insert(0, str(REPO / "src"))

from tug.oci.digest import Digest  # noqa: E402
from tug.store.layers import apply_layer  # noqa: E402
from tug.sys.fs import mark_topdir  # noqa: E402


def gnu_tar(src: Path, dest: Path, gz: bool) -> None:
    subprocess.run(["tar", "-xzf" if gz else "-xf", str(src), "-C", str(dest), "--numeric-owner", "-p", "--xattrs"],
                   check=True)


def tug_apply(src: Path, dest: Path, gz: bool) -> None:
    with open(src, "rb") as f:
        apply_layer(f, "gzip" if gz else "none", dest)


def tug_snapshot(src: Path, dest: Path, diff_id: Digest) -> None:
    from tug.store.layout import Layout
    from tug.store.metadata import Metadata
    from tug.store.snapshots import Snapshots

    layout = Layout(dest)
    (dest / "locks").mkdir()
    md = Metadata(dest / "tug.db")
    Snapshots(layout, md).ensure(diff_id, None, lambda: open(src, "rb"), "gzip", diff_id=diff_id)  # noqa: SIM115


def timed(fn, dest: Path) -> float:  # noqa: ANN001
    dest.mkdir()
    t0 = time.perf_counter()
    fn(dest)
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--tar", default=str(PEERS / "work" / "debian-rootfs.tar"))
    ap.add_argument("--dir", default=None)
    ap.add_argument("--profile", action="store_true", help="cProfile one tug apply of the gzip layer")
    ap.add_argument("--plain", action="store_true", help="unpack under a directory without FS_TOPDIR_FL")
    ap.add_argument("--only", default="", help="comma-separated subset: tar-gz,tar,tug-gz,tug,snapshot")
    opts = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="tug-unpack-bench-", dir=opts.dir))
    try:
        raw = Path(opts.tar)
        gz = work / "layer.tar.gz"
        with open(raw, "rb") as src, gzip.open(gz, "wb", compresslevel=6) as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
        diff_id = Digest.of(raw.read_bytes())
        trees = work / "trees"
        trees.mkdir()
        if not opts.plain:
            print(f"trees under {trees}, FS_TOPDIR_FL set: {mark_topdir(trees)}")
        print(f"layer {raw}: {raw.stat().st_size / 1e6:.1f} MB, gzip {gz.stat().st_size / 1e6:.1f} MB")
        if opts.profile:
            dest = trees / "prof"
            dest.mkdir()
            prof = cProfile.Profile()
            prof.runcall(tug_apply, gz, dest, True)
            pstats.Stats(prof).sort_stats("tottime").print_stats(25)
            return 0
        cases = {
            "tar-gz": ("GNU tar -xzf", lambda d: gnu_tar(gz, d, True)),
            "tar": ("GNU tar -xf", lambda d: gnu_tar(raw, d, False)),
            "tug-gz": ("tug apply_layer gzip", lambda d: tug_apply(gz, d, True)),
            "tug": ("tug apply_layer none", lambda d: tug_apply(raw, d, False)),
            "snapshot": ("tug Snapshots.ensure gzip (+syncfs)", lambda d: tug_snapshot(gz, d, diff_id)),
        }
        chosen = [k for k in cases if not opts.only or k in opts.only.split(",")]
        samples: dict[str, list[float]] = {k: [] for k in chosen}
        os.sync()
        for i in range(opts.runs):
            for k in chosen:
                samples[k].append(timed(cases[k][1], trees / f"{k}-{i}"))
                os.sync()
        for k in chosen:
            report(cases[k][0], samples[k])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
