"""docker's command-line grammar on tug's verbs: pflag forms, exit code 125 on every usage error, and the run flags
added to match docker's (their decoding into RunOptions and the pure translations behind them)."""

from __future__ import annotations

import importlib

import pytest

from conftest import DOCKER_VERBS as VERBS
from tug import records
from tug.cli import flags, main
from tug.cli.run import create, run, to_options
from tug.engine.bundle import resolv_with
from tug.engine.containers import _refuse_v1_only
from tug.engine.image_filter import _label_ok, _reference_ok
from tug.engine.image_filter import parse as parse_image_filters
from tug.errors import Invalid
from tug.spec.devices import parse_cgroup_rule
from tug.spec.options import RunOptions
from tug.spec.resources import cpu_resources, memory_resources, weight_devices

CLI_ONLY = {"cidfile", "label_file", "log_driver", "quiet", "sig_proxy", "detach_keys", "detach", "root_", "runroot_"}


def parse(cmd, args):
    kw = dict(cmd.make_context(cmd.name, args).params)
    for k in ("detach", "root_", "runroot_", "sig_proxy", "detach_keys"):
        kw.pop(k, None)
    return to_options(kw)


@pytest.fixture
def as_root(monkeypatch, tmp_path):
    """In-process `tug` with a temp store; never the rootless re-exec."""
    monkeypatch.setattr(main.os, "geteuid", lambda: 0)
    monkeypatch.setenv("TUG_ROOT", str(tmp_path / "root"))
    monkeypatch.setenv("TUG_RUNROOT", str(tmp_path / "run"))


@pytest.mark.parametrize("verb", VERBS)
def test_unknown_flag_exits_125_on_every_verb(verb, as_root, capsys):
    with pytest.raises(SystemExit) as e:
        main.main([*verb.split(), "--x"])
    err = capsys.readouterr().err
    assert e.value.code == 125
    assert err.splitlines()[0] == "tug: unknown flag: --x"
    assert f"See 'tug {verb} --help'." in err


@pytest.mark.parametrize("argv, message", [
    (["run", "-e"], "flag needs an argument: 'e' in -e"),
    (["run", "--name"], "flag needs an argument: --name"),
    (["ps", "-n", "x"], 'invalid argument "x" for "-n, --last" flag'),
    (["run", "--rm=maybe", "img"], 'invalid argument "maybe" for "--rm" flag'),
    (["run", "-a", "bogus", "img"], "valid streams are STDIN, STDOUT and STDERR"),
])
def test_flag_errors_exit_125(argv, message, as_root, capsys):
    with pytest.raises(SystemExit) as e:
        main.main(argv)
    assert e.value.code == 125
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["rename", "a"], '"tug rename" requires exactly 2 arguments.'),
    (["run"], '"tug run" requires at least 1 argument.'),
    (["run", "-d", "-a", "stdout", "img"], "Conflicting options: -a and -d"),
    (["exec", "c"], '"tug exec" requires at least 2 arguments.'),
    (["logs"], '"tug logs" requires exactly 1 argument.'),
    (["port"], '"tug port" requires at least 1 and at most 2 arguments.'),
    (["network", "ls", "extra"], '"tug network ls" accepts no arguments.'),
    (["network", "bogus"], "'bogus' is not a tug network command."),
    (["bogus-verb"], "'bogus-verb' is not a tug command."),
])
def test_argument_count_errors_exit_1_as_docker(argv, message, as_root, capsys):
    with pytest.raises(SystemExit) as e:
        main.main(argv)
    err = capsys.readouterr().err
    assert e.value.code == 1
    assert message in err and "--help'." in err


def test_pflag_forms_on_run():
    o = parse(run, ["-it", "-p8080:80", "--env=A=1", "-e", "-X", "--rm=false", "-t=false", "--name=n", "img",
                    "sh", "-c", "echo $0", "--rm", "-t", "--"])
    assert o.interactive and not o.tty and not o.rm
    assert o.publish == ["8080:80"] and o.env == ["A=1", "-X"] and o.name == "n"
    assert o.image == "img" and o.command == ["sh", "-c", "echo $0", "--rm", "-t", "--"]
    o = parse(run, ["--rm", "--", "img", "-x"])  # `--` ends the flags; the image and its arguments follow
    assert o.rm and o.image == "img" and o.command == ["-x"]
    o = parse(run, ["-e", "--rm", "img"])  # a value is taken verbatim even when it looks like a flag
    assert o.env == ["--rm"] and not o.rm


