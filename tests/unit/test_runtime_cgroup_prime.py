"""tug-runtime's cgroup primer: which cgroup.procs it may write (only our own cgroup, where that is certain)."""

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


def write(tmp_path, mountinfo: str, own: str) -> tuple[str, str]:
    (tmp_path / "mountinfo").write_text(mountinfo)
    (tmp_path / "cgroup").write_text(own)
    return str(tmp_path / "mountinfo"), str(tmp_path / "cgroup")


def test_first_hierarchy_we_are_named_in(tmp_path):
    mi, cg = write(tmp_path, HYBRID, "3:cpu,cpuacct:/user.slice/a\n1:name=systemd:/user.slice/b\n0::/user.slice/c\n")
    assert cgroup.own_procs_file(mi, cg) == "/sys/fs/cgroup/unified/user.slice/c/cgroup.procs"


def test_v1_only_uses_the_hierarchy_of_our_controllers(tmp_path):
    mi, cg = write(tmp_path, HYBRID.replace("cgroup2 cgroup2", "tmpfs tmpfs"), "3:cpu,cpuacct:/x\n")
    assert cgroup.own_procs_file(mi, cg) == "/sys/fs/cgroup/cpu,cpuacct/x/cgroup.procs"


def test_hierarchy_not_mounted_at_its_root_is_skipped(tmp_path):
    # a bind of a sub-cgroup (as inside a container): /proc/self/cgroup's path is not relative to this mount
    sub = HYBRID.replace("0:23 / /sys/fs/cgroup/unified", "0:23 /some/sub /sys/fs/cgroup/unified")
    mi, cg = write(tmp_path, sub, "3:cpu,cpuacct:/x\n0::/some/sub/y\n")
    assert cgroup.own_procs_file(mi, cg) == "/sys/fs/cgroup/cpu,cpuacct/x/cgroup.procs"


def test_nothing_certain_means_no_priming(tmp_path):
    mi, cg = write(tmp_path, HYBRID, "5:memory:/x\n")  # no v2 line, no mounted controller of ours
    assert cgroup.own_procs_file(mi, cg) is None
    assert cgroup.own_procs_file(str(tmp_path / "missing"), cg) is None
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
