import pytest

from tug.cli.argv import normalise_bools, option_names
from tug.cli.run import run, to_options
from tug.cli.template import render, render_rows
from tug.engine.changes import apply_changes
from tug.errors import Invalid


def parse_run(args):
    flags, values = option_names(run)
    args = normalise_bools(args, flags, values)
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
