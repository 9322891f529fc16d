"""tug-runtime's cgroup paths and primer: where the dirs go, which cgroup.procs the primer may write (only our own
cgroup, where that is certain)."""

from __future__ import annotations

import os

from tug.runtime import cgroup, config
from tug.sys import ns

HYBRID = """\
24 29 0:22 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
25 24 0:23 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw
26 24 0:24 / /sys/fs/cgroup/systemd rw,nosuid - cgroup cgroup rw,xattr,name=systemd
27 24 0:25 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid - cgroup cgroup rw,cpu,cpuacct
"""


def plan(tmp_path, mountinfo: str, own: str, path: str = "/ctr") -> cgroup.Joined:
    (tmp_path / "mountinfo").write_text(mountinfo)
    (tmp_path / "cgroup").write_text(own)
    return cgroup.create(path, str(tmp_path / "mountinfo"), str(tmp_path / "cgroup"), make=False)


def test_paths_in_every_hierarchy_absolute_and_relative(tmp_path):
    own = "3:cpu,cpuacct:/a\n1:name=systemd:/b\n0::/c\n"
    assert plan(tmp_path, HYBRID, own).paths == [
        "/sys/fs/cgroup/unified/ctr", "/sys/fs/cgroup/systemd/ctr", "/sys/fs/cgroup/cpu,cpuacct/ctr"]
    assert plan(tmp_path, HYBRID, own, "ctr").paths == [
        "/sys/fs/cgroup/unified/c/ctr", "/sys/fs/cgroup/systemd/b/ctr", "/sys/fs/cgroup/cpu,cpuacct/a/ctr"]


def test_own_procs_is_the_first_hierarchy_we_are_named_in(tmp_path):
    j = plan(tmp_path, HYBRID, "3:cpu,cpuacct:/user.slice/a\n1:name=systemd:/user.slice/b\n0::/user.slice/c\n")
    assert j.own_procs == "/sys/fs/cgroup/unified/user.slice/c/cgroup.procs"


def test_v1_only_uses_the_hierarchy_of_our_controllers(tmp_path):
    j = plan(tmp_path, HYBRID.replace("cgroup2 cgroup2", "tmpfs tmpfs"), "3:cpu,cpuacct:/x\n")
    assert j.own_procs == "/sys/fs/cgroup/cpu,cpuacct/x/cgroup.procs"


def test_hierarchy_not_mounted_at_its_root_is_skipped(tmp_path):
    # a bind of a sub-cgroup (as inside a container): /proc/self/cgroup's path is not relative to this mount
    sub = HYBRID.replace("0:23 / /sys/fs/cgroup/unified", "0:23 /some/sub /sys/fs/cgroup/unified")
    assert plan(tmp_path, sub, "3:cpu,cpuacct:/x\n0::/some/sub/y\n").own_procs == \
        "/sys/fs/cgroup/cpu,cpuacct/x/cgroup.procs"


def test_nothing_certain_means_no_priming(tmp_path):
    assert plan(tmp_path, HYBRID, "5:memory:/x\n").own_procs is None  # no v2 line, no mounted controller of ours
    p = cgroup.Primer(None)
    p.wait()  # no thread: returns at once


def test_primer_writes_our_pid_and_ignores_failures(tmp_path):
    target = tmp_path / "cgroup.procs"
    target.write_text("")
    cgroup.Primer(str(target)).wait()
    assert target.read_text() == str(os.getpid())
    cgroup.Primer(str(tmp_path / "nope" / "cgroup.procs")).wait()


def test_config_namespace_types_are_the_kernel_ones():
    assert set(config.NAMESPACE_TYPES) == set(ns.BY_OCI_TYPE)


def test_own_procs_alone_is_what_create_finds(tmp_path):
    for mountinfo, own in ((HYBRID, "3:cpu,cpuacct:/a\n1:name=systemd:/b\n0::/c\n"),
                           (HYBRID.replace("cgroup2 cgroup2", "tmpfs tmpfs"), "3:cpu,cpuacct:/x\n"),
                           (HYBRID, "5:memory:/x\n")):
        j = plan(tmp_path, mountinfo, own)
        assert cgroup.own_procs(str(tmp_path / "mountinfo"), str(tmp_path / "cgroup")) == j.own_procs
    assert cgroup.own_procs(str(tmp_path / "missing"), str(tmp_path / "cgroup")) is None


