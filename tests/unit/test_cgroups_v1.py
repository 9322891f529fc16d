"""cgroup v1 (and hybrid) against a fake per-controller tree laid out like this machine's /sys/fs/cgroup."""

from __future__ import annotations

from pathlib import Path

import pytest
from cgroups_fake import FakeCgroupFS

from tug.cgroups.manager import V1Manager, for_host
from tug.cgroups.v1 import device_rule
from tug.errors import Invalid, NotFound

CONTROLLERS = ("cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids")

MOUNTINFO_HYBRID = "".join(
    f"{32 + i} 31 0:{29 + i} / /sys/fs/cgroup/{c} rw,relatime - cgroup cgroup rw,{c}\n"
    for i, c in enumerate(CONTROLLERS)
) + ("40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
     "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n")
PROC_CGROUP = "9:name=systemd:/\n8:pids:/\n4:memory:/process_api/abc\n3:cpuset:/\n0::/\n"


@pytest.fixture
def fake(tmp_path: Path) -> FakeCgroupFS:
    fs = FakeCgroupFS(tmp_path)
    for c in CONTROLLERS:
        fs.v1_root(tmp_path / "sys/fs/cgroup" / c, {c})
    fs.v1_root(tmp_path / "sys/fs/cgroup/systemd", set())
    fs.v2_root(tmp_path / "sys/fs/cgroup/unified", controllers="")
    (tmp_path / "mountinfo").write_text(MOUNTINFO_HYBRID)
    (tmp_path / "cgroup").write_text(PROC_CGROUP)
    (tmp_path / "sys/fs/cgroup/memory/process_api/abc").mkdir(parents=True)
    return fs


@pytest.fixture
def mgr(fake: FakeCgroupFS, tmp_path: Path) -> V1Manager:
    m = for_host(tmp_path / "mountinfo", root_override=tmp_path, proc_cgroup_path=tmp_path / "cgroup", files=fake)
    assert isinstance(m, V1Manager)
    return m


def read(fake: FakeCgroupFS, rel: str) -> str:
    return (fake.top / rel).read_text().strip()


def test_hybrid_detected_with_every_mount(mgr, tmp_path):
    assert mgr.version == "hybrid"
    assert mgr.mounts()["memory"] == str(tmp_path / "sys/fs/cgroup/memory")
    assert "name=systemd" in mgr.mounts()


def test_create_makes_a_dir_in_every_hierarchy_and_populates_cpuset(fake, mgr, tmp_path):
    cg = mgr.create("/tug-test/c1")
    base = tmp_path / "sys/fs/cgroup"
    expected = {str(base / c / "tug-test/c1") for c in (*CONTROLLERS, "systemd", "unified")}
    assert set(cg.dirs) == expected
    assert all(Path(d).is_dir() for d in expected)
    # a v1 cpuset starts empty; create copies the parent's down so a task can join
    assert read(fake, "sys/fs/cgroup/cpuset/tug-test/cpuset.cpus") == "0-3"
    assert read(fake, "sys/fs/cgroup/cpuset/tug-test/c1/cpuset.mems") == "0"
    cg.add_pid(1234)
    assert read(fake, "sys/fs/cgroup/cpuset/tug-test/c1/cgroup.procs") == "1234"
    assert read(fake, "sys/fs/cgroup/unified/tug-test/c1/cgroup.procs") == "1234"
    # the unified mount here has no controllers: nothing is enabled on it
    assert read(fake, "sys/fs/cgroup/unified/cgroup.subtree_control") == ""


