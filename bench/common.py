"""Shared bits of the benchmarks: timing commands, medians, peers' environment, a busybox store for tug.

Benchmarks are never run in CI. They compare tug against the peers on the same machine in one run; peers come from
../shared/peers/setup-peers.sh (podman with its containers.conf, dockerd, runc, crun).
"""

from __future__ import annotations

import atexit
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
VENV = REPO / ".venv" / "bin"
TUG = str(VENV / "tug")
PEERS = Path(os.environ.get("P", "/tmp/tug-peers"))


def podman_env() -> dict[str, str]:
    env = dict(os.environ)
    env["CONTAINERS_CONF"] = str(PEERS / "podman" / "containers.conf")
    env["CONTAINERS_REGISTRIES_CONF"] = str(PEERS / "podman" / "registries.conf")
    return env


def time_runs(cmd: list[str], runs: int, warmup: int = 2, env: dict[str, str] | None = None,
              cwd: str | None = None, prepare: list[str] | None = None) -> list[float]:
    out = []
    for i in range(warmup + runs):
        if prepare:
            subprocess.run(prepare, env=env, cwd=cwd, capture_output=True)
        t0 = time.perf_counter()
        r = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True)
        dt = time.perf_counter() - t0
        if r.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({r.returncode}): {r.stderr.decode()[-400:]}")
        if i >= warmup:
            out.append(dt)
    return out


def time_interleaved(cmds: dict[str, tuple[list[str], dict[str, str] | None]], runs: int, warmup: int = 2,
                     gap: float = 0.0) -> dict[str, list[float]]:
    """Like time_runs for several commands at once, in rounds: one run of each per round, the order rotating, so a
    change in the machine's load weighs on all of them alike and none always follows the same other.

    `gap` seconds of quiet before each run (runtime_bench: a cgroup.procs write right after another one, from
    whichever runtime, skips the RCU grace period a first write waits for, so back-to-back runs would favour one
    another)."""
    out: dict[str, list[float]] = {name: [] for name in cmds}
    names = list(cmds)
    for i in range(warmup + runs):
        for name in names[i % len(names):] + names[:i % len(names)]:
            cmd, env = cmds[name]
            if gap:
                time.sleep(gap)
            t0 = time.perf_counter()
            r = subprocess.run(cmd, env=env, capture_output=True)
            dt = time.perf_counter() - t0
            if r.returncode != 0:
                raise RuntimeError(f"{' '.join(cmd)} failed ({r.returncode}): {r.stderr.decode()[-400:]}")
            if i >= warmup:
                out[name].append(dt)
    return out


def report(name: str, samples: list[float]) -> float:
    med = statistics.median(samples)
    print(f"{name:40s} median {med * 1000:8.1f} ms   min {min(samples) * 1000:8.1f} ms   runs {len(samples)}")
    return med


def have(tool: str) -> bool:
    return shutil.which(tool) is not None


def _remove_store(base: Path) -> None:
    """A bench's store goes when the bench ends: its containers first (their monitors, cgroups, networks), then
    the files."""
    env = dict(os.environ, TUG_ROOT=str(base / "root"), TUG_RUNROOT=str(base / "run"))
    ids = subprocess.run([TUG, "ps", "-aq"], env=env, capture_output=True, text=True).stdout.split()
    if ids:
        subprocess.run([TUG, "rm", "-f", *ids], env=env, capture_output=True)
    shutil.rmtree(base, ignore_errors=True)


def busybox_store() -> dict[str, str]:
    """A temporary tug store with busybox imported; returns the env to use it."""
    from conftest import build_busybox_rootfs, tar_directory

    base = Path(tempfile.mkdtemp(prefix="tug-bench-"))
    atexit.register(_remove_store, base)
    rootfs = build_busybox_rootfs(base / "rootfs")
    tar = tar_directory(rootfs, base / "busybox.tar")
    env = dict(os.environ, TUG_ROOT=str(base / "root"), TUG_RUNROOT=str(base / "run"))
    subprocess.run([TUG, "import", "--change", 'CMD ["sh"]', str(tar), "busybox"], env=env, check=True,
                   capture_output=True)
    return env
