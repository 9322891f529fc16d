#!/usr/bin/env python3
"""`tug run --rm busybox true` against `podman run --rm busybox true` (crun) and docker, medians and ratios.

Usage: .venv/bin/python bench/run_bench.py [RUNS]   (peers from ../shared/peers/setup-peers.sh)
Goal (issue 2): tug's run at most half of podman's.
"""

from __future__ import annotations

import subprocess
import sys

from common import TUG, busybox_store, have, podman_env, report, time_interleaved


def main() -> int:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    env = busybox_store()
    cmds = {"tug run --rm busybox true": ([TUG, "run", "--rm", "busybox", "true"], env),
            "tug run --rm --network none": ([TUG, "run", "--rm", "--network", "none", "busybox", "true"], env)}
    if have("podman"):
        cmds["podman"] = (["podman", "run", "--rm", "busybox", "true"], podman_env())
    docker = "/usr/bin/docker"
    if have(docker) and subprocess.run([docker, "info"], capture_output=True).returncode == 0:
        cmds["docker"] = ([docker, "run", "--rm", "busybox", "true"], None)
    labels = {"podman": "podman run --rm busybox true (crun)", "docker": "docker run --rm busybox true"}
    for peer in ("podman", "docker"):  # a peer that cannot run the image is left out, with its reason
        if peer in cmds:
            r = subprocess.run(cmds[peer][0], env=cmds[peer][1], capture_output=True)
            if r.returncode != 0:
                print(f"{peer}: {r.stderr.decode()[-300:].strip()}")
                del cmds[peer]
    # one run of each command in turn, so a change of load during the bench weighs on all of them alike
    samples = time_interleaved(cmds, runs)
    results = {name: report(labels.get(name, name), xs) for name, xs in samples.items()}
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
