#!/usr/bin/env python3
"""What isolation costs at start-up: the default seccomp filter and the cgroup set-up, on and off.

Not run in CI. Usage: .venv/bin/python bench/isolation_bench.py [-n RUNS]

1. `tug-runtime run` of one busybox bundle (`true`), the spec varied: as generated (Docker's seccomp profile and
   resources with limits), without linux.seccomp, without linux.resources, without both. This isolates the
   runtime's own work: compiling/loading the BPF filter and writing the cgroup files.
2. `tug run --rm --network none busybox true` end to end: default, `--security-opt seccomp=unconfined`, and with
   limits (-m 64m --cpus 0.5 --pids-limit 100) to show what the resource flags add.
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
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from common import TUG, busybox_store, report, time_runs  # noqa: E402

from tug.runtime.launch import runtime_argv  # noqa: E402
from tug.runtime.sealed import sealed_argv  # noqa: E402


def generated_spec(env: dict[str, str]) -> dict:
    """The config.json tug generates for `busybox true` with limits (taken from a created container)."""
    cid = subprocess.run([TUG, "create", "--network", "none", "-m", "64m", "--cpus", "0.5", "--pids-limit", "100",
                          "busybox", "true"], env=env, check=True, capture_output=True, text=True).stdout.strip()
    spec = json.loads((Path(env["TUG_ROOT"]) / "containers" / cid / "bundle" / "config.json").read_text())
    subprocess.run([TUG, "rm", cid], env=env, capture_output=True)
    return spec


def runtime_variants(base: Path, spec: dict, rootfs: Path, runs: int) -> None:
    argv = sealed_argv(runtime_argv())
    variants = {"full (seccomp + resources)": (True, True), "no seccomp": (False, True),
                "no resources (cgroup files)": (True, False), "neither": (False, False)}
    medians = {}
    for name, (seccomp, resources) in variants.items():
        bundle = base / f"bundle{len(medians)}"
        bundle.mkdir()
        (bundle / "rootfs").symlink_to(rootfs)
        s = json.loads(json.dumps(spec))
        s["root"] = {"path": "rootfs", "readonly": False}
        s["mounts"] = [m for m in s["mounts"] if m["type"] != "bind"]  # hosts/resolv.conf of the created one
        s["linux"].pop("cgroupsPath", None)
        if not seccomp:
            s["linux"].pop("seccomp", None)
        if not resources:
            s["linux"].pop("resources", None)
        (bundle / "config.json").write_text(json.dumps(s))
        cmd = [*argv, "--root", str(base / "state"), "run", "--bundle", str(bundle), "bench"]
        medians[name] = report(f"tug-runtime run, {name}", time_runs(cmd, runs, warmup=3))
    full, none = medians["full (seccomp + resources)"], medians["neither"]
    print(f"  seccomp costs {1000 * (full - medians['no seccomp']):.1f} ms, resources "
          f"{1000 * (full - medians['no resources (cgroup files)']):.1f} ms, both {1000 * (full - none):.1f} ms")


def tug_variants(env: dict[str, str], runs: int) -> None:
    base = [TUG, "run", "--rm", "--network", "none"]
    for name, extra in (("default", []), ("seccomp=unconfined", ["--security-opt", "seccomp=unconfined"]),
                        ("with limits", ["-m", "64m", "--cpus", "0.5", "--pids-limit", "100"])):
        report(f"tug run, {name}", time_runs([*base, *extra, "busybox", "true"], runs, env=env))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("-n", "--runs", type=int, default=20)
    opts = ap.parse_args()
    env = busybox_store()
    tmp = Path(tempfile.mkdtemp(prefix="tug-isolation-bench-"))
    try:
        from conftest import build_busybox_rootfs

        rootfs = build_busybox_rootfs(tmp / "rootfs")
        runtime_variants(tmp, generated_spec(env), rootfs, opts.runs)
        tug_variants(env, opts.runs)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(Path(env["TUG_ROOT"]).parent, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
