"""cgroup v2 against a fake unified tree: what create/apply/destroy write, and how the lifecycle reads back."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
from cgroups_fake import FakeCgroupFS

from tug.cgroups.convert import shares_to_weight
from tug.cgroups.manager import V2Manager, for_host
from tug.errors import Invalid, NotFound, Unavailable


@pytest.fixture
def fake(tmp_path: Path) -> FakeCgroupFS:
    fs = FakeCgroupFS(tmp_path)
    fs.v2_root(tmp_path / "sys/fs/cgroup")
    return fs


@pytest.fixture
def mgr(fake: FakeCgroupFS, tmp_path: Path) -> V2Manager:
    return V2Manager(tmp_path / "sys/fs/cgroup", "/user.slice/session-1.scope", fake)


def read(fake: FakeCgroupFS, rel: str) -> str:
    return (fake.top / rel).read_text().strip()


def test_create_enables_controllers_from_the_root_down_and_records_dirs(fake, mgr, tmp_path):
    cg = mgr.create("/tug/abc")
    root = tmp_path / "sys/fs/cgroup"
    assert cg.dirs == [str(root / "tug/abc")]
    assert cg.created == [str(root / "tug"), str(root / "tug/abc")]
    assert read(fake, "sys/fs/cgroup/cgroup.subtree_control").split() == sorted(
        ["cpuset", "cpu", "io", "memory", "hugetlb", "pids"])
    assert read(fake, "sys/fs/cgroup/tug/cgroup.subtree_control").split() == sorted(
        ["cpuset", "cpu", "io", "memory", "hugetlb", "pids"])
    # the leaf is where processes go: its own subtree_control stays empty (no internal processes)
    assert read(fake, "sys/fs/cgroup/tug/abc/cgroup.subtree_control") == ""
    assert (root / "tug/abc/memory.max").exists()


def test_apply_writes_each_v2_file(fake, mgr):
    cg = mgr.create("/tug/abc")
    skipped = cg.apply({
        "memory": {"limit": 64 << 20, "swap": 96 << 20, "reservation": 32 << 20},
        "cpu": {"shares": 512, "quota": 50000, "period": 100000, "cpus": "0-1", "mems": "0"},
        "pids": {"limit": 64},
        "blockIO": {"weight": 500, "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1048576}],
                    "throttleWriteBpsDevice": [{"major": 8, "minor": 16, "rate": 2097152}]},
        "hugepageLimits": [{"pageSize": "2MB", "limit": 4 << 21}],
    })
    leaf = "sys/fs/cgroup/tug/abc/"
    assert read(fake, leaf + "memory.max") == str(64 << 20)
    assert read(fake, leaf + "memory.swap.max") == str(32 << 20)   # memory+swap minus memory
    assert read(fake, leaf + "memory.low") == str(32 << 20)
    assert read(fake, leaf + "cpu.max") == "50000 100000"
    assert read(fake, leaf + "cpu.weight") == str(shares_to_weight(512))
    assert read(fake, leaf + "cpuset.cpus") == "0-1"
    assert read(fake, leaf + "cpuset.mems") == "0"
    assert read(fake, leaf + "pids.max") == "64"
    assert read(fake, leaf + "io.weight") == "4950"
    assert read(fake, leaf + "io.max").splitlines() == ["8:0 rbps=1048576", "8:16 wbps=2097152"]
    assert read(fake, leaf + "hugetlb.2MB.max") == str(4 << 21)
    assert skipped == []


def test_unlimited_values_are_spelled_max(fake, mgr):
    cg = mgr.create("/tug/abc")
    cg.apply({"memory": {"limit": -1}, "cpu": {"quota": -1, "period": 50000}, "pids": {"limit": -1}})
    leaf = "sys/fs/cgroup/tug/abc/"
    assert read(fake, leaf + "memory.max") == "max"
    assert read(fake, leaf + "memory.swap.max") == "max"
    assert read(fake, leaf + "cpu.max") == "max 50000"
    assert read(fake, leaf + "pids.max") == "max"


def test_unsupported_settings_are_reported_not_silently_dropped(fake, mgr):
    cg = mgr.create("/tug/abc")
    skipped = cg.apply({"memory": {"swappiness": 10}, "network": {"classID": 1}})
    assert any("swappiness" in s for s in skipped)
    assert any("network" in s for s in skipped)


def test_missing_controller_is_an_error(fake, tmp_path):
    fs = FakeCgroupFS(tmp_path / "other")
    fs.v2_root(tmp_path / "other/cg", controllers="cpu pids")
    cg = V2Manager(tmp_path / "other/cg", "/", fs).create("/tug/x")
    with pytest.raises(Unavailable, match="memory"):
        cg.apply({"memory": {"limit": 1 << 20}})


def test_swap_without_memory_limit_is_invalid(fake, mgr):
    cg = mgr.create("/tug/abc")
    with pytest.raises(Invalid):
        cg.apply({"memory": {"swap": 1 << 30}})
    with pytest.raises(Invalid):
        cg.apply({"memory": {"limit": 1 << 30, "swap": 1 << 20}})


def test_unified_keys_are_written_raw_and_checked(fake, mgr):
    cg = mgr.create("/tug/abc")
    cg.apply({"unified": {"pids.max": "10"}})
    assert read(fake, "sys/fs/cgroup/tug/abc/pids.max") == "10"
    with pytest.raises(Invalid):
        cg.apply({"unified": {"memory.high": "1"}})  # the fake has no memory.high: a missing file is refused
    with pytest.raises(Invalid):
        cg.apply({"unified": {"../escape.max": "1"}})
    with pytest.raises(Invalid):
        cg.apply({"unified": {"cgroup.procs": "1"}})


def test_add_pid_pids_freeze_thaw_kill_and_stats(fake, mgr):
    cg = mgr.create("/tug/abc")
    cg.add_pid(4242)
    assert cg.pids() == [4242]
    cg.freeze()
    assert read(fake, "sys/fs/cgroup/tug/abc/cgroup.freeze") == "1"
    cg.thaw()
    assert read(fake, "sys/fs/cgroup/tug/abc/cgroup.freeze") == "0"
    cg.kill_all(signal.SIGKILL)   # cgroup.kill exists: one write, no per-pid signals to the fake's pid 4242
    assert ("sys/fs/cgroup/tug/abc/cgroup.kill", "1") in fake.writes
    leaf = fake.top / "sys/fs/cgroup/tug/abc"
    (leaf / "memory.current").write_text("10485760\n")
    (leaf / "memory.stat").write_text("anon 6291456\nfile 4194304\ninactive_file 3145728\n")
    (leaf / "cpu.stat").write_text("usage_usec 1500\nuser_usec 1000\nsystem_usec 500\n")
    (leaf / "pids.current").write_text("3\n")
    (leaf / "io.stat").write_text("8:0 rbytes=100 wbytes=200 rios=1 wios=2\n8:16 rbytes=1 wbytes=2\n")
    cg.apply({"memory": {"limit": 64 << 20}, "pids": {"limit": 50}})
    s = cg.stats()
    assert (s.cpu_usage_ns, s.cpu_user_ns, s.cpu_system_ns) == (1_500_000, 1_000_000, 500_000)
    assert (s.memory_usage, s.memory_limit, s.memory_cache) == (10485760, 64 << 20, 4194304)
    assert s.memory_usage_no_cache == 10485760 - 3145728
    assert (s.pids_current, s.pids_limit) == (3, 50)
    assert (s.blkio_read_bytes, s.blkio_write_bytes) == (101, 202)
    assert cg.oom_killed() is False
    (leaf / "memory.events").write_text("low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n")
    assert cg.oom_killed() is True


def test_freeze_that_never_settles_times_out_and_thaws(fake, mgr):
    cg = mgr.create("/tug/abc")

    class Stuck(type(fake)):
        def write(self, path, value):
            super().write(path, value)
            if path.endswith("cgroup.freeze") and value == "1":   # the kernel never reports frozen
                Path(path).with_name("cgroup.events").write_text("populated 1\nfrozen 0\n")

    cg.files = Stuck.__new__(Stuck)
    cg.files.__dict__.update(fake.__dict__)
    from tug.errors import SystemFailure
    with pytest.raises(SystemFailure, match="freeze"):
        cg.freeze(timeout=0.05)
    assert read(fake, "sys/fs/cgroup/tug/abc/cgroup.freeze") == "0"


def test_destroy_removes_what_create_made_and_keeps_shared_parents(fake, mgr, tmp_path):
    root = tmp_path / "sys/fs/cgroup"
    first = mgr.create("/tug/one")
    second = mgr.create("/tug/two")
    assert second.created == [str(root / "tug/two")]   # /tug already existed: not second's to remove
    second.destroy()
    assert not (root / "tug/two").exists() and (root / "tug/one").exists()
    first.destroy()
    assert not (root / "tug").exists()


def test_destroy_of_a_busy_cgroup_fails_after_retrying(fake, mgr):
    from tug.errors import SystemFailure
    cg = mgr.create("/tug/abc")
    cg.add_pid(99)
    with pytest.raises(SystemFailure, match="cannot remove"):
        cg.destroy(timeout=0.05)


def test_load_finds_an_existing_cgroup_and_destroys_the_saved_created_list(fake, mgr, tmp_path):
    made = mgr.create("/tug/abc")
    again = mgr.load("/tug/abc", made.created)
    assert again.dirs == made.dirs
    again.destroy()
    assert not (tmp_path / "sys/fs/cgroup/tug").exists()
    with pytest.raises(NotFound):
        mgr.load("/tug/abc")


def test_relative_path_goes_under_the_callers_cgroup(fake, tmp_path):
    root = tmp_path / "sys/fs/cgroup"
    (root / "cgroup.subtree_control").write_text("cpu memory pids\n")
    fake.mkdir(str(root / "user.slice"))
    mgr = V2Manager(root, "/user.slice", fake)
    cg = mgr.create("tug/abc")
    assert cg.dirs == [str(root / "user.slice/tug/abc")]
    assert cg.created == [str(root / "user.slice/tug"), str(root / "user.slice/tug/abc")]


def test_systemd_style_path_maps_to_slices_and_a_scope(fake, mgr, tmp_path):
    cg = mgr.create("machine-tug.slice:tug:abc")
    assert cg.path == "/machine.slice/machine-tug.slice/tug-abc.scope"
    assert cg.dirs == [str(tmp_path / "sys/fs/cgroup/machine.slice/machine-tug.slice/tug-abc.scope")]
    cg.destroy()
    assert not (tmp_path / "sys/fs/cgroup/machine.slice").exists()


def test_for_host_on_a_pure_v2_fake_tree(fake, tmp_path):
    mi = tmp_path / "mountinfo"
    mi.write_text("25 1 0:22 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 "
                  "rw,nsdelegate,memory_recursiveprot\n")
    pc = tmp_path / "cgroup"
    pc.write_text("0::/\n")
    mgr = for_host(mi, root_override=tmp_path, proc_cgroup_path=pc, files=fake)
    assert mgr.version == "v2"
    cg = mgr.create("/tug-test/x")
    cg.apply({"memory": {"limit": 32 << 20}})
    assert read(fake, "sys/fs/cgroup/tug-test/x/memory.max") == str(32 << 20)
    cg.destroy()
    assert not (tmp_path / "sys/fs/cgroup/tug-test").exists()


def test_device_rules_become_an_attached_ebpf_program(fake, mgr):
    from tug.cgroups.devicefilter import program

    cg = mgr.create("/tug/abc")
    rules = [{"allow": False, "access": "rwm"}, {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rwm"}]
    assert cg.apply({"devices": rules}) == []
    assert fake.device_filters == {cg.dirs[0]: program(rules)}
