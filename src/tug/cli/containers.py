"""Container verbs: `ps`, `rm`, and the `container` group (ls, rm, prune and the lifecycle verbs)."""

from __future__ import annotations

from tug.cli import flags
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


@flags.command("ps")
@flags.option("-a", "--all", "all_", is_flag=True, help="Show all containers (default shows just running)")
@flags.option("-q", "--quiet", is_flag=True, help="Only display IDs")
@flags.option("--no-trunc", is_flag=True, help="Don't truncate output")
@flags.option("-l", "--latest", is_flag=True, help="Show the latest created container (includes all states)")
@flags.option("-n", "--last", type=int, default=-1, help="Show n last created containers (includes all states)")
@flags.option("-s", "--size", is_flag=True, help="Display total file sizes")
@flags.option("-f", "--filter", "filters", multiple=True, help="Filter output based on conditions provided")
@flags.option("--format", "fmt", help="Format output using a Go template")
@store_options
@flags.pass_context
def ps(ctx, all_, quiet, no_trunc, latest, last, size, filters, fmt, root_, runroot_) -> int:
    """List containers."""
    from tug.engine import listing

    eng = engine(ctx, root_, runroot_)
    ctrs = listed(eng, all_, 1 if latest else last, filters)
    if quiet:
        for c in ctrs:
            flags.echo(c.id if no_trunc else c.id[:12])
        return 0
    rows = [listing.row(c, no_trunc) for c in ctrs]
    if size or (fmt and ".Size" in fmt):
        from tug.cli.format import human_size
        from tug.engine.ctrsize import sizes

        for c, r in zip(ctrs, rows, strict=True):
            rw, virtual = sizes(eng, c)
            r["Size"] = f"{human_size(rw)} (virtual {human_size(virtual)})"
    if fmt and fmt != "table":
        from tug.cli.template import render_rows

        flags.echo(render_rows(fmt, rows, header_names={"RUNNING FOR": "CREATED"}), nl=False)
        return 0
    columns = DEFAULT_COLUMNS + (["Size"] if size else [])
    header = [HEADERS[c] for c in columns]
    flags.echo(table([header] + [[r[c] for c in columns] for r in rows]), nl=False)
    return 0


@flags.command("rm")
@flags.option("-f", "--force", is_flag=True, help="Force the removal of a running container (uses SIGKILL)")
@flags.option("-v", "--volumes", is_flag=True, help="Remove anonymous volumes associated with the container")
@flags.option("-l", "--link", is_flag=True, help="Remove the specified link (tug has no legacy links: refused)")
@flags.argument("names", nargs=-1, required=True)
@store_options
@flags.pass_context
def rm(ctx, force, volumes, link, names, root_, runroot_) -> int:
    """Remove one or more containers."""
    from tug.engine import containers
    from tug.errors import Invalid, TugError

    if link:
        raise Invalid("--link: tug has no legacy container links to remove")

    eng = engine(ctx, root_, runroot_)
    code = 0
    for n in names:
        try:
            containers.remove(eng, n, force=force, volumes=volumes)
            flags.echo(n)
        except TugError as e:
            flags.echo(f"Error response from daemon: {e.one_line()}", err=True)
            code = 1
    return code


@flags.command("prune")
@flags.option("-f", "--force", is_flag=True, help="Do not prompt for confirmation")
@flags.option("--filter", "filters", multiple=True, help='Provide filter values (e.g. "until=<timestamp>")')
@store_options
@flags.pass_context
def prune(ctx, force, filters, root_, runroot_) -> int:
    """Remove all stopped containers."""
    import sys

    from tug.engine import containers
    from tug.engine.humanize import human_size

    if not force:
        flags.echo("WARNING! This will remove all stopped containers.\nAre you sure you want to continue? [y/N] ",
                   nl=False)
        answer = sys.stdin.readline().strip().lower()
        if answer not in ("y", "yes"):
            return 0
    eng = engine(ctx, root_, runroot_)
    removed, reclaimed = containers.prune(eng, list(filters))
    flags.echo("Deleted Containers:" if removed else "", nl=bool(removed))
    for cid in removed:
        flags.echo(cid)
    if removed:
        flags.echo("")
    flags.echo(f"Total reclaimed space: {human_size(reclaimed)}")
    return 0


@flags.group("container")
def container() -> None:
    """Manage containers."""


def _lazy(name: str, target: str) -> None:
    container.add_command(flags.lazy_command(name, target, help=f"docker container {name}"), name)


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
