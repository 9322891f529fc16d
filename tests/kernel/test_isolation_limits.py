"""Resource limits enforced on the real kernel (issue 7): memory (OOM kill -> 137 and OOMKilled), pids (a fork bomb
stays contained and `tug stop` still works), CPU (--cpus 0.5 holds a busy loop near half a core, measured from the
cgroup's own CPU counter), `tug stats`, and every cgroup removed with its container."""

from __future__ import annotations

import os
import time

from tug.cgroups.manager import for_host


def _cgroup(t, cid: str):
    pid = int(t("inspect", "-f", "{{.State.Pid}}", cid, check=True).stdout.strip())
    return for_host().of_process(pid)


def _gone(dirs: list[str]) -> bool:
    return not any(os.path.isdir(d) for d in dirs if d.rstrip("/").count("/") > 4)


def test_memory_hog_is_oom_killed(busybox_tug):
    t = busybox_tug
    r = t("run", "--name", "hog", "--network", "none", "-m", "32m", "--memory-swap", "32m", "busybox", "sh", "-c",
          "tail /dev/zero")
    assert r.returncode == 137, r.stderr
    assert t("inspect", "-f", "{{.State.OOMKilled}} {{.State.ExitCode}}", "hog").stdout.strip() == "true 137"
    t("rm", "hog", check=True)


def test_fork_bomb_is_contained_and_stop_works(busybox_tug):
    t = busybox_tug
    cid = t("run", "-d", "--network", "none", "--pids-limit", "64", "busybox", "sh", "-c",
            "f() { f | f & }; f; sleep 1000").stdout.strip()
    assert cid, "no container id"
    cg = _cgroup(t, cid)
    dirs = list(cg.dirs)
    deadline = time.monotonic() + 10
    peak = 0
    while time.monotonic() < deadline:
        peak = max(peak, cg.stats().pids_current)
        if peak >= 64:
            break
        time.sleep(0.05)
    assert 0 < peak <= 64
    t("stop", "-t", "1", cid, check=True, timeout=60)
    assert t("inspect", "-f", "{{.State.Running}}", cid).stdout.strip() == "false"
    t("rm", cid, check=True)
    assert _gone(dirs), dirs


def test_cpus_half_holds_a_busy_loop_near_half_a_core(busybox_tug):
    t = busybox_tug
    cid = t("run", "-d", "--network", "none", "--cpus", "0.5", "busybox", "sh", "-c",
            "while :; do :; done").stdout.strip()
    try:
        cg = _cgroup(t, cid)
        time.sleep(0.3)
        c0, w0 = cg.stats().cpu_usage_ns, time.monotonic()
        time.sleep(2.0)
        c1, w1 = cg.stats().cpu_usage_ns, time.monotonic()
        share = (c1 - c0) / ((w1 - w0) * 1e9)
        assert 0.3 < share < 0.7, share  # CFS quota 50ms per 100ms period; a generous band for a busy host
    finally:
        t("rm", "-f", cid)


def test_stats_no_stream_shows_docker_columns_and_the_limit(busybox_tug):
    t = busybox_tug
    cid = t("run", "-d", "--name", "st", "--network", "none", "-m", "64m", "--pids-limit", "10", "busybox",
            "sleep", "1000").stdout.strip()
    try:
        r = t("stats", "--no-stream", check=True)
        head, *rows = r.stdout.splitlines()
        for col in ("CONTAINER ID", "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %", "NET I/O", "BLOCK I/O", "PIDS"):
            assert col in head
        row = next(r for r in rows if r.startswith(cid[:12]))
        assert "/ 64MiB" in row and row.split()[-1] == "1" and " st " in row
        one = t("stats", "--no-stream", "--format", "{{.Name}} {{.PIDs}} {{.MemUsage}}", "st", check=True)
        assert one.stdout.startswith("st 1 ") and one.stdout.strip().endswith("/ 64MiB")
        assert t("stats", "--no-stream", "nosuch").returncode != 0
    finally:
        t("rm", "-f", cid)


def test_cgroup_parent_and_removal(busybox_tug):
    t = busybox_tug
    parent = f"/tugtest{os.getpid()}"
    cid = t("run", "-d", "--network", "none", "--cgroup-parent", parent, "--cpu-shares", "512",
            "--cpuset-cpus", "0", "--memory-reservation", "16m", "busybox", "sleep", "1000").stdout.strip()
    try:
        cg = _cgroup(t, cid)
        dirs = list(cg.dirs)
        assert all(f"{parent}/{cid}" in d for d in dirs if d.rstrip("/").count("/") > 4), dirs
        with open(f"/proc/{int(t('inspect', '-f', '{{.State.Pid}}', cid).stdout)}/status") as f:
            assert "Cpus_allowed_list:\t0\n" in f.read()
    finally:
        t("rm", "-f", cid, check=True)
    assert _gone(dirs), dirs
    for d in dirs:  # the parent tug made for it goes too
        head = d.split(parent)[0] + parent
        if parent in d:
            assert not os.path.isdir(head), head