def test_sig_proxy_is_a_switch_as_in_docker():
    ctx = run.make_context("run", ["--sig-proxy=false", "img"])
    assert ctx.params["sig_proxy"] is False
    ctx = run.make_context("run", ["--sig-proxy", "false"])  # a switch: "false" is the image here, as in docker
    assert ctx.params["sig_proxy"] is True and ctx.params["image"] == "false"


@pytest.mark.parametrize("cmd", [run, create])
def test_every_run_flag_reaches_run_options(cmd):
    """A run/create flag whose value would land on no RunOptions field would be accepted and ignored."""
    fields = {f.name for f in records.fields(RunOptions)}
    for p in cmd.params:
        if isinstance(p, flags.Option):
            assert p.name in fields or p.name in CLI_ONLY, f"--{p.name}: decoded into nothing"


def test_new_run_flags_decode(tmp_path):
    lf = tmp_path / "labels"
    lf.write_text("# comment\n\na=1\n  b=2\n")
    o = parse(run, ["-a", "STDOUT", "-a", "stderr", "--label-file", str(lf), "-l", "c=3", "--dns-search", "x.org",
                    "--dns-option", "ndots:2", "--cpu-period", "50000", "--cpu-quota", "25000", "--pid", "host",
                    "--ipc", "shareable", "--uts", "host", "--cgroupns", "private", "--memory-swappiness", "10",
                    "--oom-kill-disable", "--device-cgroup-rule", "c 1:3 mr", "--blkio-weight-device", "/dev/sda:200",
                    "--env-file", "/e", "--cpu-rt-period", "1000000", "--log-driver", "json-file", "-q", "img"])
    assert o.attach == ["stdout", "stderr"] and o.labels == ["a=1", "b=2", "c=3"]
    assert o.dns_search == ["x.org"] and o.dns_options == ["ndots:2"] and o.env_files == ["/e"]
    assert (o.cpu_period, o.cpu_quota, o.cpu_rt_period) == (50000, 25000, 1000000)
    assert (o.pid, o.ipc, o.uts, o.cgroupns) == ("host", "shareable", "host", "private")
    assert o.memory_swappiness == 10 and o.oom_kill_disable
    assert o.device_cgroup_rules == ["c 1:3 mr"] and o.blkio_weight_device == ["/dev/sda:200"]
    with pytest.raises(flags.BadParameter, match="must be one of json-file"):
        parse(run, ["--log-driver", "syslog", "img"])


def test_attach_request_follows_dash_a():
    from tug.engine.run import attach_request

    assert attach_request(RunOptions(attach=["stdout"])) == {"stdin": False, "stdout": True, "stderr": False,
                                                             "resize": None}
    assert attach_request(RunOptions(interactive=True))["stdout"] and attach_request(RunOptions())["stderr"]


def test_resolv_conf_dns_search_and_options():
    base = "nameserver 1.1.1.1\nsearch a.com\noptions ndots:2\n# kept\n"
    assert resolv_with(base, [], [], []) == base
    assert resolv_with(base, ["9.9.9.9"], ["x.org", "y.org"], ["ndots:5", "timeout:1"]) == \
        "nameserver 9.9.9.9\nsearch x.org y.org\noptions ndots:5 timeout:1\n# kept\n"
    assert "search" not in resolv_with(base, [], ["."], [])  # `--dns-search .`: no search domains
    assert resolv_with("", [], [], []) == ""


def test_cpu_period_quota_and_realtime():
    assert cpu_resources(RunOptions(cpu_period=50000, cpu_quota=25000), 4) == {"period": 50000, "quota": 25000}
    assert cpu_resources(RunOptions(cpu_quota=-1), 4) == {"quota": -1}
    assert cpu_resources(RunOptions(cpu_rt_period=1000000, cpu_rt_runtime=950000), 4) == \
        {"realtimePeriod": 1000000, "realtimeRuntime": 950000}
    for bad in (RunOptions(cpus="1", cpu_period=50000), RunOptions(cpu_period=10), RunOptions(cpu_quota=10),
                RunOptions(cpu_rt_period=1000, cpu_rt_runtime=2000)):
        with pytest.raises(Invalid):
            cpu_resources(bad, 4)


def test_swappiness_and_oom_kill_disable():
    assert memory_resources(RunOptions(memory_swappiness=10, oom_kill_disable=True)) == \
        {"swappiness": 10, "disableOOMKiller": True}
    assert memory_resources(RunOptions(memory_swappiness=-1)) is None
    with pytest.raises(Invalid, match="0-100"):
        memory_resources(RunOptions(memory_swappiness=101))


