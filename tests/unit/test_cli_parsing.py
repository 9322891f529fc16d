import pytest

from tug.cli import flags
from tug.cli.run import run, to_options
from tug.cli.template import render, render_rows
from tug.engine.changes import apply_changes
from tug.errors import Invalid


def parse_run(args):
    ctx = run.make_context("run", args)
    kw = dict(ctx.params)
    kw.pop("detach")
    kw.pop("root_")
    kw.pop("runroot_")
    return to_options(kw)


def test_docker_grammar_everything_after_image_verbatim():
    o = parse_run(["--rm", "-it", "-e", "A=1", "-p8080:80", "img", "sh", "-c", "--rm", "--help", "--"])
    assert o.rm and o.interactive and o.tty
    assert o.env == ["A=1"] and o.publish == ["8080:80"]
    assert o.image == "img"
    assert o.command == ["sh", "-c", "--rm", "--help", "--"]


def test_bool_flags_with_values():
    o = parse_run(["--rm=true", "-t=false", "-i=1", "img"])
    assert o.rm and not o.tty and o.interactive


def test_env_value_starting_with_dash():
    o = parse_run(["-e", "-X", "img"])
    assert o.env == ["-X"]


def test_rootfs_takes_first_positional_as_command():
    o = parse_run(["--rootfs", "/r", "sh", "-c", "x"])
    assert o.rootfs == "/r" and o.image == "" and o.command == ["sh", "-c", "x"]


def test_changes():
    cfg = apply_changes({}, ['CMD ["sh"]', "ENTRYPOINT /bin/app --x", "ENV A=1 B=2", "ENV A=3", "EXPOSE 80 53/udp",
                             "LABEL k=v", "USER 1000", "WORKDIR /w", "VOLUME /data", "STOPSIGNAL SIGINT"])
    assert cfg["Cmd"] == ["sh"]
    assert cfg["Entrypoint"] == ["/bin/sh", "-c", "/bin/app --x"]
    assert cfg["Env"] == ["B=2", "A=3"]
    assert cfg["ExposedPorts"] == {"80/tcp": {}, "53/udp": {}}
    assert cfg["Labels"] == {"k": "v"} and cfg["User"] == "1000" and cfg["WorkingDir"] == "/w"
    assert cfg["Volumes"] == {"/data": {}} and cfg["StopSignal"] == "SIGINT"
    with pytest.raises(Invalid):
        apply_changes({}, ["RUN echo"])


def test_template():
    doc = {"State": {"Status": "running", "ExitCode": 0}, "Name": "/x", "Config": {"Env": ["A=1"]}}
    assert render("{{.State.Status}} {{.State.ExitCode}}", doc) == "running 0"
    assert render("{{json .Config.Env}}", doc) == '["A=1"]'
    with pytest.raises(Invalid):
        render("{{.Nope}}", doc)
    out = render_rows("table {{.Names}}\\t{{.Status}}", [{"Names": "a", "Status": "Up 1 second"}])
    assert out.splitlines() == ["NAMES     STATUS", "a         Up 1 second"]


@flags.command("demo")
@flags.option("-a", "--all", "all_", is_flag=True)
@flags.option("-n", "--name")
@flags.option("-e", "--env", multiple=True)
@flags.option("--pause/--no-pause", default=True)
@flags.option("--count", type=int)
@flags.argument("things", nargs=-1)
def demo(**kw):
    return kw


def parse_demo(*args):
    return demo.make_context("demo", list(args)).params


def test_pflag_grammar():
    p = parse_demo("x", "-an", "val", "y", "--env=A=1", "-eB=2", "-e", "-C", "--", "-z")
    assert p["all_"] and p["name"] == "val" and p["env"] == ("A=1", "B=2", "-C")
    assert p["things"] == ("x", "y", "-z")  # flags between arguments, as pflag allows; `--` ends them
    assert parse_demo("--pause=false")["pause"] is False and parse_demo("--no-pause")["pause"] is False
    assert parse_demo()["pause"] is True and parse_demo()["env"] == () and parse_demo()["name"] is None
    assert parse_demo("-a=false")["all_"] is False and parse_demo("--all=TRUE")["all_"] is True
    assert parse_demo("--count", "3")["count"] == 3 and parse_demo("-n=v")["name"] == "v"


@pytest.mark.parametrize("args, message", [
    (["--nope"], "unknown flag: --nope"),
    (["-z"], "unknown shorthand flag: 'z' in -z"),
    (["--name"], "flag needs an argument: --name"),
    (["-an"], "flag needs an argument: 'n' in -an"),
    (["--all=maybe"], 'invalid argument "maybe" for "--all" flag'),
    (["--count", "x"], 'invalid argument "x" for "--count" flag'),
])
def test_pflag_errors(args, message):
    with pytest.raises(flags.UsageError) as e:
        parse_demo(*args)
    assert message in e.value.message


def test_help_is_printed_and_exits_zero(capsys):
    with pytest.raises(flags.Exit) as e:
        parse_demo("--help")
    assert e.value.exit_code == 0 and "--name" in capsys.readouterr().out


def test_run_help_after_image_belongs_to_the_command():
    assert parse_run(["img", "--help"]).command == ["--help"]
