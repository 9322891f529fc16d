"""The cgroup primer moves nothing: after it ran, this process is in exactly the cgroups it was in."""

from __future__ import annotations

import os

import pytest

from tug.runtime import cgroup

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")


def test_primer_writes_our_own_cgroup_and_nothing_moves():
    with open("/proc/self/cgroup") as f:
        before = f.read()
    j = cgroup.create("/tug-test-never-made", make=False)
    if j.own_procs is None:
        pytest.skip("no cgroup hierarchy mounted at its root here")
    with open(j.own_procs) as f:
        assert str(os.getpid()) in f.read().split()  # it is the cgroup we are in
    cgroup.prime(j).wait()
    with open("/proc/self/cgroup") as f:
        assert f.read() == before
    assert not any(os.path.exists(p) for p in j.paths)


def test_warmer_keeps_us_where_we_are():
    with open("/proc/self/cgroup") as f:
        before = f.read()
    procs = cgroup.own_procs()
    if procs is None:
        pytest.skip("no cgroup hierarchy mounted at its root here")
    w = cgroup.Warmer(procs, interval=0.001, limit=0.02)
    w.wait()
    with open("/proc/self/cgroup") as f:
        assert f.read() == before
