"""`tug cp` and `tug top`."""

from __future__ import annotations

from tug.cli import flags
from tug.cli.common import engine, store_options


@flags.command("cp")
@flags.option("-a", "--archive", is_flag=True, help="Archive mode (copy all uid/gid information)")
@flags.option("-L", "--follow-link", is_flag=True, help="Always follow symbol link in SRC_PATH")
@flags.option("-q", "--quiet", is_flag=True, help="Suppress progress output (tug prints none)")
@flags.argument("src")
@flags.argument("dest")
@store_options
@flags.pass_context
def cp(ctx, archive, follow_link, quiet, src, dest, root_, runroot_) -> int:
    """Copy files/folders between a container and the local filesystem."""
    from tug.engine import cp as ecp

    ecp.copy(engine(ctx, root_, runroot_), src, dest, archive=archive, follow_link=follow_link)
    return 0


@flags.command("top", context_settings={"allow_interspersed_args": False})
@flags.argument("name")
@flags.argument("ps_args", nargs=-1, type=flags.UNPROCESSED)
@store_options
@flags.pass_context
def top(ctx, name, ps_args, root_, runroot_) -> int:
    """Display the running processes of a container."""
    from tug.cli.format import table
    from tug.engine import containers
    from tug.engine import top as etop

    eng = engine(ctx, root_, runroot_)
    header, rows = etop.top(eng, containers.find(eng, name), list(ps_args))
    flags.echo(table([header, *rows]), nl=False)
    return 0
