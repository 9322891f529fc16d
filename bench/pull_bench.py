#!/usr/bin/env python3
"""Pull of a Debian bookworm minbase image from a loopback registry: tug against docker/podman, skopeo as floor.

Usage: .venv/bin/python bench/pull_bench.py [--runs N] [--rootfs-tar PATH] [--settle SECONDS]

The image is made here: `mmdebstrap --variant=minbase --format=tar bookworm` (or an existing rootfs tar, e.g. the
one ../shared/peers/setup-peers.sh made under $P/work), repacked with umoci and pushed with skopeo (Docker v2s2) to
Debian's docker-registry started on 127.0.0.1:<free port> for this run only (stopped by pid at the end).

Measured, each from a cold cache per run:
- `tug pull` (download + unpack into snapshots), when the engine has the command;
- `docker pull` / `podman pull` where they run;
- `skopeo copy docker://... dir:` (download only): the floor;
- tug's registry client alone (`fetch_blobs_parallel` into hashing sinks, in this process): download only.
Goal (issue 4): tug's pull at most 0.3 x docker's.

Each run starts by removing what the previous one unpacked. On ext4 without a journal (this machine's root), inodes
freed in the last minute (six while their inode table is dirty) are skipped one by one when new ones are allocated,
so a tree unpacked right after an equally large one was removed can take several times longer, for every engine,
depending on which block groups the file system picks. `--settle S` syncs and waits S seconds after each removal
(65 lets the freed inodes age out) to measure the engines without that effect.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import PEERS, REPO, TUG, have, podman_env, report, time_runs

sys.path.insert(0, str(REPO / "tests" / "interop"))
sys.path.insert(0, str(REPO / "src"))

import registry_fixtures as rf  # noqa: E402

from tug.oci.reference import parse  # noqa: E402
from tug.registry.client import RegistryClient  # noqa: E402
from tug.registry.config import RegistryConfig  # noqa: E402
from tug.registry.sink import HashingSink  # noqa: E402


def rootfs_tar(work: Path, given: str | None) -> Path:
    if given:
        return Path(given)
    cached = PEERS / "work" / "debian-rootfs.tar"
    if cached.exists():
        return cached
    out = work / "debian-rootfs.tar"
    subprocess.run(["mmdebstrap", "--variant=minbase", "--format=tar", "bookworm", str(out)], check=True)
    return out


def build_image(work: Path, tar: Path) -> Path:
    layout = work / "oci"
    bundle = work / "bundle"
    for args in (["init", "--layout", str(layout)], ["new", "--image", f"{layout}:debian"],
                 ["unpack", "--image", f"{layout}:debian", str(bundle)]):
        subprocess.run(["umoci", *args], check=True, capture_output=True)
    subprocess.run(["tar", "-xf", str(tar), "-C", str(bundle / "rootfs"), "--numeric-owner", "--exclude=./dev/*",
                    "--exclude=./etc/resolv.conf", "--exclude=./etc/hostname"], check=True)
    # a file unique to this run makes the layer's digest new, so no engine has it cached from an earlier pull
    (bundle / "rootfs" / "etc" / "tug-bench-id").write_text(os.urandom(16).hex() + "\n")
    subprocess.run(["umoci", "repack", "--image", f"{layout}:debian", str(bundle)], check=True, capture_output=True)
    subprocess.run(["umoci", "config", "--image", f"{layout}:debian", "--config.cmd", "bash", "--architecture",
                    "amd64", "--os", "linux"], check=True, capture_output=True)
    shutil.rmtree(bundle)
    return layout


def client_download(ref_text: str, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        c = RegistryClient(RegistryConfig())
        ref = parse(ref_text)
        t0 = time.perf_counter()
        img = c.resolve_image(ref)
        man = img.manifest.parse()
        c.fetch_blob_bytes(ref, man.config)
        c.fetch_blobs_parallel(ref, man.layers, HashingSink, on_complete=lambda d, s: s.verify())
        out.append(time.perf_counter() - t0)
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--rootfs-tar")
    ap.add_argument("--settle", type=float, default=0.0, help="sync and wait this long after each cleanup")
    opts = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="tug-pull-bench-"))
    reg = rf.RegistryProcess(work / "registry")
    try:
        layout = build_image(work, rootfs_tar(work, opts.rootfs_tar))
        reg.start()
        ref = f"{reg.host}/debian:bookworm"
        rf.skopeo_copy(f"oci:{layout}:debian", f"docker://{ref}", "--dest-tls-verify=false", "--format", "v2s2")
        man = RegistryClient(RegistryConfig()).resolve_image(parse(ref)).manifest.parse()
        print(f"image {ref}: {sum(d.size for d in man.layers) / 1e6:.1f} MB compressed in {len(man.layers)} layer(s)")
        results: dict[str, float] = {}
        results["client"] = report("tug registry client (download only)", client_download(ref, opts.runs))

        def settled(cmd: list[str]) -> list[str]:
            if not opts.settle:
                return cmd
            return ["sh", "-c", '"$@"; sync; sleep "$0"', str(opts.settle), *cmd]

        dest = work / "skopeo-dir"
        results["skopeo"] = report("skopeo copy (download only)", time_runs(
            ["skopeo", "copy", "--quiet", "--src-tls-verify=false", f"docker://{ref}", f"dir:{dest}"], opts.runs,
            warmup=1, prepare=["rm", "-rf", str(dest)]))
        root = work / "tug-root"
        env = dict(os.environ, TUG_ROOT=str(root), TUG_RUNROOT=str(work / "tug-run"))
        if subprocess.run([TUG, "pull", "--help"], env=env, capture_output=True).returncode == 0:
            try:
                results["tug"] = report("tug pull", time_runs([TUG, "pull", "-q", ref], opts.runs, warmup=1, env=env,
                                                              prepare=settled(["rm", "-rf", str(root)])))
            except RuntimeError as e:
                print(f"tug pull: {e}")
        else:
            print("tug pull: not available in this build")
        docker = "/usr/bin/docker"
        if have(docker) and subprocess.run([docker, "info"], capture_output=True).returncode == 0:
            try:
                results["docker"] = report("docker pull", time_runs([docker, "pull", "-q", ref], opts.runs, warmup=1,
                                                                    prepare=settled([docker, "rmi", "-f", ref])))
            except RuntimeError as e:
                print(f"docker: {e}")
        if have("podman"):
            try:
                results["podman"] = report("podman pull", time_runs(
                    ["podman", "pull", "-q", "--tls-verify=false", ref], opts.runs, warmup=1, env=podman_env(),
                    prepare=settled(["podman", "rmi", "-f", ref])))
            except RuntimeError as e:
                print(f"podman: {e}")
        for name in ("tug", "client"):
            for peer in ("docker", "podman", "skopeo"):
                if name in results and peer in results:
                    print(f"ratio {name}/{peer}: {results[name] / results[peer]:.2f}")
    finally:
        reg.stop()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