def test_apply_writes_the_v1_files(fake, mgr):
    cg = mgr.create("/tug-test/c1")
    skipped = cg.apply({
        "memory": {"limit": 32 << 20, "swap": 64 << 20, "reservation": 16 << 20, "swappiness": 0},
        "cpu": {"shares": 512, "quota": 50000, "period": 100000, "cpus": "1", "mems": "0"},
        "pids": {"limit": 64},
        "blockIO": {"weight": 300, "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1048576}]},
        "devices": [{"allow": False, "access": "rwm"},
                    {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rwm"},
                    {"allow": True, "type": "c", "major": 136, "access": "rwm"}],
    })
    p = "sys/fs/cgroup/"
    assert read(fake, p + "memory/tug-test/c1/memory.limit_in_bytes") == str(32 << 20)
    assert read(fake, p + "memory/tug-test/c1/memory.memsw.limit_in_bytes") == str(64 << 20)
    assert read(fake, p + "memory/tug-test/c1/memory.soft_limit_in_bytes") == str(16 << 20)
    assert read(fake, p + "memory/tug-test/c1/memory.swappiness") == "0"
    assert read(fake, p + "cpu/tug-test/c1/cpu.shares") == "512"
    assert read(fake, p + "cpu/tug-test/c1/cpu.cfs_quota_us") == "50000"
    assert read(fake, p + "cpu/tug-test/c1/cpu.cfs_period_us") == "100000"
    assert read(fake, p + "cpuset/tug-test/c1/cpuset.cpus") == "1"
    assert read(fake, p + "pids/tug-test/c1/pids.max") == "64"
    assert read(fake, p + "blkio/tug-test/c1/blkio.throttle.read_bps_device") == "8:0 1048576"
    assert read(fake, p + "devices/tug-test/c1/devices.deny") == "a *:* rwm"
    assert read(fake, p + "devices/tug-test/c1/devices.allow").splitlines() == ["c 1:3 rwm", "c 136:* rwm"]
    # this fake, like the machine, has no blkio.weight: reported, not fatal
    assert any("blockIO.weight" in s for s in skipped)


def test_raising_memory_above_the_old_memsw_writes_memsw_first(fake, mgr):
    cg = mgr.create("/tug-test/c1")
    cg.apply({"memory": {"limit": 32 << 20, "swap": 32 << 20}})
    cg.apply({"memory": {"limit": 128 << 20, "swap": 256 << 20}})
    assert read(fake, "sys/fs/cgroup/memory/tug-test/c1/memory.limit_in_bytes") == str(128 << 20)
    assert read(fake, "sys/fs/cgroup/memory/tug-test/c1/memory.memsw.limit_in_bytes") == str(256 << 20)
    cg.apply({"memory": {"limit": -1, "swap": -1}})
    assert read(fake, "sys/fs/cgroup/memory/tug-test/c1/memory.limit_in_bytes") == "-1"


def test_unified_on_hybrid_goes_to_the_v2_dir_and_on_pure_v1_is_refused(fake, mgr, tmp_path):
    cg = mgr.create("/tug-test/c1")
    (tmp_path / "sys/fs/cgroup/unified/tug-test/c1/cgroup.max.depth").write_text("max")
    cg.apply({"unified": {"cgroup.max.depth": "3"}})
    assert read(fake, "sys/fs/cgroup/unified/tug-test/c1/cgroup.max.depth") == "3"
    pure = V1Manager(mgr.hierarchies, {}, None, fake)
    assert pure.version == "v1"
    with pytest.raises(Invalid):
        pure.load("/tug-test/c1").apply({"unified": {"memory.high": "1"}})


def test_freeze_thaw_stats_and_oom(fake, mgr, tmp_path):
    cg = mgr.create("/tug-test/c1")
    cg.freeze()
    assert read(fake, "sys/fs/cgroup/freezer/tug-test/c1/freezer.state") == "FROZEN"
    cg.thaw()
    assert read(fake, "sys/fs/cgroup/freezer/tug-test/c1/freezer.state") == "THAWED"
    base = tmp_path / "sys/fs/cgroup"
    (base / "memory/tug-test/c1/memory.usage_in_bytes").write_text("20000000\n")
    (base / "memory/tug-test/c1/memory.stat").write_text(
        "cache 100\ntotal_cache 5000000\ntotal_inactive_file 4000000\ninactive_file 1\n")
    (base / "cpuacct/tug-test/c1/cpuacct.usage").write_text("123456789\n")
    (base / "pids/tug-test/c1/pids.current").write_text("5\n")
    (base / "blkio/tug-test/c1/blkio.throttle.io_service_bytes_recursive").write_text(
        "8:0 Read 4096\n8:0 Write 8192\n8:0 Total 12288\n8:16 Read 1\nTotal 12289\n")
    s = cg.stats()
    assert s.cpu_usage_ns == 123456789
    assert s.memory_usage == 20000000 and s.memory_cache == 5000000
    assert s.memory_usage_no_cache == 16000000
    assert s.memory_limit is None            # LONG_MAX rounded to a page: unlimited
    assert (s.pids_current, s.pids_limit) == (5, None)
    assert (s.blkio_read_bytes, s.blkio_write_bytes) == (4097, 8192)
    assert cg.oom_killed() is False
    (base / "memory/tug-test/c1/memory.oom_control").write_text("oom_kill_disable 0\nunder_oom 0\noom_kill 2\n")
    assert cg.oom_killed() is True
    cg.apply({"memory": {"limit": 64 << 20}})
    assert cg.stats().memory_limit == 64 << 20


def test_relative_path_follows_each_hierarchys_own_cgroup(fake, mgr, tmp_path):
    cg = mgr.create("tug/c2")
    base = tmp_path / "sys/fs/cgroup"
    assert str(base / "memory/process_api/abc/tug/c2") in cg.dirs
    assert str(base / "pids/tug/c2") in cg.dirs
    cg.destroy()
    assert (base / "memory/process_api/abc").is_dir()      # the caller's own cgroup is not ours to remove
    assert not (base / "memory/process_api/abc/tug").exists()


def test_destroy_removes_every_made_dir_and_load_reattaches(fake, mgr, tmp_path):
    cg = mgr.create("/tug-test/c1")
    again = mgr.load("/tug-test/c1", cg.created)
    assert sorted(again.dirs) == sorted(cg.dirs)
    again.destroy()
    leftovers = [p for p in (tmp_path / "sys/fs/cgroup").rglob("*tug-test*")]
    assert leftovers == []
    with pytest.raises(NotFound):
        mgr.load("/tug-test/c1")


def test_device_rule_text():
    assert device_rule({"allow": True, "type": "b", "major": 8, "minor": -1, "access": "r"}) == "b 8:* r"
    assert device_rule({"allow": False}) == "a *:* rwm"
    with pytest.raises(Invalid):
        device_rule({"type": "x"})
    with pytest.raises(Invalid):
        device_rule({"type": "c", "access": "rwx"})


def test_a_create_that_fails_half_way_removes_what_it_made(fake, mgr, tmp_path):
    import errno as errno_mod

    from tug.errors import SystemFailure

    real_mkdir = fake.mkdir

    def refusing_mkdir(path: str) -> None:
        if "/pids/" in path:
            raise PermissionError(errno_mod.EACCES, "denied", path)
        real_mkdir(path)

    fake.mkdir = refusing_mkdir  # type: ignore[method-assign]
    with pytest.raises(SystemFailure, match="cannot create cgroup"):
        mgr.create("/tug-test/c1")
    assert list((tmp_path / "sys/fs/cgroup").rglob("*tug-test*")) == []
