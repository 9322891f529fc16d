"""Layer verbs: `commit`, `diff`, `history`, `save`, `load`, `export`."""

from __future__ import annotations

import sys

import click

from tug.cli.common import engine, store_options
from tug.cli.format import ago, ellipsis, human_size, short_id, table


@click.command("commit")
@click.option("-a", "--author", default="")
@click.option("-c", "--change", "changes", multiple=True)
@click.option("-m", "--message", default="")
@click.option("-p", "--pause/--no-pause", default=True)
@click.argument("container")
@click.argument("reference", required=False)
@store_options
@click.pass_context
def commit(ctx, author, changes, message, pause, container, reference, root_, runroot_) -> int:
    """Create a new image from a container's changes."""
    from tug.engine.commit import CommitOptions, commit

    opts = CommitOptions(container, reference, message, author, list(changes), pause)
    click.echo(commit(engine(ctx, root_, runroot_), opts))
    return 0


@click.command("diff")
@click.argument("container")
@store_options
@click.pass_context
def diff(ctx, container, root_, runroot_) -> int:
    """Inspect changes to files or directories on a container's filesystem."""
    from tug.engine.diff import changes

    for change in changes(engine(ctx, root_, runroot_), container):
        click.echo(str(change))
    return 0


@click.command("history")
@click.option("-H", "--human/--no-human", default=True)
@click.option("--no-trunc", is_flag=True)
@click.option("-q", "--quiet", is_flag=True)
@click.option("--format", "fmt")
@click.argument("image")
@store_options
@click.pass_context
def history(ctx, human, no_trunc, quiet, fmt, image, root_, runroot_) -> int:
    """Show the history of an image."""
    from tug.engine.history import history

    rows = history(engine(ctx, root_, runroot_), image)
    if quiet:
        for r in rows:
            click.echo(r.id if no_trunc or r.id == "<missing>" else short_id(r.id))
        return 0
    out = []
    for r in rows:
        created_by = r.created_by.replace("\t", " ")
        out.append({
            "ID": r.id if no_trunc or r.id == "<missing>" else short_id(r.id),
            "CreatedSince": ago(r.created) if human else r.created,
            "CreatedAt": r.created,
            "CreatedBy": created_by if no_trunc else ellipsis(created_by, 45),
            "Size": human_size(r.size) if human else str(r.size),
            "Comment": r.comment,
        })
    if fmt:
        from tug.cli.template import render_rows

        click.echo(render_rows(fmt, out), nl=False)
        return 0
    cols = ["ID", "CreatedSince", "CreatedBy", "Size", "Comment"]
    header = ["IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT"]
    click.echo(table([header] + [[r[c] for c in cols] for r in out]), nl=False)
    return 0


def _stdout_is_tty() -> bool:
    return sys.stdout.isatty()
