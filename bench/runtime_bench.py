#!/usr/bin/env python3
"""tug-runtime against runc and crun: `run` of the same busybox bundle, N times each, medians and ratios.

Not run in CI. Usage: .venv/bin/python bench/runtime_bench.py [-n RUNS] [--args "true"] [--gap S] [--also NAME=SRC]
Each runtime gets its own --root; the bundle is tug-runtime's default spec with terminal off and `true` as the
process (what is measured is the runtime: namespaces, mounts, pivot_root, exec, wait, delete). The runtimes take
turns (one run each per round, the order rotating), so a busy spell on a shared machine hits them alike.

On a cgroup v1 host, a run's first cgroup.procs write waits for an RCU grace period (7-30 ms) unless another
cgroup.procs write happened within about one grace period before. With the default --gap each run starts cold
(one container started on its own); --gap 0 runs them back to back, where each rides on the previous run's writes
(crun's ~9 ms figure is from that mode). `--also before=/tmp/old/src` times tug-runtime from another source tree
(e.g. `git archive <commit> src | tar -x -C /tmp/old`) in the same rounds.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import have, report, time_interleaved  # noqa: E402

from tug.runtime.launch import runtime_argv, site_dir  # noqa: E402
from tug.runtime.sealed import sealed_argv  # noqa: E402


def make_bundle(base: Path, args: list[str], resources: bool = True) -> Path:
    from conftest import build_busybox_rootfs

    bundle = base / "bundle"
    bundle.mkdir()
    build_busybox_rootfs(bundle / "rootfs")
    subprocess.run([*runtime_argv(), "spec", "--bundle", str(bundle)], check=True)
    spec = json.loads((bundle / "config.json").read_text())
    spec["process"]["terminal"] = False
    spec["process"]["args"] = args
    if not resources:  # no linux.resources: tug-runtime then skips importing tug.cgroups
        spec["linux"].pop("resources", None)
    (bundle / "config.json").write_text(json.dumps(spec))
    return bundle


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("-n", "--runs", type=int, default=30)
    ap.add_argument("--args", default="true", help="the container's command (split on spaces)")
    ap.add_argument("--no-resources", action="store_true", help="drop linux.resources (runc's deny-all devices)")
    ap.add_argument("--also", action="append", default=[], metavar="NAME=SRC",
                    help="also time tug-runtime from another source tree (e.g. `git archive` of an older commit)")
    ap.add_argument("--gap", type=float, default=0.05, help="seconds of quiet before each run")
    opts = ap.parse_args()
    base = Path(tempfile.mkdtemp(prefix="tug-runtime-bench-"))
    try:
        bundle = make_bundle(base, opts.args.split(), resources=not opts.no_resources)
        runtimes = {"tug-runtime": sealed_argv(runtime_argv())}  # as the engine starts it (issue 7)
        for item in opts.also:
            name, _, src = item.partition("=")
            argv = runtime_argv()
            runtimes[name] = sealed_argv([*argv[:-1], argv[-1].replace(repr(site_dir()), repr(src))])
        for peer in ("runc", "crun"):
            if have(peer):
                runtimes[peer] = [shutil.which(peer)]  # type: ignore[list-item]
        cmds = {name: [*argv, "--root", str(base / f"{name}-state"), "run", "--bundle", str(bundle), "bench"]
                for name, argv in runtimes.items()}
        for name, cmd in list(cmds.items()):
            r = subprocess.run(cmd, capture_output=True)
            if r.returncode != 0:
                print(f"{name}: skipped ({r.stderr.decode().strip().splitlines()[-1:] or r.returncode})")
                del cmds[name]
        samples = time_interleaved({name: (cmd, None) for name, cmd in cmds.items()}, opts.runs, warmup=3,
                                   gap=opts.gap)
        medians = {name: report(f"{name} run", s) for name, s in samples.items()}
        if "tug-runtime" in medians:
            for peer in ("runc", "crun"):
                if peer in medians:
                    print(f"tug-runtime / {peer}: {medians['tug-runtime'] / medians[peer]:.2f}x")
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
