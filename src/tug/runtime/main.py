"""`tug-runtime`: a runc-compatible OCI runtime CLI. Parses argv (runc's grammar) and calls one verb module.

Exit codes: the container's for `run`/`exec` in the foreground, 125 for runtime failures (one line on stderr),
126 when the command cannot be executed, 127 when it does not exist.
"""

from __future__ import annotations

import os
import sys

from tug.errors import Invalid, TugError
from tug.runtime.args import Opt, parse

VERSION = "tug-runtime 0.1.0\nspec: 1.0.2"
DEFAULT_ROOT = "/run/tug-runtime"

GLOBAL = [Opt(("--root",), "root", True, default=DEFAULT_ROOT), Opt(("--log",), "log", True),
          Opt(("--log-format",), "log_format", True, default="text"), Opt(("--debug",), "debug"),
          Opt(("--systemd-cgroup",), "systemd_cgroup"), Opt(("--criu",), "criu", True),
          Opt(("--rootless",), "rootless", True), Opt(("--version", "-v"), "version"),
          Opt(("--help", "-h"), "help")]
BUNDLE = Opt(("--bundle", "-b"), "bundle", True)
PID_FILE = Opt(("--pid-file",), "pid_file", True)
CONSOLE = Opt(("--console-socket",), "console_socket", True)
IGNORED = [Opt(("--no-new-keyring",), "_nk"), Opt(("--no-pivot",), "_np"), Opt(("--preserve-fds",), "_pf", True),
           Opt(("--no-subreaper",), "_ns")]

COMMANDS: dict[str, list[Opt]] = {
    "spec": [BUNDLE, Opt(("--rootless",), "rootless")],
    "create": [BUNDLE, PID_FILE, CONSOLE, *IGNORED],
    "run": [BUNDLE, PID_FILE, CONSOLE, Opt(("--detach", "-d"), "detach"), Opt(("--keep",), "keep"), *IGNORED],
    "start": [],
    "state": [],
    "kill": [Opt(("--all", "-a"), "all")],
    "delete": [Opt(("--force", "-f"), "force")],
    "list": [Opt(("--quiet", "-q"), "quiet"), Opt(("--format", "-f"), "format", True, default="table")],
    "exec": [Opt(("--process", "-p"), "process", True), Opt(("--tty", "-t"), "tty"), Opt(("--cwd",), "cwd", True),
             Opt(("--env", "-e"), "env", True, repeat=True), Opt(("--user", "-u"), "user", True),
             Opt(("--additional-gids", "-g"), "gids", True, repeat=True), CONSOLE, PID_FILE,
             Opt(("--detach", "-d"), "detach"), Opt(("--cap", "-c"), "cap", True, repeat=True),
             Opt(("--no-new-privs",), "no_new_privs"), Opt(("--process-label",), "_pl", True),
             Opt(("--apparmor",), "_aa", True), Opt(("--preserve-fds",), "_pf", True),
             Opt(("--ignore-paused",), "_ip")],
}
NEEDS_ID = {"create", "run", "start", "state", "kill", "delete", "exec"}


def dispatch(root: str, command: str, o: dict, pos: list[str]) -> int:
    if command in NEEDS_ID and not pos:
        raise Invalid(f'"{command}" requires a container id')
    if command == "spec":
        from tug.runtime.spec import cmd_spec

        return cmd_spec(o["bundle"], o["rootless"])
    if command == "create":
        from tug.runtime.create import create

        create(root, pos[0], o["bundle"], o["console_socket"], o["pid_file"])
        return 0
    if command == "run":
        from tug.runtime.run import cmd_run

        return cmd_run(root, pos[0], o["bundle"], o["console_socket"], o["pid_file"], o["detach"], o["keep"])
    if command == "start":
        from tug.runtime.start import cmd_start

        return cmd_start(root, pos[0])
    if command == "state":
        from tug.runtime.state import cmd_state

        return cmd_state(root, pos[0])
    if command == "kill":
        from tug.runtime.kill import cmd_kill

        return cmd_kill(root, pos[0], pos[1] if len(pos) > 1 else "SIGTERM", o["all"])
    if command == "delete":
        from tug.runtime.delete import cmd_delete

        return cmd_delete(root, pos[0], o["force"])
    if command == "list":
        from tug.runtime.state import cmd_list

        return cmd_list(root, o["quiet"], o["format"])
    if command == "exec":
        from tug.runtime.exec import cmd_exec

        return cmd_exec(root, pos[0], pos[1:], o)
    raise Invalid(f"unknown command {command!r}")


def log_error(path: str | None, fmt: str, text: str) -> None:
    if not path:
        return
    from tug.runtime import jsonio
    from tug.runtime.state import now_rfc3339

    if fmt == "json":
        line = jsonio.dumps({"level": "error", "msg": text, "time": now_rfc3339()})
    else:
        line = f'time="{now_rfc3339()}" level=error msg={jsonio.dumps(text)}'
    try:
        with open(path, "a") as f:
            f.write(line + "\n")
    except OSError:
        pass


def main(argv: list[str] | None = None) -> int:
    from_cli = argv is None
    argv = sys.argv[1:] if argv is None else argv
    log, fmt = None, "text"
    try:
        g = parse(argv, GLOBAL)
        log, fmt = g.options["log"], g.options["log_format"]  # type: ignore[assignment]
        if g.options["version"]:
            print(VERSION)
            return 0
        if not g.positional or g.options["help"]:
            print("usage: tug-runtime [--root DIR] [--log FILE] [--log-format text|json] COMMAND [OPTIONS] [ID]\n"
                  "commands: " + " ".join(COMMANDS))
            return 0 if g.options["help"] else 1
        command, rest = g.positional[0], g.positional[1:]
        if command not in COMMANDS:
            raise Invalid(f"no such command: {command}")
        p = parse(rest, COMMANDS[command], command)
        if from_cli and command in ("create", "run", "exec"):
            from tug.runtime.sealed import ensure_sealed

            ensure_sealed(argv)  # never let a container reach the host's interpreter through /proc/PID/exe
        return dispatch(str(g.options["root"]), command, p.options, p.positional)
    except TugError as e:
        text = e.one_line()
        code = e.exit_code
    except OSError as e:
        text = f"{e.filename + ': ' if e.filename else ''}{e.strerror or e}"
        code = 125
    except KeyboardInterrupt:
        return 130
    except Exception as e:  # noqa: BLE001 - one line, never a traceback, for whatever went wrong
        text = f"internal error: {type(e).__name__}: {e}"
        code = 125
    log_error(log, fmt, text)
    try:
        os.write(2, f"tug-runtime: {text}\n".encode())
    except OSError:
        pass
    return code
