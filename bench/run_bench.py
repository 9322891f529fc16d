#!/usr/bin/env python3
"""`tug run --rm busybox true` against `podman run --rm busybox true` (crun) and docker, medians and ratios.

Usage: .venv/bin/python bench/run_bench.py [RUNS]   (peers from ../shared/peers/setup-peers.sh)
Goal (issue 2): tug's run at most half of podman's.
"""

from __future__ import annotations

import subprocess
import sys

from common import TUG, busybox_store, have, podman_env, report, time_runs


def main() -> int:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    env = busybox_store()
    results = {}
    results["tug run --rm busybox true"] = report("tug run --rm busybox true",
                                                  time_runs([TUG, "run", "--rm", "busybox", "true"], runs, env=env))
    results["tug run --rm --network none"] = report(
        "tug run --rm --network none", time_runs([TUG, "run", "--rm", "--network", "none", "busybox", "true"],
                                                 runs, env=env))
    if have("podman"):
        try:
            results["podman"] = report("podman run --rm busybox true (crun)", time_runs(
                ["podman", "run", "--rm", "busybox", "true"], runs, env=podman_env()))
        except RuntimeError as e:
            print(f"podman: {e}")
    docker = "/usr/bin/docker"
    if have(docker) and subprocess.run([docker, "info"], capture_output=True).returncode == 0:
        try:
            results["docker"] = report("docker run --rm busybox true", time_runs(
                [docker, "run", "--rm", "busybox", "true"], runs))
        except RuntimeError as e:
            print(f"docker: {e}")
    # setup-peers.sh configures podman with netns "none" and dockerd without a bridge: the like-for-like ratio
    # compares them with `--network none`; tug's default (a bridge with its own veth) is reported too
    tug = results["tug run --rm busybox true"]
    none = results["tug run --rm --network none"]
    for peer in ("podman", "docker"):
        if peer in results:
            print(f"ratio tug --network none/{peer}: {none / results[peer]:.2f}   "
                  f"(tug with its default bridge/{peer}: {tug / results[peer]:.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
