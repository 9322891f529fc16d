#!/usr/bin/env python3
"""tug-runtime against runc and crun: `run` of the same busybox bundle, N times each, medians and ratios.

Not run in CI. Usage: .venv/bin/python bench/runtime_bench.py [-n RUNS] [--args "true"]
Each runtime gets its own --root; the bundle is tug-runtime's default spec with terminal off and `true` as the
process (what is measured is the runtime: namespaces, mounts, pivot_root, exec, wait, delete).
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
from common import have, report, time_runs  # noqa: E402

from tug.runtime.launch import runtime_argv  # noqa: E402
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
    opts = ap.parse_args()
    base = Path(tempfile.mkdtemp(prefix="tug-runtime-bench-"))
    try:
        bundle = make_bundle(base, opts.args.split(), resources=not opts.no_resources)
        runtimes = {"tug-runtime": sealed_argv(runtime_argv())}  # as the engine starts it (issue 7)
        for peer in ("runc", "crun"):
            if have(peer):
                runtimes[peer] = [shutil.which(peer)]  # type: ignore[list-item]
        medians = {}
        for name, argv in runtimes.items():
            cmd = [*argv, "--root", str(base / f"{name}-state"), "run", "--bundle", str(bundle), "bench"]
            try:
                medians[name] = report(f"{name} run", time_runs(cmd, opts.runs, warmup=3))
            except RuntimeError as e:
                print(f"{name}: skipped ({str(e).splitlines()[-1][:160]})")
        if "tug-runtime" in medians:
            for peer in ("runc", "crun"):
                if peer in medians:
                    print(f"tug-runtime / {peer}: {medians['tug-runtime'] / medians[peer]:.2f}x")
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
