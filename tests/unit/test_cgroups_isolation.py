"""cgroups room additions for issue 7: finding a process's cgroup (for stats), the plain value classes, and keeping
the room light to import (tug-runtime imports it on every container start)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from cgroups_fake import FakeCgroupFS

from tug.cgroups.manager import V1Manager, V2Manager
from tug.cgroups.mounts import Hierarchy
from tug.cgroups.stats import Stats
from tug.errors import NotFound

SRC = str(Path(__file__).resolve().parents[2] / "src")


def test_v2_of_process_reads_proc_cgroup(tmp_path):
    fake = FakeCgroupFS(tmp_path)
    fake.v2_root(tmp_path / "sys/fs/cgroup")
    mgr = V2Manager(tmp_path / "sys/fs/cgroup", "/", fake)
    cg = mgr.create("/tug/abc")
    cg.add_pid(4242)
    (tmp_path / "proc/4242").mkdir(parents=True)
    (tmp_path / "proc/4242/cgroup").write_text("0::/tug/abc\n")
    found = mgr.of_process(4242, proc=str(tmp_path / "proc"))
    assert found.dirs == cg.dirs
    with pytest.raises(NotFound):
        mgr.of_process(999, proc=str(tmp_path / "proc"))


def test_v1_of_process_uses_each_hierarchy_path(tmp_path):
    fake = FakeCgroupFS(tmp_path)
    hs = []
    for c in ("memory", "pids"):
        fake.v1_root(tmp_path / c, {c})
        hs.append(Hierarchy(str(tmp_path / c), "/", 1, frozenset({c})))
    (tmp_path / "memory/outer/x").mkdir(parents=True)
    (tmp_path / "pids/x").mkdir(parents=True)
    mgr = V1Manager(hs, files=fake)
    (tmp_path / "proc/7").mkdir(parents=True)
    (tmp_path / "proc/7/cgroup").write_text("5:pids:/x\n4:memory:/outer/x\n")
    cg = mgr.of_process(7, proc=str(tmp_path / "proc"))
    assert sorted(cg.dirs) == sorted([str(tmp_path / "memory/outer/x"), str(tmp_path / "pids/x")])


def test_value_classes_compare_and_show():
    a = Hierarchy("/m", "/", 1, frozenset({"memory"}))
    assert a == Hierarchy("/m", "/", 1, frozenset({"memory"})) and a != Hierarchy("/m", "/x", 1)
    assert len({a, Hierarchy("/m", "/", 1, frozenset({"memory"}))}) == 1 and "memory" in repr(a)
    s = Stats(memory_usage=100, memory_inactive_file=30)
    assert s.memory_usage_no_cache == 70 and s.memory_stat == {} and s == Stats(memory_usage=100,
                                                                                  memory_inactive_file=30)
    assert Stats().memory_stat is not Stats().memory_stat
    assert "memory_usage=100" in repr(s) and s.as_dict()["memory_usage"] == 100


def test_runtime_import_path_stays_light():
    """dataclasses, inspect, enum, typing and signal cost ~14 ms together: none may come with tug.cgroups."""
    code = (f"import sys; sys.path.insert(0, {SRC!r}); import tug.cgroups.manager; "
            "print(' '.join(sorted(m for m in ('dataclasses', 'inspect', 'enum', 'typing', 'signal', 'ast') "
            "if m in sys.modules)))")
    r = subprocess.run([sys.executable, "-I", "-S", "-c", code], capture_output=True, text=True, check=True)
    assert r.stdout.strip() == ""
