#!/usr/bin/env python3
"""The cost of bridge networking on `tug run` start time: `--network bridge` (and with `-p`) against `--network
none`, beside podman's and docker's when they are installed.

Usage: .venv/bin/python bench/network_bench.py [RUNS]
tug uses a bench-only bridge and nft table (tugb<pid>), removed at the end; docker's reference is about 55 ms.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

from common import TUG, busybox_store, have, podman_env, report, time_runs


def main() -> int:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    name = f"tugb{os.getpid() % 100000:05d}"
    env = dict(busybox_store(), TUG_BRIDGE=name, TUG_NFT_TABLE=name)
    res: dict[str, float] = {}
    try:
        for label, extra in (("none", ["--network", "none"]), ("bridge", []),
                             ("bridge -p 127.0.0.1::80", ["-p", "127.0.0.1::80"])):
            res[label] = report(f"tug run --rm {label}", time_runs([TUG, "run", "--rm", *extra, "busybox", "true"],
                                                                   runs, env=env))
        print(f"{'tug bridge cost':40s} {(res['bridge'] - res['none']) * 1000:8.1f} ms")
        for tool, penv in (("podman", podman_env()), ("docker", None)):
            if not have(tool):
                continue
            try:
                a = report(f"{tool} run --rm none", time_runs([tool, "run", "--rm", "--network", "none", "busybox",
                                                                "true"], runs, env=penv))
                b = report(f"{tool} run --rm bridge", time_runs([tool, "run", "--rm", "busybox", "true"], runs,
                                                                 env=penv))
                print(f"{tool + ' bridge cost':40s} {(b - a) * 1000:8.1f} ms")
            except RuntimeError as e:
                print(f"{tool}: {e}")
    finally:
        subprocess.run(["ip", "link", "del", name], capture_output=True)
        subprocess.run(["nft", "delete", "table", "ip", name], capture_output=True)
        shutil.rmtree(f"/run/tug-net/{name}", ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
