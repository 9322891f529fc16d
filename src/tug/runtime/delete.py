"""`delete`: remove a stopped container's state and cgroup (-f kills a live one first)."""

from __future__ import annotations

import os
import time

from tug.errors import Conflict, NotFound, SystemFailure
from tug.runtime import cgroup, state
from tug.runtime.config import check_id
from tug.runtime.kill import signal_container
from tug.sys.proc import is_alive


def destroy(c: state.Container) -> None:
    cgroup.remove(list(c.data.get("cgroupCreated") or ()), c.cgroup_paths)
    state.remove_dir(c.dir)


def kill_and_wait(c: state.Container, timeout: float = 5.0) -> None:
    signal_container(c, 9, all_processes=True)
    signal_container(c, 9)
    deadline = time.monotonic() + timeout
    while is_alive(c.pid, c.data.get("initStartTime")):
        if time.monotonic() > deadline:
            raise SystemFailure(f"container {c.id}: init {c.pid} did not die after SIGKILL", where=c.id)
        time.sleep(0.005)


def cmd_delete(root: str, cid: str, force: bool = False) -> int:
    try:
        c = state.load(root, cid)
    except NotFound:
        if force:  # also clears what an interrupted `create` left (a state dir without state.json)
            state.remove_dir(os.path.join(root, check_id(cid)))
            return 0
        raise
    status = c.status()
    if status in ("running", "paused") and not force:
        raise Conflict(f"cannot delete container {cid} that is not stopped: {status}", where=cid)
    if status != "stopped":
        kill_and_wait(c)
    destroy(c)
    return 0
