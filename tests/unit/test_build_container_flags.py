"""`tug build`'s build-container flags: parsed as docker's flags are, carried as the RunOptions fields `tug run`
fills, checked before the build starts, and given to the build container's RunOptions."""

from __future__ import annotations

import pytest

from tug import records
from tug.cli.build import _add_host, _bytes, _run_settings, _strings, _swap, _ulimit
from tug.engine.build.options import RUN_SETTINGS, BuildOptions
from tug.engine.build.runsettings import check, run_options
from tug.errors import Invalid, NotFound
from tug.spec.options import RunOptions


def test_every_setting_is_a_run_option():
    fields = {f.name for f in records.fields(RunOptions)}
    assert all(name in fields for name in RUN_SETTINGS)


def test_cli_fills_every_setting_and_drops_unset_ones():
    full = _run_settings(("a:1.2.3.4",), "p", 100000, 50000, 512, "0", "0", "64m", "-1", "16m",
                         ("nofile=1:2",), ("seccomp=unconfined,no-new-privileges",))
    assert sorted(full) == sorted(RUN_SETTINGS)
    assert full["security_opt"] == ["seccomp=unconfined", "no-new-privileges"]
    empty = _run_settings((), None, None, None, None, None, None, None, None, None, (), ())
    assert BuildOptions(run_settings=empty).run_settings == {}
    with pytest.raises(TypeError):
        BuildOptions(run_settings={"privileged": True})


def test_run_options_are_fresh_lists():
    opts = BuildOptions(run_settings={"ulimits": ["nofile=1:2"], "memory": "64m"})
    got = run_options(opts)
    got["ulimits"].append("x")
    assert opts.run_settings["ulimits"] == ["nofile=1:2"]
    assert RunOptions(image="b", **run_options(opts)).memory == "64m"


@pytest.mark.parametrize("fn,value,message", [
    (_bytes, "lots", "invalid size: 'lots'"),
    (_bytes, "1.5.2m", "invalid size: '1.5.2m'"),
    (_bytes, "-1", "invalid size: '-1'"),
    (_swap, "x", "invalid size: 'x'"),
    (_ulimit, "bad", "invalid ulimit argument: bad"),
    (_ulimit, "nofile=10:5", "ulimit soft limit must be less than or equal to hard limit: 10 > 5"),
    (_add_host, "bad", 'bad format for add-host: "bad"'),
    (_add_host, "a:notanip", 'invalid IP address in add-host: "notanip"'),
])
def test_flag_values_refused_as_docker_words_them(fn, value, message):
    with pytest.raises(ValueError) as e:
        fn(value)
    assert str(e.value) == message


@pytest.mark.parametrize("fn,value", [(_bytes, "64m"), (_swap, "-1"), (_swap, "1g"), (_ulimit, "nofile=1024:2048"),
                                      (_add_host, "a.test:10.1.2.3"), (_add_host, "b=::1"),
                                      (_add_host, "c:[fe80::1]")])
def test_flag_values_accepted(fn, value):
    assert fn(value) == value


def test_strings_split_on_commas():
    assert _strings("a,b") == ["a", "b"] and _strings('"x,y",z') == ["x,y", "z"]


@pytest.mark.parametrize("settings,kind,part", [
    ({"memory_swap": "64m"}, Invalid, "Memory limit"),
    ({"memory": "64m", "memory_swap": "32m"}, Invalid, "swap"),
    ({"cpu_period": 10}, Invalid, "CPU cfs period"),
    ({"cpuset_cpus": "zz"}, Invalid, "--cpuset-cpus"),
    ({"security_opt": ["bogus"]}, Invalid, "bogus"),
    ({"security_opt": ["seccomp=/nonexistent/p.json"]}, NotFound, "p.json"),
    ({"shm_size": "0"}, Invalid, "SHM size"),
    ({"cgroup_parent": "../up"}, Invalid, "--cgroup-parent"),
])
def test_check_refuses_what_the_spec_generator_refuses(settings, kind, part):
    with pytest.raises(kind) as e:
        check(BuildOptions(run_settings=settings))
    assert part in e.value.message


def test_check_accepts_good_settings():
    check(BuildOptions(run_settings={"memory": "64m", "memory_swap": "-1", "cpu_shares": 512, "cpu_period": 100000,
                                     "cpu_quota": 50000, "ulimits": ["nofile=1024:1024"], "shm_size": "16m",
                                     "security_opt": ["seccomp=unconfined"], "add_hosts": ["a:1.2.3.4"]}))
