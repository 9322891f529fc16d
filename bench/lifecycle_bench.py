"""Lifecycle benchmarks (issue 3), tug against podman and docker on this machine. Not run in CI.

  - `tug exec CTR true` against `podman exec` and `docker exec` (goal: at most half of podman's time);
  - the monitor's memory per running container (VmRSS and peak VmHWM) against conmon and containerd-shim (goal: no
    heavier than containerd-shim);
  - disk added per running container (goal: under 64 KiB);
  - `tug ps -a` with 1,000 containers (goal: under 0.2 s).

Usage: .venv/bin/python bench/lifecycle_bench.py [--runs N] [--containers N] [--runtime runc]
                                                 [--only exec|memory|disk|ps]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from common import TUG, busybox_store, have, podman_env, report, time_runs


def proc_status(pid: int) -> dict[str, int]:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0])
    return out


def pids_with(text: str) -> list[int]:
    found = []
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                if text.encode() in (p / "cmdline").read_bytes():
                    found.append(int(p.name))
            except OSError:
                pass
    return found


def peer_image(tool: str, env: dict[str, str], tar: Path) -> str:
    name = "localhost/tug-bench-busybox:latest"
    subprocess.run([tool, "import", "--change", 'CMD ["sh"]', str(tar), name], env=env, check=True,
                   capture_output=True)
    return name


def bench_exec(runs: int, tug_env: dict[str, str], tar: Path) -> dict[str, float]:
    print("== exec CTR true")
    out: dict[str, float] = {}
    subprocess.run([TUG, "run", "-d", "--name", "bench-exec", "busybox", "sleep", "3600"], env=tug_env, check=True,
                   capture_output=True)
    try:
        samples = time_runs([TUG, "exec", "bench-exec", "true"], runs, env=tug_env)
        out["tug"] = report("tug exec", samples)
        # the CLI's own start-up, for the engine's share of an exec (medians drift with the machine's load; the
        # minimums tell the cost without it)
        base = time_runs([TUG, "version"], runs, env=tug_env)
        report("tug version (CLI start-up alone)", base)
        print(f"engine side of tug exec: {(out['tug'] - statistics.median(base)) * 1000:.1f} ms (medians), "
              f"{(min(samples) - min(base)) * 1000:.1f} ms (minimums)")
    finally:
        subprocess.run([TUG, "rm", "-f", "bench-exec"], env=tug_env, capture_output=True)
    for tool, env in (("podman", podman_env()), ("docker", dict(os.environ))):
        if not have(tool):
            print(f"{tool}: not installed")
            continue
        try:
            image = peer_image(tool, env, tar)
            subprocess.run([tool, "rm", "-f", "tug-bench-exec"], env=env, capture_output=True)  # an old run's
            subprocess.run([tool, "run", "-d", "--name", "tug-bench-exec", image, "sleep", "3600"], env=env,
                           check=True, capture_output=True)
            out[tool] = report(f"{tool} exec", time_runs([tool, "exec", "tug-bench-exec", "true"], runs, env=env))
        except (subprocess.CalledProcessError, RuntimeError) as e:
            print(f"{tool}: {e}")
        finally:
            subprocess.run([tool, "rm", "-f", "tug-bench-exec"], env=env, capture_output=True)
    if "podman" in out:
        print(f"tug/podman exec time: {out['tug'] / out['podman']:.2f} (goal <= 0.5)")
    return out


def bench_monitor_memory(tug_env: dict[str, str], tar: Path) -> None:
    print("== memory per running container (kB)")
    subprocess.run([TUG, "run", "-d", "--name", "bench-mem", "busybox", "sleep", "3600"], env=tug_env, check=True,
                   capture_output=True)
    subprocess.run([TUG, "run", "-d", "-t", "--name", "bench-mem-tty", "--health-cmd", "true",
                    "--health-interval", "1s", "busybox", "sleep", "3600"], env=tug_env, check=True,
                   capture_output=True)
    try:
        time.sleep(3)  # a few healthchecks and log writes
        for name in ("bench-mem", "bench-mem-tty"):
            cid = subprocess.run([TUG, "inspect", "-f", "{{.Id}}", name], env=tug_env, capture_output=True,
                                 text=True).stdout.strip()
            # the monitor may have been started before its container had an id: its pid is in the state file
            state = Path(tug_env["TUG_RUNROOT"]) / "containers" / cid / "state.json"
            p = json.loads(state.read_text())["MonitorPid"]
            s = proc_status(p)
            print(f"tug monitor ({name:13s})  VmRSS {s['VmRSS']:7d}  VmHWM {s['VmHWM']:7d}")
            subprocess.run([TUG, "exec", name, "true"], env=tug_env, check=True, capture_output=True)
            s = proc_status(p)
            print(f"  after an exec            VmRSS {s['VmRSS']:7d}  VmHWM {s['VmHWM']:7d}  (exec's code loaded)")
    finally:
        subprocess.run([TUG, "rm", "-f", "bench-mem", "bench-mem-tty"], env=tug_env, capture_output=True)
    for tool, env, helper in (("podman", podman_env(), "conmon"), ("docker", dict(os.environ),
                                                                   "containerd-shim")):
        if not have(tool):
            continue
        try:
            image = peer_image(tool, env, tar)
            subprocess.run([tool, "rm", "-f", "tug-bench-mem"], env=env, capture_output=True)  # an old run's
            cid = subprocess.run([tool, "run", "-d", "--name", "tug-bench-mem", image, "sleep", "3600"], env=env,
                                 check=True, capture_output=True, text=True).stdout.strip()
            time.sleep(1)
            for p in pids_with(cid):
                cmd = Path(f"/proc/{p}/cmdline").read_bytes().split(b"\0")[0].decode()
                if helper in cmd:
                    s = proc_status(p)
                    print(f"{os.path.basename(cmd):28s} VmRSS {s['VmRSS']:7d}  VmHWM {s['VmHWM']:7d}")
        except subprocess.CalledProcessError as e:
            print(f"{tool}: {e.stderr}")
        finally:
            subprocess.run([tool, "rm", "-f", "tug-bench-mem"], env=env, capture_output=True)


def du(path: Path) -> int:
    return int(subprocess.run(["du", "-s", "-B1", str(path)], capture_output=True, text=True).stdout.split()[0])


def bench_disk(tug_env: dict[str, str], n: int = 10) -> None:
    print("== disk added per running container")
    root = Path(tug_env["TUG_ROOT"])
    before = du(root)
    names = [f"bench-disk-{i}" for i in range(n)]
    for name in names:
        subprocess.run([TUG, "run", "-d", "--name", name, "busybox", "sleep", "3600"], env=tug_env, check=True,
                       capture_output=True)
    time.sleep(0.5)
    added = (du(root) - before) / n
    subprocess.run([TUG, "rm", "-f", *names], env=tug_env, capture_output=True)
    print(f"tug: {added / 1024:.1f} KiB per running container (store, incl. database growth; goal < 64 KiB)")


def bench_ps(tug_env: dict[str, str], n: int, runs: int) -> None:
    print(f"== tug ps -a with {n} containers")
    code = ("import sys, os\n"
            "from tug.engine.engine import Engine\nfrom tug.engine import containers\n"
            "from tug.spec.options import RunOptions\n"
            "eng = Engine.from_env()\n"
            f"for i in range({n}):\n"
            "    containers.create(eng, RunOptions(image='busybox', command=['true'], name=f'ps-{i}'))\n")
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], env=tug_env, check=True)
    print(f"(created {n} containers in {time.perf_counter() - t0:.1f} s)")
    samples = time_runs([TUG, "ps", "-a"], runs, env=tug_env)
    med = report("tug ps -a", samples)
    print(f"goal < 200 ms: {'met' if med < 0.2 else 'NOT met'}")
    report("tug ps -aq", time_runs([TUG, "ps", "-aq"], runs, env=tug_env))
    if have("podman"):
        env = podman_env()
        report("podman ps -a (its own containers)", time_runs(["podman", "ps", "-a"], runs, env=env))
    if have("docker"):
        report("docker ps -a (its own containers)", time_runs(["docker", "ps", "-a"], runs))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--containers", type=int, default=1000)
    ap.add_argument("--runtime", default=os.environ.get("TUG_RUNTIME", ""))
    ap.add_argument("--only", choices=["exec", "memory", "disk", "ps"])
    args = ap.parse_args()
    env = busybox_store()
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # timings with cached bytecode, as installed
    if args.runtime:
        env["TUG_RUNTIME"] = args.runtime
    tar = Path(env["TUG_ROOT"]).parent / "busybox.tar"
    if args.only in (None, "exec"):
        bench_exec(args.runs, env, tar)
    if args.only in (None, "memory"):
        bench_monitor_memory(env, tar)
    if args.only in (None, "disk"):
        bench_disk(env)
    if args.only in (None, "ps"):
        bench_ps(env, args.containers, args.runs)
    subprocess.run([TUG, "container", "prune", "-f"], env=env, capture_output=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
