"""`tug cp` and `tug top`."""

from __future__ import annotations

import click

from tug.cli.common import engine, store_options


@click.command("cp")
@click.option("-a", "--archive", is_flag=True)
@click.option("-L", "--follow-link", is_flag=True)
@click.option("-q", "--quiet", is_flag=True)
@click.argument("src")
@click.argument("dest")
@store_options
@click.pass_context
def cp(ctx, archive, follow_link, quiet, src, dest, root_, runroot_) -> int:
    """Copy files/folders between a container and the local filesystem."""
    from tug.engine import cp as ecp

    ecp.copy(engine(ctx, root_, runroot_), src, dest)
    return 0


@click.command("top", context_settings={"ignore_unknown_options": True})
@click.argument("name")
@click.argument("ps_args", nargs=-1, type=click.UNPROCESSED)
@store_options
@click.pass_context
def top(ctx, name, ps_args, root_, runroot_) -> int:
    """Display the running processes of a container."""
    from tug.cli.format import table
    from tug.engine import containers
    from tug.engine import top as etop

    eng = engine(ctx, root_, runroot_)
    header, rows = etop.top(eng, containers.find(eng, name), list(ps_args))
    click.echo(table([header, *rows]), nl=False)
    return 0
