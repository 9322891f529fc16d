"""Entrypoint/Cmd/--entrypoint/command combination (docker's table), working dir, terminal, --init."""

import pytest

from tug.errors import Invalid
from tug.oci.image_config import ImageConfig
from tug.spec.generate import generate
from tug.spec.host import HostFacts
from tug.spec.options import RunOptions
from tug.spec.process import INIT_PATH, command_args, working_dir


def img(entrypoint=None, cmd=None, workdir=""):
    c = {}
    if entrypoint is not None:
        c["Entrypoint"] = entrypoint
    if cmd is not None:
        c["Cmd"] = cmd
    if workdir:
        c["WorkingDir"] = workdir
    return ImageConfig({"config": c})


def host(**kw):
    base = dict(container_id="c" * 64, rootfs="rootfs", hostname_default="c" * 12, container_dir="/ctr")
    base.update(kw)
    return HostFacts(**base)


# (image Entrypoint, image Cmd, --entrypoint, command) -> argv
CASES = [
    (None, ["sh"], None, [], ["sh"]),
    (None, ["sh"], None, ["echo", "hi"], ["echo", "hi"]),
    (["/ep"], ["a", "b"], None, [], ["/ep", "a", "b"]),
    (["/ep"], ["a", "b"], None, ["c"], ["/ep", "c"]),
    (["/ep", "-x"], None, None, [], ["/ep", "-x"]),
    (["/ep"], ["a"], "/other", [], ["/other"]),  # --entrypoint drops the image's Cmd
    (["/ep"], ["a"], "/other", ["z"], ["/other", "z"]),
    (["/ep"], ["a"], "", ["ls", "-l"], ["ls", "-l"]),  # --entrypoint "" clears it
    (None, ["a"], "/bin/sh -c", [], ["/bin/sh -c"]),  # one word, never split
    ([], ["sh"], None, [], ["sh"]),
]


@pytest.mark.parametrize("ep,cmd,flag,command,want", CASES)
def test_entrypoint_cmd_table(ep, cmd, flag, command, want):
    assert command_args(img(ep, cmd), RunOptions(entrypoint=flag, command=command)) == want


@pytest.mark.parametrize("ep,cmd,flag", [
    (None, None, None),
    (["/ep"], ["a"], ""),  # "" clears the entrypoint and the image Cmd goes too
    (None, ["sh"], ""),
    ([], [], None),
])
def test_no_command_specified(ep, cmd, flag):
    with pytest.raises(Invalid, match="no command specified"):
        command_args(img(ep, cmd), RunOptions(entrypoint=flag))


@pytest.mark.parametrize("flag,image_wd,want", [
    (None, "", "/"), (None, "/app", "/app"), ("/w", "/app", "/w"), ("/a/../b/", "", "/b"), (None, "/x//y/", "/x/y"),
])
def test_working_dir(flag, image_wd, want):
    assert working_dir(img(workdir=image_wd), RunOptions(workdir=flag)) == want


def test_relative_working_dir_is_invalid():
    with pytest.raises(Invalid, match="needs to be an absolute path"):
        working_dir(img(), RunOptions(workdir="rel"))


def test_terminal_and_console_size():
    s = generate(img(cmd=["sh"]), RunOptions(tty=True), host(console_size=(40, 120)))
    assert s["process"]["terminal"] is True
    assert s["process"]["consoleSize"] == {"height": 40, "width": 120}
    s = generate(img(cmd=["sh"]), RunOptions(), host(console_size=(40, 120)))
    assert s["process"]["terminal"] is False and "consoleSize" not in s["process"]


def test_init_prefixes_args_and_mounts_binary():
    s = generate(img(cmd=["sleep", "1"]), RunOptions(init=True), host(init_path="/usr/libexec/tug/init"))
    assert s["process"]["args"] == [INIT_PATH, "--", "sleep", "1"]
    m = [m for m in s["mounts"] if m["destination"] == INIT_PATH]
    assert m == [{"destination": INIT_PATH, "type": "bind", "source": "/usr/libexec/tug/init",
                  "options": ["bind", "ro"]}]


def test_init_not_used_with_host_pid_namespace():
    s = generate(img(cmd=["sh"]), RunOptions(init=True, pid="host"), host(init_path="/init"))
    assert s["process"]["args"] == ["sh"]
    assert all(m["destination"] != INIT_PATH for m in s["mounts"])


def test_init_without_binary_is_invalid():
    with pytest.raises(Invalid, match="init"):
        generate(img(cmd=["sh"]), RunOptions(init=True), host())


def test_hostname_and_annotation():
    s = generate(img(cmd=["sh"]), RunOptions(), host())
    assert s["hostname"] == "c" * 12
    assert s["annotations"]["io.tug.container.id"] == "c" * 64
    s = generate(img(cmd=["sh"]), RunOptions(hostname="web", domainname="example.org"), host())
    assert s["hostname"] == "web" and s["domainname"] == "example.org"
    s = generate(img(cmd=["sh"]), RunOptions(network="host"), host(host_hostname="myhost"))
    assert s["hostname"] == "myhost"
    assert "HOSTNAME=myhost" in s["process"]["env"]


def test_root_and_cgroups_path():
    s = generate(img(cmd=["sh"]), RunOptions(read_only=True), host(cgroups_path="/tug/abc"))
    assert s["root"] == {"path": "rootfs", "readonly": True}
    assert s["linux"]["cgroupsPath"] == "/tug/abc"
