"""Build benchmarks (issue 6), tug against podman build and docker build (classic builder) on this machine. Not CI.

  - a 10-step Dockerfile on busybox (ENV, COPY, RUN x3, WORKDIR, ...): cold build (--no-cache) and a fully cached
    rebuild (goal: cached rebuild under 0.5 s and faster than both peers);
  - with --adventure, the open-adventure example on a Debian bookworm minbase (mmdebstrap, made once and kept in
    /tmp/tug-bench-debian.tar): cold (apt-get reaches Debian's mirror, --network host) and cached.

Peers get the same base imported into their own stores: podman with private storage (vfs) in a temp dir, docker
only where dockerd answers (`DOCKER_BUILDKIT=0`, the classic builder).

With --engine, the engine's share of the 10-step cached rebuild is measured in-process (everything after the CLI
has parsed argv: the replay of a memo, and the ordinary cached build when the memo is dropped before each run).

Usage: .venv/bin/python bench/build_bench.py [--runs N] [--adventure] [--engine]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from common import REPO, TUG, have, report, time_runs

TEN = """FROM {base}
ENV APP=/app MODE=bench
LABEL bench=yes
WORKDIR /app
COPY conf/ /app/conf/
RUN cat /app/conf/a > /app/derived
COPY data.txt /app/
RUN wc -c /app/data.txt > /app/size
USER 1000
RUN id -u > /tmp/uid
CMD ["cat", "/app/derived"]
"""
DEBIAN_TAR = Path("/tmp/tug-bench-debian.tar")
ENGINE_SIDE = """
import io, sys, time
import tug.cli.common, tug.cli.flags  # the CLI's own start-up is not counted
from tug.cli.build import build
t0 = time.perf_counter()
out, sys.stdout = sys.stdout, io.StringIO()
try:
    build.main(sys.argv[1:], prog_name="build")
finally:
    sys.stdout = out
print((time.perf_counter() - t0) * 1000)
"""


def context(tmp: Path, name: str, dockerfile: str) -> Path:
    ctx = tmp / name
    (ctx / "conf").mkdir(parents=True)
    (ctx / "conf" / "a").write_text("a\n")
    (ctx / "data.txt").write_text("data\n" * 100)
    (ctx / "Dockerfile").write_text(dockerfile)
    return ctx


def podman_argv(tmp: Path) -> list[str]:
    return ["podman", "--root", str(tmp / "pstore"), "--runroot", str(tmp / "prun"), "--storage-driver", "vfs",
            "--cgroup-manager", "cgroupfs", "--events-backend", "none"]


def docker_ok() -> bool:
    return have("docker") and subprocess.run(["docker", "info"], capture_output=True).returncode == 0


def engine_side(args: list[str], runs: int, env: dict[str, str]) -> None:
    """The engine's ms of a cached rebuild, replayed and (memo dropped first) the ordinary cached path."""
    import statistics
    import sys
    import time

    memo = Path(env["TUG_ROOT"]) / "buildcache" / "memo"
    time.sleep(1.1)  # out of the racy window, so the cached build below leaves a memo
    subprocess.run([TUG, "build", *args], env=env, check=True, capture_output=True)
    for name, drop in (("replayed (memo)", False), ("cached steps (no memo)", True)):
        samples = []
        for _ in range(runs):
            if drop:
                shutil.rmtree(memo, ignore_errors=True)
            r = subprocess.run([sys.executable, "-c", ENGINE_SIDE, *args], env=env, check=True, capture_output=True,
                               text=True)
            samples.append(float(r.stdout.strip().splitlines()[-1]))
        print(f"{'tug engine side, ' + name:40s} median {statistics.median(samples):8.1f} ms   "
              f"min {min(samples):8.1f} ms   runs {runs}")


def bench_case(label: str, tmp: Path, tar: Path, base_tag: str, dockerfile: str, network: str, runs: int,
               cold_runs: int, tug_env: dict[str, str], engine: bool = False) -> None:
    print(f"\n== {label}")
    ctx = context(tmp, label.replace(" ", "-"), dockerfile.format(base=base_tag))
    peer_ctx = context(tmp, label.replace(" ", "-") + "-peer", dockerfile.format(base="localhost/" + base_tag))
    subprocess.run([TUG, "import", "--change", "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                    str(tar), base_tag], env=tug_env, check=True, capture_output=True)
    tug = [TUG, "build", "--network", network, "-t", "bench", str(ctx)]
    report("tug build (cold, --no-cache)", time_runs([*tug[:2], "--no-cache", *tug[2:]], cold_runs, 1, env=tug_env))
    tug_cached = report("tug build (cached)", time_runs(tug, runs, env=tug_env))
    if engine:
        engine_side(tug[2:], runs, tug_env)
    if have("podman"):
        p = podman_argv(tmp)
        r = subprocess.run([*p, "import", str(tar), "localhost/" + base_tag], capture_output=True)
        if r.returncode == 0:
            pb = [*p, "build", "--network", network, "-t", "bench", str(peer_ctx)]
            cold = [*p, "build", "--no-cache", "--network", network, "-t", "bench", str(peer_ctx)]
            report("podman build (cold, --no-cache)", time_runs(cold, cold_runs, 1))
            med = report("podman build (cached)", time_runs(pb, runs))
            print(f"   tug cached rebuild is {med / tug_cached:.1f}x faster than podman's")
        else:
            print("podman: import failed, skipped")
    if docker_ok():
        env = dict(os.environ, DOCKER_BUILDKIT="0")
        subprocess.run(["docker", "import", str(tar), "localhost/" + base_tag], capture_output=True, env=env)
        db = ["docker", "build", "--network", network, "-t", "bench", str(peer_ctx)]
        report("docker build (cold, --no-cache)", time_runs([*db[:2], "--no-cache", *db[2:]], cold_runs, 1, env=env))
        med = report("docker build (cached)", time_runs(db, runs, env=env))
        print(f"   tug cached rebuild is {med / tug_cached:.1f}x faster than docker's")
    else:
        print("docker: dockerd not reachable, skipped")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--adventure", action="store_true")
    ap.add_argument("--engine", action="store_true", help="also the engine's share of the cached rebuild")
    args = ap.parse_args()
    import sys

    sys.path.insert(0, str(REPO / "tests"))
    from conftest import build_busybox_rootfs, tar_directory

    tmp = Path(tempfile.mkdtemp(prefix="tug-build-bench-"))
    try:
        tug_env = dict(os.environ, TUG_ROOT=str(tmp / "root"), TUG_RUNROOT=str(tmp / "run"))
        tar = tar_directory(build_busybox_rootfs(tmp / "rootfs"), tmp / "busybox.tar")
        bench_case("10-step busybox", tmp, tar, "busybox:bench", TEN, "none", args.runs, max(3, args.runs // 3),
                   tug_env, engine=args.engine)
        if args.adventure:
            if not DEBIAN_TAR.exists():
                subprocess.run(["mmdebstrap", "--quiet", "--variant=minbase", "--format=tar", "bookworm",
                                str(DEBIAN_TAR)], check=True)
            dockerfile = (REPO / "examples" / "open-adventure" / "Dockerfile").read_text().replace(
                "FROM debian:bookworm", "FROM {base}")
            bench_case("open-adventure", tmp, DEBIAN_TAR, "debian:bookworm", dockerfile, "host", args.runs, 2,
                       tug_env)
    finally:
        if have("podman"):
            subprocess.run([*podman_argv(tmp), "system", "reset", "-f"], capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
