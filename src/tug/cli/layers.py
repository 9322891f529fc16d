"""Layer verbs: `commit`, `diff`, `history`, `save`, `load`, `export`."""

from __future__ import annotations

import sys

from tug.cli import flags
from tug.cli.common import engine, store_options
from tug.cli.format import ago, ellipsis, human_size, short_id, table


@flags.command("commit")
@flags.option("-a", "--author", default="", help='Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")')
@flags.option("-c", "--change", "changes", multiple=True, help="Apply Dockerfile instruction to the created image")
@flags.option("-m", "--message", default="", help="Set commit message for imported image")
@flags.option("-p", "--pause/--no-pause", default=True, help="Pause container during commit (default true)")
@flags.argument("container")
@flags.argument("reference", required=False)
@store_options
@flags.pass_context
def commit(ctx, author, changes, message, pause, container, reference, root_, runroot_) -> int:
    """Create a new image from a container's changes."""
    from tug.engine.commit import CommitOptions, commit

    opts = CommitOptions(container, reference, message, author, list(changes), pause)
    flags.echo(commit(engine(ctx, root_, runroot_), opts))
    return 0


@flags.command("diff")
@flags.argument("container")
@store_options
@flags.pass_context
def diff(ctx, container, root_, runroot_) -> int:
    """Inspect changes to files or directories on a container's filesystem."""
    from tug.engine.diff import changes

    for change in changes(engine(ctx, root_, runroot_), container):
        flags.echo(str(change))
    return 0


@flags.command("history")
@flags.option("-H", "--human/--no-human", default=True,
              help="Print sizes and dates in human readable format (default true)")
@flags.option("--no-trunc", is_flag=True, help="Don't truncate output")
@flags.option("-q", "--quiet", is_flag=True, help="Only show image IDs")
@flags.option("--format", "fmt", help="Format output using a Go template")
@flags.argument("image")
@store_options
@flags.pass_context
def history(ctx, human, no_trunc, quiet, fmt, image, root_, runroot_) -> int:
    """Show the history of an image."""
    from tug.engine.history import history

    rows = history(engine(ctx, root_, runroot_), image)
    if quiet:
        for r in rows:
            flags.echo(r.id if no_trunc or r.id == "<missing>" else short_id(r.id))
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

        flags.echo(render_rows(fmt, out), nl=False)
        return 0
    cols = ["ID", "CreatedSince", "CreatedBy", "Size", "Comment"]
    header = ["IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT"]
    flags.echo(table([header] + [[r[c] for c in cols] for r in out]), nl=False)
    return 0


def _refuse_terminal(what: str) -> None:
    from tug.errors import Invalid

    if sys.stdout.isatty():
        raise Invalid(f"cowardly refusing to {what} to a terminal. Use the -o flag or redirect")


@flags.command("save")
@flags.option("-o", "--output", help="Write to a file (or, with --format oci, an OCI layout directory).")
@flags.option("--format", "fmt", type=flags.Choice(["docker", "oci", "oci-dir"]), default="docker",
              show_default=True, help="docker-archive, OCI archive, or OCI image layout directory.")
@flags.argument("images", nargs=-1, required=True)
@store_options
@flags.pass_context
def save(ctx, output, fmt, images, root_, runroot_) -> int:
    """Save one or more images to a tar archive (streamed to STDOUT by default)."""
    import os
    from pathlib import Path

    from tug.engine.archive import save as esave

    eng = engine(ctx, root_, runroot_)
    directory = None
    if fmt == "oci-dir" or (fmt == "oci" and output and (os.path.isdir(output) or output.endswith("/"))):
        if not output:
            from tug.errors import Invalid

            raise Invalid("--format oci-dir needs -o DIRECTORY")
        directory = Path(output)
        directory.mkdir(parents=True, exist_ok=True)
        esave(eng, list(images), "oci", directory=directory)
        return 0
    if output:
        tmp = f"{output}.tmp-{os.getpid()}"
        try:
            with open(tmp, "wb") as f:
                esave(eng, list(images), fmt, out=f)
            os.replace(tmp, output)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return 0
    _refuse_terminal("save")
    out = sys.stdout.buffer
    esave(eng, list(images), fmt, out=out)
    out.flush()
    return 0


@flags.command("load")
@flags.option("-i", "--input", "input_", help="Read from a tar archive file or an OCI layout directory.")
@flags.option("-q", "--quiet", is_flag=True, help="Suppress the load output")
@store_options
@flags.pass_context
def load(ctx, input_, quiet, root_, runroot_) -> int:
    """Load images from a tar archive or STDIN (docker-archive or OCI, plain or compressed)."""
    from tug.engine.archive_load import load as eload

    eng = engine(ctx, root_, runroot_)
    if not input_ and sys.stdin.isatty():
        from tug.errors import Invalid

        raise Invalid("requested load from stdin, but stdin is empty")
    for line in eload(eng, input_, None if input_ else sys.stdin.buffer):
        if not quiet:
            flags.echo(line)
    return 0


@flags.command("export")
@flags.option("-o", "--output", help="Write to a file, instead of STDOUT.")
@flags.argument("container")
@store_options
@flags.pass_context
def export(ctx, output, container, root_, runroot_) -> int:
    """Export a container's filesystem as a tar archive."""
    import os

    from tug.engine.export import export as eexport

    eng = engine(ctx, root_, runroot_)
    if output:
        tmp = f"{output}.tmp-{os.getpid()}"
        try:
            with open(tmp, "wb") as f:
                eexport(eng, container, f.fileno())
            os.replace(tmp, output)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return 0
    _refuse_terminal("export")
    sys.stdout.flush()
    eexport(eng, container, sys.stdout.fileno())
    return 0
