"""`kill`: send a signal to the container's init (or, with --all, to every process in its cgroup)."""

from __future__ import annotations

import os

from tug.runtime import cgroup, state
from tug.runtime.signals import parse


def signal_container(c: state.Container, sig: int, all_processes: bool = False) -> None:
    pids = cgroup.pids(c.cgroup_paths) if all_processes else []
    for pid in pids or [c.pid]:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def cmd_kill(root: str, cid: str, sig: str = "SIGTERM", all_processes: bool = False) -> int:
    signum = parse(sig)
    c = state.load(root, cid)
    state.require(c, "created", "running", "paused", action="kill")
    signal_container(c, signum, all_processes)
    return 0
