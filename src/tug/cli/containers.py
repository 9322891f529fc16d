"""Container verbs: `ps`, `rm`, and the `container` group (ls, rm, prune and the lifecycle verbs)."""

from __future__ import annotations

import click

from tug.cli.common import engine, store_options
from tug.cli.format import table

DEFAULT_COLUMNS = ["ID", "Image", "Command", "RunningFor", "Status", "Ports", "Names"]
HEADERS = {"ID": "CONTAINER ID", "Image": "IMAGE", "Command": "COMMAND", "RunningFor": "CREATED",
           "CreatedAt": "CREATED AT", "Status": "STATUS", "Ports": "PORTS", "Names": "NAMES", "State": "STATE",
           "Labels": "LABELS", "Mounts": "MOUNTS", "Networks": "NETWORKS", "Size": "SIZE"}


def listed(eng, all_: bool, last: int, filters: tuple[str, ...]):
    """The containers `ps` shows, reconciled with their monitors."""
    from tug.engine import lifecycle, listing
    from tug.engine.containers import list_containers
    from tug.errors import NotFound

    parsed = listing.parse_filters(filters)
    ctrs = []
    for c in list_containers(eng):
        try:
            lifecycle.refresh(eng, c)
        except NotFound:  # removed while we looked
            continue
        ctrs.append(c)
    return listing.select(ctrs, all_, last, parsed)


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
    from tug.engine import listing

    eng = engine(ctx, root_, runroot_)
    ctrs = listed(eng, all_, 1 if latest else last, filters)
    if quiet:
        for c in ctrs:
            click.echo(c.id if no_trunc else c.id[:12])
        return 0
    rows = [listing.row(c, no_trunc) for c in ctrs]
    if fmt and fmt != "table":
        from tug.cli.template import render_rows

        click.echo(render_rows(fmt, rows, header_names={"RUNNING FOR": "CREATED"}), nl=False)
        return 0
    header = [HEADERS[c] for c in DEFAULT_COLUMNS]
    click.echo(table([header] + [[r[c] for c in DEFAULT_COLUMNS] for r in rows]), nl=False)
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
            containers.remove(eng, n, force=force, volumes=volumes)
            click.echo(n)
        except TugError as e:
            click.echo(f"Error response from daemon: {e.one_line()}", err=True)
            code = 1
    return code


@click.command("prune")
@click.option("-f", "--force", is_flag=True)
@click.option("--filter", "filters", multiple=True)
@store_options
@click.pass_context
def prune(ctx, force, filters, root_, runroot_) -> int:
    """Remove all stopped containers."""
    import sys

    from tug.engine import containers
    from tug.engine.humanize import human_size

    if not force:
        click.echo("WARNING! This will remove all stopped containers.\nAre you sure you want to continue? [y/N] ",
                   nl=False)
        answer = sys.stdin.readline().strip().lower()
        if answer not in ("y", "yes"):
            return 0
    eng = engine(ctx, root_, runroot_)
    removed, reclaimed = containers.prune(eng, list(filters))
    click.echo("Deleted Containers:" if removed else "", nl=bool(removed))
    for cid in removed:
        click.echo(cid)
    if removed:
        click.echo("")
    click.echo(f"Total reclaimed space: {human_size(reclaimed)}")
    return 0


@click.group("container")
def container() -> None:
    """Manage containers."""


def _lazy(name: str, target: str) -> None:
    import importlib

    module, _, attr = target.partition(":")

    class Lazy(click.Command):
        def _real(self) -> click.Command:
            return getattr(importlib.import_module(module), attr)

        def make_context(self, info_name, args, parent=None, **extra):
            return self._real().make_context(info_name, args, parent=parent, **extra)

        def invoke(self, ctx):
            return self._real().invoke(ctx)

    container.add_command(Lazy(name, help=f"docker container {name}"), name)


container.add_command(ps, "ls")
container.add_command(ps, "list")
container.add_command(ps, "ps")
container.add_command(rm, "rm")
container.add_command(prune, "prune")
for _verb, _target in {"create": "tug.cli.run:create", "run": "tug.cli.run:run",
                       "start": "tug.cli.lifecycle:start", "stop": "tug.cli.lifecycle:stop",
                       "kill": "tug.cli.lifecycle:kill", "restart": "tug.cli.lifecycle:restart",
                       "wait": "tug.cli.lifecycle:wait", "pause": "tug.cli.lifecycle:pause",
                       "unpause": "tug.cli.lifecycle:unpause", "rename": "tug.cli.lifecycle:rename",
                       "attach": "tug.cli.lifecycle:attach", "exec": "tug.cli.exec:exec_",
                       "logs": "tug.cli.logs:logs", "inspect": "tug.cli.inspect:inspect",
                       "cp": "tug.cli.copytop:cp", "top": "tug.cli.copytop:top"}.items():
    _lazy(_verb, _target)
