"""tug-runtime's command-line grammar and signal names (pure)."""

from __future__ import annotations

import pytest

from tug.errors import Invalid
from tug.runtime import main as rmain
from tug.runtime.args import Opt, parse
from tug.runtime.signals import parse as sig


def test_global_options_stop_at_the_command():
    g = parse(["--root", "/r", "--log-format=json", "--debug", "run", "--bundle", "b", "id"], rmain.GLOBAL)
    assert g.options["root"] == "/r" and g.options["log_format"] == "json" and g.options["debug"] is True
    assert g.positional == ["run", "--bundle", "b", "id"]


def test_defaults():
    g = parse(["state", "x"], rmain.GLOBAL)
    assert g.options["root"] == "/run/tug-runtime" and g.options["log"] is None and g.options["debug"] is False


def test_run_flags_short_long_and_bool_values():
    p = parse(["-b", "/b", "-d", "--pid-file=/p", "--keep=false", "--no-new-keyring", "c1"], rmain.COMMANDS["run"])
    assert p.options["bundle"] == "/b" and p.options["detach"] is True and p.options["pid_file"] == "/p"
    assert p.options["keep"] is False and p.positional == ["c1"]


def test_exec_keeps_the_command_verbatim_after_the_id():
    p = parse(["-e", "A=1", "-eB=2", "--env", "C=3", "-u", "1000:1000", "-t", "ctr", "sh", "-c", "ls -l", "--help"],
              rmain.COMMANDS["exec"])
    assert p.options["env"] == ["A=1", "B=2", "C=3"] and p.options["user"] == "1000:1000" and p.options["tty"]
    assert p.positional == ["ctr", "sh", "-c", "ls -l", "--help"]


def test_double_dash_ends_options():
    assert parse(["--", "-d"], [Opt(("-d",), "d")]).positional == ["-d"]


@pytest.mark.parametrize("argv", [["--nope", "x"], ["--bundle"], ["--keep=maybe", "x"]])
def test_bad_flags_are_invalid(argv):
    with pytest.raises(Invalid):
        parse(argv, rmain.COMMANDS["run"], "run")


def test_main_reports_bad_usage_with_125(capfd):
    assert rmain.main(["--root", "/nonexistent-root", "frobnicate"]) == 125
    assert capfd.readouterr().err.startswith("tug-runtime: no such command")
    assert rmain.main(["--root", "/nonexistent-root", "state"]) == 125
    assert rmain.main(["--root", "/nonexistent-root", "state", "nosuch"]) == 125
    assert "container does not exist: nosuch" in capfd.readouterr().err


def test_main_writes_json_log(tmp_path):
    import json

    log = tmp_path / "log.json"
    assert rmain.main(["--log", str(log), "--log-format", "json", "--root", str(tmp_path), "state", "x"]) == 125
    entry = json.loads(log.read_text().splitlines()[-1])
    assert entry["level"] == "error" and "does not exist" in entry["msg"] and entry["time"].endswith("Z")


@pytest.mark.parametrize("text,num", [("KILL", 9), ("SIGKILL", 9), ("sigterm", 15), ("9", 9), ("15", 15),
                                      ("HUP", 1), ("SIGWINCH", 28), ("USR1", 10), ("SIGUSR2", 12),
                                      ("RTMIN", 34), ("SIGRTMIN+3", 37), ("RTMAX-1", 63), ("SIGCHLD", 17)])
def test_signal_names(text, num):
    assert sig(text) == num


@pytest.mark.parametrize("text", ["", "SIGFOO", "0", "65", "RTMIN+40", "-9", "KILL9"])
def test_bad_signals(text):
    with pytest.raises(Invalid):
        sig(text)
