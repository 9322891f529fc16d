"""`tug`: the command group, global options, lazy loading of verbs, and the one place errors become exit codes."""

from __future__ import annotations

import os
import sys

from tug.cli import flags

# verb -> "module:function"; modules are imported only when their verb runs (start-up time is a feature)
COMMANDS = {
    "network": "tug.cli.network:network",  # issue 8
    "volume": "tug.cli.volume:volume",
    "port": "tug.cli.network:port",
    "run": "tug.cli.run:run",
    "create": "tug.cli.run:create",
    "import": "tug.cli.images:import_",
    "images": "tug.cli.images:images",
    "image": "tug.cli.images:image",
    "tag": "tug.cli.images:tag",
    "rmi": "tug.cli.images:rmi",
    "inspect": "tug.cli.inspect:inspect",
    "ps": "tug.cli.containers:ps",
    "rm": "tug.cli.containers:rm",
    "container": "tug.cli.containers:container",
    "version": "tug.cli.version:version",
    "pull": "tug.cli.registry:pull",
    "push": "tug.cli.registry:push",
    "login": "tug.cli.registry:login",
    "logout": "tug.cli.registry:logout",
    "start": "tug.cli.lifecycle:start",
    "stop": "tug.cli.lifecycle:stop",
    "kill": "tug.cli.lifecycle:kill",
    "restart": "tug.cli.lifecycle:restart",
    "wait": "tug.cli.lifecycle:wait",
    "pause": "tug.cli.lifecycle:pause",
    "unpause": "tug.cli.lifecycle:unpause",
    "rename": "tug.cli.lifecycle:rename",
    "attach": "tug.cli.lifecycle:attach",
    "exec": "tug.cli.exec:exec_",
    "logs": "tug.cli.logs:logs",
    "cp": "tug.cli.copytop:cp",
    "top": "tug.cli.copytop:top",
    "stats": "tug.cli.stats:stats",  # issue 7
    "commit": "tug.cli.layers:commit",
    "diff": "tug.cli.layers:diff",
    "history": "tug.cli.layers:history",
    "save": "tug.cli.layers:save",
    "load": "tug.cli.layers:load",
    "export": "tug.cli.layers:export",
    "system": "tug.cli.system:system",
    "build": "tug.cli.build:build",
    "builder": "tug.cli.build:builder",
}

# verbs whose engine errors exit 125 as docker's do (`docker run`/`create`); the others' exit 1 (`docker exec` or
# `docker start` of a missing container). 126/127 (cannot invoke, not found) are kept by every verb.
RUN_LIKE = {"run", "create"}


@flags.group("tug", lazy=COMMANDS)
@flags.option("--root", envvar="TUG_ROOT", default="/var/lib/tug", show_default=True, metavar="DIR",
              help="Store: images, layers, containers (env TUG_ROOT).")
@flags.option("--runroot", envvar="TUG_RUNROOT", default="/run/tug", show_default=True, metavar="DIR",
              help="Runtime state (env TUG_RUNROOT).")
@flags.option("-v", "--version", is_flag=True, help="Print version information and quit")
@flags.pass_context
def cli(ctx: flags.Context, root: str, runroot: str, version: bool) -> None:
    """tug: a daemonless container engine that does what Docker does."""
    if version:
        import tug

        print(f"tug version {tug.__version__}")
        raise flags.Exit(0)
    ctx.obj = {"root": root, "runroot": runroot}


def main(argv: list[str] | None = None) -> None:
    """Run one verb and exit without the interpreter's teardown (module and object clean-up costs ~15 ms at the
    end of every command; the store's files are closed and synced by then). Tests that call `main` in-process
    get SystemExit as before."""
    try:
        _main(argv)
    except SystemExit as e:
        if argv is not None:
            raise
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        if e.code is not None and not isinstance(e.code, int):
            print(e.code, file=sys.stderr)
        store_db = sys.modules.get("tug.store.metadata")
        if store_db is not None:
            store_db.close_all()
        try:
            sys.stdout.flush()
        except BrokenPipeError:
            code = code or 141
        except OSError:
            code = code or 1
        try:
            sys.stderr.flush()
        except OSError:
            pass
        os._exit(code)


def _verb(args: list[str]) -> str:
    """The verb of a command line (what follows the global options)."""
    i = 0
    while i < len(args):
        a = args[i]
        if a in ("--root", "--runroot"):
            i += 2
            continue
        if not a.startswith("-"):
            return a
        i += 1
    return ""


def _main(argv: list[str] | None = None) -> None:
    from tug.errors import TugError

    args = sys.argv[1:] if argv is None else argv
    verb = _verb(args)
    try:
        if os.geteuid() != 0 and verb not in ("", "version"):  # rootless mode (issue 7): run again as root of
            from tug.engine.rootless import reexec  # the user's own user namespace

            reexec()
        rv = cli.main(args, prog_name="tug")
    except TugError as err:
        print(f"tug: {err.one_line()}", file=sys.stderr)
        code = err.exit_code
        if verb not in RUN_LIKE and code == 125:
            code = 1
        sys.exit(code)
    except flags.Exit as e:
        sys.exit(e.exit_code)
    except flags.ClickException as e:
        e.show()
        # docker's CLI ends a flag error with 125, a wrong argument count or unknown verb with 1 (ArgumentError)
        sys.exit(125 if isinstance(e, flags.UsageError) else e.exit_code)
    except flags.Abort:
        sys.exit(130)
    except KeyboardInterrupt:
        sys.exit(130)
    except BrokenPipeError:  # `tug ... | head`: end as docker's CLI does, by SIGPIPE's code
        sys.exit(141)
    sys.exit(rv if isinstance(rv, int) else 0)
