"""tug.cgroups on the real kernel (root): limits read back from the kernel, freeze, stats, kill, OOM, cleanup.

Every cgroup is test-unique (`tug-test-<random>`), every process is one this test started, and both are removed in
finally blocks; the last check of each test is that nothing named after it is left under /sys/fs/cgroup.
"""

from __future__ import annotations

import glob
import os
import secrets
import subprocess
import time
from collections.abc import Iterator

import pytest

from tug.cgroups.cgroup import Cgroup
from tug.cgroups.manager import Manager, for_host

BUSYBOX = "/bin/busybox"


@pytest.fixture
def manager() -> Manager:
    return for_host()


@pytest.fixture
def name() -> Iterator[str]:
    n = f"tug-test-{secrets.token_hex(4)}"
    yield n
    assert glob.glob(f"/sys/fs/cgroup/*/{n}") + glob.glob(f"/sys/fs/cgroup/*/**/{n}*", recursive=True) == []


def spawn(*script: str, stdout: int = subprocess.DEVNULL) -> subprocess.Popen:
    """busybox sh waiting for a line on stdin before it runs `script`: it is put in the cgroup first."""
    return subprocess.Popen([BUSYBOX, "sh", "-c", "read go\n" + "\n".join(script)], stdin=subprocess.PIPE,
                            stdout=stdout, stderr=subprocess.PIPE)


def go(p: subprocess.Popen) -> None:
    assert p.stdin is not None
    p.stdin.write(b"go\n")
    p.stdin.flush()


def state(pid: int) -> str:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("State:"):
                return line.split()[1]
    raise AssertionError("no State line")


