"""Container verbs: `ps`, `rm`, and the `container` group."""

from __future__ import annotations

import click

from tug.cli.common import engine, store_options
from tug.cli.format import ellipsis, table


def ps_row(eng, ctr, no_trunc: bool) -> dict[str, str]:
    from tug.engine import images as eimages
    from tug.engine.humanize import ago
    from tug.engine.inspect import status_text

    args = list(ctr.extra.get("args") or [])
    command = " ".join(args)
    ports = ""
    if ctr.status in ("running", "paused") and ctr.image_id:
        try:
            img = eimages.find(eng, ctr.image_id)
            ports = ", ".join(eimages.config(eng, img).exposed_ports)
        except Exception:  # noqa: BLE001 - an image removed under a container leaves PORTS empty
            ports = ""
    return {
        "ID": ctr.id if no_trunc else ctr.id[:12],
        "Image": ctr.image_name,
        "Command": f'"{command if no_trunc else ellipsis(command, 20)}"',
        "CreatedAt": ctr.created,
        "RunningFor": ago(ctr.created),
        "Status": status_text(ctr),
        "State": ctr.status,
        "Ports": ports,
        "Names": ctr.name,
    }


@click.command("ps")
@click.option("-a", "--all", "all_", is_flag=True)
@click.option("-q", "--quiet", is_flag=True)
@click.option("--no-trunc", is_flag=True)
@click.option("-l", "--latest", is_flag=True)
@click.option("-n", "--last", type=int, default=-1)
@click.option("-s", "--size", is_flag=True)
@click.option("-f", "--filter", "filters", multiple=True)
@click.option("--format", "fmt")
@store_options
@click.pass_context
def ps(ctx, all_, quiet, no_trunc, latest, last, size, filters, fmt, root_, runroot_) -> int:
    """List containers."""
    from tug.engine import lifecycle
    from tug.engine.containers import list_containers

    eng = engine(ctx, root_, runroot_)
    ctrs = list_containers(eng)
    for c in ctrs:
        lifecycle.refresh(eng, c)
    ctrs.sort(key=lambda c: c.created, reverse=True)
    if latest:
        last = 1
    if last >= 0:
        ctrs = ctrs[:last]
    elif not all_:
        ctrs = [c for c in ctrs if c.status in ("running", "paused", "restarting")]
    if quiet:
        for c in ctrs:
            click.echo(c.id if no_trunc else c.id[:12])
        return 0
    rows = [ps_row(eng, c, no_trunc) for c in ctrs]
    if fmt:
        from tug.cli.template import render_rows

        click.echo(render_rows(fmt, rows), nl=False)
        return 0
    cols = ["ID", "Image", "Command", "RunningFor", "Status", "Ports", "Names"]
    header = ["CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"]
    click.echo(table([header] + [[r[c] for c in cols] for r in rows]), nl=False)
    return 0


@click.command("rm")
@click.option("-f", "--force", is_flag=True)
@click.option("-v", "--volumes", is_flag=True)
@click.option("-l", "--link", is_flag=True)
@click.argument("names", nargs=-1, required=True)
@store_options
@click.pass_context
def rm(ctx, force, volumes, link, names, root_, runroot_) -> int:
    """Remove one or more containers."""
    from tug.engine import containers
    from tug.errors import TugError

    eng = engine(ctx, root_, runroot_)
    code = 0
    for n in names:
        try:
            containers.remove(eng, n, force=force)
            click.echo(n)
        except TugError as e:
            click.echo(f"Error response from daemon: {e.one_line()}", err=True)
            code = 1
    return code


@click.group("container")
def container() -> None:
    """Manage containers."""


container.add_command(ps, "ls")
container.add_command(ps, "list")
container.add_command(ps, "ps")
container.add_command(rm, "rm")
