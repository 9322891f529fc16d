"""Detection of the host's cgroup layout from mountinfo texts, /proc/PID/cgroup parsing and cgroups paths."""

from __future__ import annotations

from pathlib import Path

import pytest

from tug.cgroups.manager import V1Manager, V2Manager, for_host
from tug.cgroups.mounts import Hierarchy, own_path, parse_mountinfo, parse_proc_cgroup
from tug.cgroups.paths import expand_slice, normalize
from tug.errors import Invalid, Unavailable

PURE_V2 = """\
22 1 0:21 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
26 22 0:23 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
"""  # noqa: E501

# this machine: v1 per controller, a named systemd hierarchy and a controller-less cgroup2
HYBRID = """\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
"""

# an older distribution: combined cpu,cpuacct, a systemd hierarchy with options, no cgroup2, and a bind mount
PURE_V1 = """\
25 18 0:21 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
26 25 0:22 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:10 - cgroup cgroup rw,xattr,release_agent=/usr/lib/systemd/systemd-cgroups-agent,name=systemd
29 25 0:25 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:13 - cgroup cgroup rw,cpu,cpuacct
30 25 0:26 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:14 - cgroup cgroup rw,memory
31 25 0:27 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,pids
90 60 0:26 /docker/abc /mnt/mem\\040copy rw,relatime - cgroup cgroup rw,memory
"""  # noqa: E501


def write(tmp_path: Path, mountinfo: str, proc_cgroup: str = "0::/\n") -> tuple[Path, Path]:
    (tmp_path / "mi").write_text(mountinfo)
    (tmp_path / "pc").write_text(proc_cgroup)
    return tmp_path / "mi", tmp_path / "pc"


def test_pure_v2_is_a_v2_manager_at_the_mount(tmp_path):
    mi, pc = write(tmp_path, PURE_V2, "0::/user.slice/user-1000.slice/session-2.scope\n")
    m = for_host(mi, proc_cgroup_path=pc)
    assert isinstance(m, V2Manager) and m.version == "v2"
    assert m.root == "/sys/fs/cgroup"
    assert m.own == "/user.slice/user-1000.slice/session-2.scope"


def test_hybrid_like_this_machine(tmp_path):
    mi, pc = write(tmp_path, HYBRID)
    m = for_host(mi, proc_cgroup_path=pc)
    assert isinstance(m, V1Manager) and m.version == "hybrid"
    assert m.mounts() == {**{c: f"/sys/fs/cgroup/{c}" for c in ("cpu", "cpuacct", "cpuset", "memory", "devices",
                                                                   "freezer", "blkio", "pids")},
                          "name=systemd": "/sys/fs/cgroup/systemd"}
    assert m.unified is not None and m.unified.mount_point == "/sys/fs/cgroup/unified"


def test_pure_v1_with_combined_controllers_and_first_mount_wins(tmp_path):
    mi, pc = write(tmp_path, PURE_V1)
    m = for_host(mi, proc_cgroup_path=pc, root_override=Path("/fake"))
    assert isinstance(m, V1Manager) and m.version == "v1"
    f = "/fake/sys/fs/cgroup"
    assert m.mounts() == {"name=systemd": f"{f}/systemd", "cpu,cpuacct": f"{f}/cpu,cpuacct",
                          "memory": f"{f}/memory", "pids": f"{f}/pids"}


def test_named_hierarchy_alone_does_not_make_a_v1_host(tmp_path):
    mi, pc = write(tmp_path, PURE_V2 + "40 31 0:37 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,name=systemd\n")
    assert for_host(mi, proc_cgroup_path=pc).version == "v2"


def test_no_cgroups_at_all_is_unavailable(tmp_path):
    mi, pc = write(tmp_path, "22 1 0:21 / /sys rw - sysfs sysfs rw\n")
    with pytest.raises(Unavailable):
        for_host(mi, proc_cgroup_path=pc)


def test_mountinfo_escapes_and_roots():
    hs = parse_mountinfo("90 60 0:26 /docker/abc /mnt/mem\\040copy rw,relatime - cgroup cgroup rw,memory\n")
    assert hs == [Hierarchy("/mnt/mem copy", "/docker/abc", 1, frozenset({"memory"}))]


def test_proc_cgroup_and_own_path_below_a_mount_root():
    own = parse_proc_cgroup("12:cpuacct,cpu:/docker/abc/sub\n4:memory:/x\n1:name=systemd:/init.scope\n0::/y\n")
    assert own == {"cpu,cpuacct": "/docker/abc/sub", "memory": "/x", "name=systemd": "/init.scope", "": "/y"}
    cpu = Hierarchy("/sys/fs/cgroup/cpu,cpuacct", "/docker/abc", 1, frozenset({"cpu", "cpuacct"}))
    assert own_path(own, cpu) == "/sub"
    assert own_path(own, Hierarchy("/m", "/", 1, frozenset({"memory"}))) == "/x"
    assert own_path(own, Hierarchy("/u", "/", 2)) == "/y"
    assert own_path(own, Hierarchy("/p", "/", 1, frozenset({"pids"}))) == "/"


@pytest.mark.parametrize("given, expected", [
    ("/tug/abc", (True, "tug/abc")),
    ("tug/abc", (False, "tug/abc")),
    ("//tug//./abc/", (True, "tug/abc")),
    ("system.slice:tug:abc", (True, "system.slice/tug-abc.scope")),
    (":tug:abc", (True, "system.slice/tug-abc.scope")),
    ("user-1000.slice::abc", (True, "user.slice/user-1000.slice/abc.scope")),
    ("-.slice:tug:abc", (True, "tug-abc.scope")),
    ("system.slice:tug:child.slice", (True, "system.slice/child.slice")),
])
def test_cgroups_path_forms(given, expected):
    assert normalize(given) == expected


@pytest.mark.parametrize("bad", ["", "/", "/tug/../etc", "../x", "bad:tug:abc", "a--b.slice:x:y", "system.slice:x:"])
def test_bad_cgroups_paths(bad):
    with pytest.raises(Invalid):
        normalize(bad)


def test_slice_expansion():
    assert expand_slice("a-b-c.slice", "x") == "a.slice/a-b.slice/a-b-c.slice"
    assert expand_slice("-.slice", "x") == ""