def until(check, what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"{what} did not happen"
        time.sleep(0.01)


def reap(p: subprocess.Popen) -> None:
    if p.poll() is None:
        p.kill()
    p.wait(timeout=30)


def cleanup(cg: Cgroup) -> None:
    if cg.pids():
        cg.kill_all()
    cg.destroy(timeout=5)
    assert [d for d in cg.dirs + cg.created if os.path.exists(d)] == []


def kernel_file(cg: Cgroup, controller: str, name: str) -> str:
    d = cg.dir_of(controller) if hasattr(cg, "dir_of") else cg.dirs[0]  # v1 knows each controller's dir
    with open(os.path.join(d, name)) as f:
        return f.read().strip()


def test_limits_freeze_stats_kill_destroy(manager, name):
    cg = manager.create(f"/{name}/ctr")
    p = spawn("while :; do :; done")
    try:
        skipped = cg.apply({"memory": {"limit": 32 << 20, "swap": 32 << 20}, "pids": {"limit": 64},
                            "cpu": {"shares": 512, "quota": 50000, "period": 100000}})
        cg.add_pid(p.pid)
        go(p)
        assert cg.pids() == [p.pid]
        assert kernel_file(cg, "memory", "memory.limit_in_bytes" if cg.version == 1 else "memory.max") == str(32 << 20)
        assert kernel_file(cg, "pids", "pids.max") == "64"
        if cg.version == 1:
            assert kernel_file(cg, "cpu", "cpu.cfs_quota_us") == "50000"
            assert kernel_file(cg, "cpu", "cpu.shares") == "512"
        else:
            assert kernel_file(cg, "cpu", "cpu.max") == "50000 100000"
        assert all("memory" not in s and "pids" not in s for s in skipped)

        until(lambda: cg.stats().cpu_usage_ns > 0, "cpu usage accounted")
        until(lambda: state(p.pid) == "R", "busy loop running")
        cg.freeze()
        until(lambda: state(p.pid) != "R", "frozen task stops running")   # v1 reports frozen tasks as D
        frozen_usage = cg.stats().cpu_usage_ns
        cg.thaw()
        until(lambda: state(p.pid) == "R", "thawed task runs again")
        until(lambda: cg.stats().cpu_usage_ns > frozen_usage, "cpu usage grows after thaw")

        s = cg.stats()
        assert s.memory_limit == 32 << 20 and s.pids_limit == 64 and s.pids_current == 1
        # (v1 does not move a task's old charges with it, so usage may be ~0 for a loop that allocates nothing)
        assert s.memory_usage <= 32 << 20 and s.memory_usage_no_cache <= s.memory_usage
        cg.kill_all()
        assert p.wait(timeout=30) == -9
        until(lambda: cg.pids() == [], "the cgroup empties")
        assert cg.oom_killed() is False
    finally:
        reap(p)
        cleanup(cg)


def test_memory_hog_is_oom_killed(manager, name):
    cg = manager.create(f"/{name}")
    p = spawn("x=0123456789abcdef", "while :; do x=$x$x; done")
    try:
        cg.apply({"memory": {"limit": 16 << 20, "swap": 16 << 20}})
        cg.add_pid(p.pid)
        go(p)
        assert p.wait(timeout=60) == -9
        until(cg.oom_killed, "oom_kill counted")
    finally:
        reap(p)
        cleanup(cg)


def test_pids_limit_stops_forks(manager, name):
    cg = manager.create(f"/{name}")
    p = spawn(*["sleep 30 &"] * 8, "echo forked; wait")
    try:
        cg.apply({"pids": {"limit": 4}})
        cg.add_pid(p.pid)
        go(p)
        # busybox sh gives up at the first fork the pids controller refuses; the sleeps it did start stay behind
        assert p.wait(timeout=30) != 0
        assert cg.stats().pids_limit == 4 and cg.stats().pids_current <= 4
        cg.kill_all()
        until(lambda: cg.pids() == [], "the sleeps are killed")
        assert p.stderr is not None and b"can't fork" in p.stderr.read()  # EOF once the sleeps are gone
    finally:
        reap(p)
        cleanup(cg)


def test_relative_path_lands_under_our_own_cgroup_and_leaves_it(manager, name):
    with open("/proc/self/cgroup") as f:
        own = {line.split(":")[1]: line.strip().split(":", 2)[2] for line in f}
    cg = manager.create(f"{name}/ctr")
    try:
        if cg.version == 1:
            mem = cg.dir_of("memory")
            assert mem == os.path.join("/sys/fs/cgroup/memory", own["memory"].lstrip("/"), name, "ctr")
        assert all(os.path.isdir(d) for d in cg.dirs)
    finally:
        cleanup(cg)
    if cg.version == 1:
        assert os.path.isdir(os.path.join("/sys/fs/cgroup/memory", own["memory"].lstrip("/")))


def test_load_and_destroy_from_the_saved_created_list(manager, name):
    made = manager.create(f"/{name}/a/b")
    try:
        again = manager.load(f"/{name}/a/b", made.created)
        assert sorted(again.dirs) == sorted(made.dirs)
    finally:
        cleanup(manager.load(f"/{name}/a/b", made.created))


def test_v2_core_on_the_real_cgroup2_mount(name):
    """The cgroup2 core (procs, freeze, kill, events) on the kernel, where this host has a cgroup2 mount."""
    from tug.cgroups.manager import V2Manager
    from tug.cgroups.mounts import parse_mountinfo
    from tug.errors import Unavailable

    with open("/proc/self/mountinfo") as f:
        v2 = next((h for h in parse_mountinfo(f.read()) if h.version == 2), None)
    if v2 is None:
        pytest.skip("no cgroup2 mount")
    with open(os.path.join(v2.mount_point, "cgroup.controllers")) as f:
        if f.read().split() and manager_is_hybrid():
            pytest.skip("a hybrid host's cgroup2 has controllers: create would enable them host-wide")
    mgr = V2Manager(v2.mount_point)
    cg = mgr.create(f"/{name}/ctr")
    p = spawn("while :; do :; done")
    try:
        cg.add_pid(p.pid)
        go(p)
        assert cg.pids() == [p.pid]
        until(lambda: state(p.pid) == "R", "busy loop running")
        cg.freeze()
        until(lambda: state(p.pid) != "R", "frozen task stops running")
        cg.thaw()
        until(lambda: state(p.pid) == "R", "thawed task runs again")
        if not os.path.exists(os.path.join(cg.dirs[0], "memory.max")):
            with pytest.raises(Unavailable):
                cg.apply({"memory": {"limit": 32 << 20}})
        cg.kill_all()   # cgroup.kill
        assert p.wait(timeout=30) == -9
    finally:
        reap(p)
        cleanup(cg)


def test_v2_device_filter_is_enforced_by_the_kernel(name):
    """The eBPF device filter on the real cgroup2 mount: /dev/null allowed, /dev/zero denied, mknod denied."""
    from tug.cgroups.manager import V2Manager
    from tug.cgroups.mounts import parse_mountinfo

    with open("/proc/self/mountinfo") as f:
        v2 = next((h for h in parse_mountinfo(f.read()) if h.version == 2), None)
    if v2 is None:
        pytest.skip("no cgroup2 mount")
    with open(os.path.join(v2.mount_point, "cgroup.controllers")) as f:
        if f.read().split() and manager_is_hybrid():
            pytest.skip("a hybrid host's cgroup2 has controllers: create would enable them host-wide")
    cg = V2Manager(v2.mount_point).create(f"/{name}")
    p = spawn("cat /dev/null && echo null-ok", "head -c1 /dev/zero >/dev/null || echo zero-denied",
              f"mknod /tmp/{name}-node c 1 3 || echo mknod-denied", stdout=subprocess.PIPE)
    try:
        assert cg.apply({"devices": [{"allow": False, "access": "rwm"},
                                     {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rw"}]}) == []
        cg.add_pid(p.pid)
        go(p)
        out, _ = p.communicate(timeout=30)
        assert out.decode().split() == ["null-ok", "zero-denied", "mknod-denied"]
    finally:
        reap(p)
        cleanup(cg)
        if os.path.exists(f"/tmp/{name}-node"):
            os.unlink(f"/tmp/{name}-node")


def manager_is_hybrid() -> bool:
    return for_host().version == "hybrid"
