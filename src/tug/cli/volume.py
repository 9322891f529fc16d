"""`tug volume create|ls|inspect|rm|prune`."""

from __future__ import annotations

import json

import click

from tug.cli.common import engine, store_options
from tug.cli.format import table


@click.group("volume")
def volume() -> None:
    """Manage volumes."""


@volume.command("create")
@click.option("-d", "--driver", default="local")
@click.option("--label", "labels", multiple=True)
@click.option("-o", "--opt", "opts", multiple=True)
@click.argument("name", required=False)
@store_options
@click.pass_context
def create(ctx, driver, labels, opts, name, root_, runroot_) -> int:
    """Create a volume."""
    from tug.engine import volumes
    from tug.errors import Invalid

    if driver != "local":
        raise Invalid(f"volume driver {driver!r} is not supported", hint="tug has the local driver")
    pairs = dict(v.split("=", 1) if "=" in v else (v, "") for v in labels)
    o = dict(v.split("=", 1) if "=" in v else (v, "") for v in opts)
    meta = volumes.create(engine(ctx, root_, runroot_), name, pairs, o)
    click.echo(meta["Name"])
    return 0


@volume.command("ls")
@click.option("-q", "--quiet", is_flag=True)
@click.option("-f", "--filter", "filters", multiple=True)
@click.option("--format", "fmt")
@store_options
@click.pass_context
def ls(ctx, quiet, filters, fmt, root_, runroot_) -> int:
    """List volumes."""
    from tug.engine import volumes

    eng = engine(ctx, root_, runroot_)
    metas = volumes.list_volumes(eng)
    used = volumes.users(eng) if filters else {}
    for f in filters:
        key, _, val = f.partition("=")
        if key == "dangling":
            want = val.lower() in ("1", "true")
            metas = [m for m in metas if (m["Name"] not in used) == want]
        elif key == "name":
            metas = [m for m in metas if val in m["Name"]]
    if quiet:
        for m in metas:
            click.echo(m["Name"])
        return 0
    if fmt:
        from tug.cli.template import render_rows

        click.echo(render_rows(fmt, [{"Name": m["Name"], "Driver": "local", "Mountpoint":
                                      volumes.document(eng, m)["Mountpoint"]} for m in metas]), nl=False)
        return 0
    click.echo(table([["DRIVER", "VOLUME NAME"]] + [["local", m["Name"]] for m in metas]), nl=False)
    return 0


@volume.command("inspect")
@click.argument("names", nargs=-1, required=True)
@store_options
@click.pass_context
def inspect(ctx, names, root_, runroot_) -> int:
    """Show volumes as JSON."""
    from tug.engine import volumes

    eng = engine(ctx, root_, runroot_)
    click.echo(json.dumps([volumes.document(eng, volumes.find(eng, n)) for n in names], indent=4))
    return 0


@volume.command("rm")
@click.option("-f", "--force", is_flag=True)
@click.argument("names", nargs=-1, required=True)
@store_options
@click.pass_context
def rm(ctx, force, names, root_, runroot_) -> int:
    """Remove volumes (one in use only with -f)."""
    from tug.engine import volumes
    from tug.errors import NotFound, TugError

    eng = engine(ctx, root_, runroot_)
    code = 0
    for n in names:
        try:
            volumes.remove(eng, n, force)
            click.echo(n)
        except NotFound:
            if not force:
                click.echo(f"Error response from daemon: get {n}: no such volume", err=True)
                code = 1
        except TugError as e:
            click.echo(f"Error response from daemon: {e.one_line()}", err=True)
            code = 1
    return code


@volume.command("prune")
@click.option("-f", "--force", is_flag=True)
@click.option("-a", "--all", "all_", is_flag=True)
@click.option("--filter", "filters", multiple=True)
@store_options
@click.pass_context
def prune(ctx, force, all_, filters, root_, runroot_) -> int:
    """Remove unused volumes (anonymous ones; every unused one with -a)."""
    from tug.engine import volumes

    gone = volumes.prune(engine(ctx, root_, runroot_), all_)
    if gone:
        click.echo("Deleted Volumes:")
        for n in gone:
            click.echo(n)
    return 0
