"""Environment: docker's precedence, defaults, env-file parsing."""

import pytest

from tug.errors import Invalid
from tug.oci.image_config import ImageConfig
from tug.spec.env import DEFAULT_PATH, build_env, parse_env_file, resolve_cli_env
from tug.spec.generate import generate
from tug.spec.host import HostFacts
from tug.spec.options import RunOptions

PASSWD = "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n"


def run_env(image_env=None, env=None, file_lines=None, caller=None, tty=False, user=None, passwd=PASSWD):
    image = ImageConfig({"config": {"Cmd": ["sh"], **({"Env": image_env} if image_env is not None else {})}})
    h = HostFacts(container_id="e" * 64, rootfs="rootfs", hostname_default="e" * 12, container_dir="/c",
                  caller_env=caller or {}, env_file_lines=file_lines or [], passwd=passwd)
    return generate(image, RunOptions(env=env or [], tty=tty, user=user), h)["process"]["env"]


def test_defaults_without_image_env():
    assert run_env() == [f"PATH={DEFAULT_PATH}", "HOSTNAME=eeeeeeeeeeee", "HOME=/root"]


def test_tty_adds_term_and_image_path_wins():
    assert run_env(image_env=["PATH=/x", "A=1"], tty=True) == [
        "PATH=/x", "HOSTNAME=eeeeeeeeeeee", "TERM=xterm", "A=1", "HOME=/root"]


def test_precedence_image_then_file_then_cli():
    env = run_env(image_env=["A=image", "B=image", "C=image"], file_lines=["A=file", "B=file"], env=["A=cli"])
    assert "A=cli" in env and "B=file" in env and "C=image" in env
    assert sum(e.startswith("A=") for e in env) == 1
    # user variables come before the image's remaining ones, as docker merges them
    assert env.index("A=cli") < env.index("C=image")


def test_cli_name_only_takes_caller_value_or_unsets():
    env = run_env(image_env=["X=img", "Y=img"], env=["X", "Y"], caller={"X": "from-caller"})
    assert "X=from-caller" in env
    assert not any(e.startswith("Y=") for e in env)  # Y unset by the caller: removed, image value too


def test_home_from_passwd_user_and_override():
    assert run_env(user="app")[-1] == "HOME=/home/app"
    assert run_env(user="4242")[-1] == "HOME=/"
    assert run_env(passwd=None)[-1] == "HOME=/"
    env = run_env(env=["HOME=/mine"])
    assert env.count("HOME=/mine") == 1 and not any(e == "HOME=/root" for e in env)


def test_hostname_can_be_overridden_in_place():
    env = run_env(env=["HOSTNAME=other"])
    assert env[1] == "HOSTNAME=other"


ENV_FILE_CASES = [
    (["A=1", "B=two words ", "  C=3"], {}, ["A=1", "B=two words ", "C=3"]),
    (["# comment", "", "   ", "\t# indented comment", "D=4"], {}, ["D=4"]),
    (["E", "F"], {"E": "from-caller"}, ["E=from-caller"]),  # F unknown to the caller: dropped
    (["G=", "H=a=b"], {}, ["G=", "H=a=b"]),
    (['Q="quoted"'], {}, ['Q="quoted"']),  # quotes are kept
    (["\ufeffBOM=1"], {}, ["BOM=1"]),
    (["CRLF=1\r"], {}, ["CRLF=1"]),
]


@pytest.mark.parametrize("lines,caller,want", ENV_FILE_CASES)
def test_env_file_parsing(lines, caller, want):
    assert parse_env_file(lines, caller) == want


@pytest.mark.parametrize("line,msg", [("=x", "no variable name"), ("A B=1", "contains whitespaces"),
                                      ("A\tB", "contains whitespaces")])
def test_env_file_errors(line, msg):
    with pytest.raises(Invalid, match=msg):
        parse_env_file([line], {})


def test_cli_env_errors_and_forms():
    assert resolve_cli_env(["A=1", "B", "C"], {"B": "b"}) == ["A=1", "B=b", "C"]
    with pytest.raises(Invalid, match="invalid environment variable"):
        resolve_cli_env(["=1"], {})


def test_build_env_unset_default():
    assert build_env([], ["PATH"], hostname="h", tty=False, home="/") == ["HOSTNAME=h", "HOME=/"]
