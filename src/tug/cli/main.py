"""`tug`: the command group, global options, lazy loading of verbs, and the one place errors become exit codes."""

from __future__ import annotations

import importlib
import os
import sys

import click

from tug.cli.argv import normalise_bools, option_names

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

# verbs whose engine errors exit 125 as docker's do; others exit 1
RUN_LIKE = {"run", "create", "start", "exec"}


class LazyGroup(click.Group):
    def __init__(self, *args, lazy: dict[str, str], **kwargs):
        super().__init__(*args, **kwargs)
        self.lazy = lazy

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(self.lazy))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.lazy:
            module, _, attr = self.lazy[name].partition(":")
            return getattr(importlib.import_module(module), attr)
        return super().get_command(ctx, name)

    def resolve_command(self, ctx, args):
        name, cmd, rest = super().resolve_command(ctx, args)
        if cmd is not None:
            flags, values = option_names(cmd)
            rest = normalise_bools(rest, flags, values)
        return name, cmd, rest


@click.group(cls=LazyGroup, lazy=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--root", envvar="TUG_ROOT", default="/var/lib/tug", show_default=True, metavar="DIR",
              help="Store: images, layers, containers (env TUG_ROOT).")
@click.option("--runroot", envvar="TUG_RUNROOT", default="/run/tug", show_default=True, metavar="DIR",
              help="Runtime state (env TUG_RUNROOT).")
@click.version_option(package_name="tug", prog_name="tug")
@click.pass_context
def cli(ctx: click.Context, root: str, runroot: str) -> None:
    """tug: a daemonless container engine that does what Docker does."""
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
            pass
        except OSError:
            code = code or 1
        try:
            sys.stderr.flush()
        except OSError:
            pass
        os._exit(code)


def _main(argv: list[str] | None = None) -> None:
    from tug.errors import TugError

    args = sys.argv[1:] if argv is None else argv
    verb = next((a for a in args if not a.startswith("-")), "")
    try:
        rv = cli.main(args, prog_name="tug", standalone_mode=False)
    except TugError as err:
        print(f"tug: {err.one_line()}", file=sys.stderr)
        code = err.exit_code
        if verb not in RUN_LIKE and code == 125:
            code = 1
        sys.exit(code)
    except click.exceptions.Exit as e:
        sys.exit(e.exit_code)
    except click.ClickException as e:
        e.show()
        sys.exit(125 if verb in RUN_LIKE else e.exit_code)
    except click.exceptions.Abort:
        sys.exit(130)
    except KeyboardInterrupt:
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(0)
    sys.exit(rv if isinstance(rv, int) else 0)