def test_v1_only_settings_refused_where_they_cannot_apply(tmp_path):
    v2 = tmp_path / "v2"
    v2.mkdir()
    (v2 / "cgroup.controllers").write_text("cpu memory\n")
    with pytest.raises(Invalid, match="--memory-swappiness, --oom-kill-disable: not supported on cgroup v2"):
        _refuse_v1_only(RunOptions(memory_swappiness=5, oom_kill_disable=True), str(v2))
    v1 = tmp_path / "v1"
    (v1 / "cpu,cpuacct").mkdir(parents=True)
    (v1 / "memory").mkdir()
    (v1 / "memory" / "memory.swappiness").write_text("60\n")
    (v1 / "cpu,cpuacct" / "cpu.rt_period_us").write_text("1000000\n")
    _refuse_v1_only(RunOptions(memory_swappiness=5, cpu_rt_period=100000), str(v1))
    with pytest.raises(Invalid, match="--cpu-rt-runtime: this host's kernel does not support it"):
        _refuse_v1_only(RunOptions(cpu_rt_runtime=1000), str(v1))
    _refuse_v1_only(RunOptions(), str(v2))  # nothing asked, nothing refused


def test_device_cgroup_rules():
    assert parse_cgroup_rule("c 1:3 mr") == {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "mr"}
    assert parse_cgroup_rule("a *:* rwm") == {"allow": True, "access": "rwm"}
    assert parse_cgroup_rule("b 8:* r") == {"allow": True, "type": "b", "major": 8, "access": "r"}
    for bad in ("c 1:3", "x 1:3 r", "c 1-3 r", "c 1:3 rx", "c 1:3 rr", "c a:3 r"):
        with pytest.raises(Invalid):
            parse_cgroup_rule(bad)


def test_blkio_weight_device():
    info = {"/dev/sda": ("b", 8, 0, 0o660, 0, 6), "/dev/null": ("c", 1, 3, 0o666, 0, 0)}
    assert weight_devices(["/dev/sda:200"], info) == [{"major": 8, "minor": 0, "weight": 200}]
    for bad in ("/dev/sda:5", "/dev/sda", "/dev/null:100", "sda:100", "/dev/nope:100"):
        with pytest.raises(Invalid):
            weight_devices([bad], info)


def test_image_filters():
    assert parse_image_filters(["dangling=true", "label=a=b", "reference=busy*"]) == \
        {"dangling": ["true"], "label": ["a=b"], "reference": ["busy*"]}
    for bad in (["nope=1"], ["dangling=maybe"], ["label"]):
        with pytest.raises(Invalid):
            parse_image_filters(bad)
    assert _label_ok({"a": "b", "c": ""}, ["a=b", "c"]) and not _label_ok({"a": "b"}, ["a=c"])
    tags = ("docker.io/library/busybox:1.36",)
    assert _reference_ok(tags, ["busybox"]) and _reference_ok(tags, ["busy*:1.*"])
    assert not _reference_ok(tags, ["alpine*"]) and not _reference_ok((), ["*"])


def test_help_lists_options_with_their_text(capsys):
    for verb in ("run", "network inspect", "cp"):
        first, *rest = verb.split()
        module, _, attr = main.COMMANDS[first].partition(":")
        cmd = getattr(importlib.import_module(module), attr)
        for sub in rest:
            cmd = cmd.get_command(sub)
        with pytest.raises(flags.Exit):
            cmd.make_context(verb, ["--help"])
        out = capsys.readouterr().out
        assert out.startswith(f"Usage: tug {cmd.name}") or out.startswith("Usage: tug")
        assert "Options:" in out and cmd.help.strip().splitlines()[0] in out
    with pytest.raises(flags.Exit):
        run.make_context("run", ["--help"])
    out = capsys.readouterr().out
    assert "--cidfile string" in out and "Write the container ID to the file" in out


def test_log_opts_tug_cannot_honour_are_refused():
    from tug.engine.logs import log_options

    assert log_options(["mode=blocking", "tag={{.Name}}", "compress=false", "max-size=1m"]) == (1 << 20, 3)
    for bad in ("labels=a", "env=A", "env-regex=^A", "mode=non-blocking", "max-buffer-size=4m", "compress=true",
                "mode=weird", "nope=1"):
        with pytest.raises(Invalid):
            log_options([bad])


@pytest.mark.parametrize("verb", VERBS)
def test_every_option_has_help_text(verb):
    first, *rest = verb.split()
    module, _, attr = main.COMMANDS[first].partition(":")
    cmd = getattr(importlib.import_module(module), attr)
    for sub in rest:
        cmd = cmd.get_command(sub)
    assert cmd.help.strip(), f"tug {verb}: no description"
    missing = [p.opts[0] for p in cmd.params if isinstance(p, flags.Option) and not p.hidden and not p.help]
    assert not missing, f"tug {verb}: options without help: {missing}"
