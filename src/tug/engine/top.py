"""`tug top`: the host's `ps` (default `-ef`) limited to the processes in the container's cgroup, as docker does."""

from __future__ import annotations

import subprocess

from tug.engine import lifecycle
from tug.engine.containers import Container
from tug.engine.engine import Engine
from tug.errors import Conflict, Invalid, SystemFailure


def container_pids(pid: int) -> set[int]:
    """Every process in the cgroup of the container's init (v2, or v1's pids/memory hierarchy)."""
    try:
        with open(f"/proc/{pid}/cgroup") as f:
            lines = f.read().splitlines()
    except OSError:
        return set()
    candidates = []
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if controllers == "":
            candidates.append(f"/sys/fs/cgroup{path}")
            candidates.append(f"/sys/fs/cgroup/unified{path}")
        for c in ("pids", "memory", "freezer"):
            if c in controllers.split(","):
                candidates.append(f"/sys/fs/cgroup/{controllers}{path}")
    for c in candidates:
        try:
            with open(f"{c}/cgroup.procs") as f:
                pids = {int(x) for x in f.read().split()}
        except OSError:
            continue
        if pid in pids:
            return pids
    return {pid}


def top(eng: Engine, ctr: Container, ps_args: list[str]) -> tuple[list[str], list[list[str]]]:
    lifecycle.refresh(eng, ctr)
    if ctr.status not in ("running", "paused"):
        raise Conflict(f"container {ctr.id} is not running")
    pids = container_pids(int(ctr.state.get("Pid") or 0))
    args = ps_args or ["-ef"]
    r = subprocess.run(["ps", *args], capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemFailure(f"ps: {r.stderr.strip()}")
    lines = r.stdout.splitlines()
    if not lines:
        return [], []
    header = lines[0].split()
    if "PID" not in header:
        raise Invalid(f"Couldn't find PID field in ps output for args {' '.join(args)}")
    col = header.index("PID")
    rows = []
    for line in lines[1:]:
        fields = line.split(None, len(header) - 1)
        if len(fields) > col and fields[col].isdigit() and int(fields[col]) in pids:
            rows.append(fields)
    return header, rows