def test_warmer_writes_our_pid_again_and_again_until_stopped(tmp_path):
    import time

    target = tmp_path / "cgroup.procs"
    target.write_text("")
    w = cgroup.Warmer(str(target), interval=0.001)
    deadline = time.monotonic() + 5
    while target.stat().st_size < 3 * len(str(os.getpid())) and time.monotonic() < deadline:
        time.sleep(0.001)
    w.stop()
    w.wait()
    size = target.stat().st_size
    assert size >= 3 * len(str(os.getpid()))
    assert target.read_text() == str(os.getpid()) * (size // len(str(os.getpid())))
    time.sleep(0.01)
    assert target.stat().st_size == size  # stopped: no more writes
    w.stop()  # a second stop is harmless


def test_warmer_ends_by_itself_and_ignores_failures(tmp_path):
    target = tmp_path / "cgroup.procs"
    target.write_text("")
    cgroup.Warmer(str(target), interval=0.001, limit=0.01).wait()  # returns: the thread ended at its limit
    assert target.read_text().startswith(str(os.getpid()))
    for w in (cgroup.Warmer(None), cgroup.Warmer(str(tmp_path / "nope" / "cgroup.procs"))):
        w.stop()
        w.wait()  # no thread: returns at once


def _cpuset_dir(d, cpus: str = "", mems: str = "") -> None:
    d.mkdir(parents=True, exist_ok=True)
    (d / "cpuset.cpus").write_text(cpus)
    (d / "cpuset.mems").write_text(mems)


def test_cpuset_levels_a_concurrent_start_left_empty_are_filled_from_their_parents(tmp_path):
    """Two starts under one new parent: the second may find the parent made but not yet filled (a task then cannot
    join: ENOSPC). Every level is filled from its parent, whoever made it."""
    mnt = tmp_path / "cpuset"
    _cpuset_dir(mnt, "0-1\n", "0\n")
    _cpuset_dir(mnt / "tug")  # made by the other start, not filled yet
    _cpuset_dir(mnt / "tug" / "ctr")  # (a fake tree has no kernel to add the files to a new dir)
    created: list[str] = []
    cgroup._make(str(mnt), str(mnt / "tug" / "ctr"), True, created)
    assert created == []
    for d in (mnt / "tug", mnt / "tug" / "ctr"):
        assert ((d / "cpuset.cpus").read_text(), (d / "cpuset.mems").read_text()) == ("0-1", "0")


def test_remove_waits_only_for_the_containers_own_cgroup(tmp_path):
    parent, leaf = tmp_path / "tug", tmp_path / "tug" / "ctr"
    leaf.mkdir(parents=True)
    (parent / "other").mkdir()  # another container's cgroup: the parent stays, at once
    cgroup.remove([str(parent), str(leaf)], [str(leaf)], timeout=30)
    assert parent.is_dir() and not leaf.exists()



def test_planned_dirs_are_made_later_parents_first(tmp_path):
    cpu, mem = tmp_path / "cpu", tmp_path / "memory"
    for d in (cpu, mem):
        d.mkdir()
    mountinfo = (f"30 24 0:30 / {cpu} rw - cgroup cgroup rw,cpu\n"
                 f"31 24 0:31 / {mem} rw - cgroup cgroup rw,memory\n")
    j = plan(tmp_path, mountinfo, "3:cpu:/\n4:memory:/\n", "/tug/ctr")
    assert j.paths == [str(cpu / "tug/ctr"), str(mem / "tug/ctr")] and j.cpusets == [False, False]
    assert not (cpu / "tug").exists() and j.created == []  # planned only
    (cpu / "tug").mkdir()  # a parent that exists already is not ours to remove later
    cgroup.make_dirs(j)
    assert j.created == [str(cpu / "tug/ctr"), str(mem / "tug"), str(mem / "tug/ctr")]
    assert all(os.path.isdir(p) for p in j.paths)


def test_kept_warm_while_a_warmer_runs(tmp_path):
    target = tmp_path / "cgroup.procs"
    target.write_text("")
    w = cgroup.Warmer(str(target), interval=0.001)
    assert cgroup.kept_warm()
    w.stop()
    w.wait()
    assert not cgroup.kept_warm()
    cgroup.Warmer(str(target), interval=0.001, limit=0.005).wait()
    assert not cgroup.kept_warm()  # ended at its limit
