"""`tug volume create|ls|inspect|rm|prune`."""

from __future__ import annotations

from tug.cli import flags
from tug.cli.common import confirm, engine, no_filters, store_options
from tug.cli.format import table


@flags.group("volume")
def volume() -> None:
    """Manage volumes."""


@volume.command("create")
@flags.option("-d", "--driver", default="local", help="Specify volume driver name (local)")
@flags.option("--label", "labels", multiple=True, help="Set metadata for a volume")
@flags.option("-o", "--opt", "opts", multiple=True, help="Set driver specific options")
@flags.argument("name", required=False)
@store_options
@flags.pass_context
def create(ctx, driver, labels, opts, name, root_, runroot_) -> int:
    """Create a volume."""
    from tug.engine import volumes
    from tug.errors import Invalid

    if driver != "local":
        raise Invalid(f"volume driver {driver!r} is not supported", hint="tug has the local driver")
    pairs = dict(v.split("=", 1) if "=" in v else (v, "") for v in labels)
    o = dict(v.split("=", 1) if "=" in v else (v, "") for v in opts)
    meta = volumes.create(engine(ctx, root_, runroot_), name, pairs, o)
    flags.echo(meta["Name"])
    return 0


@volume.command("ls")
@flags.option("-q", "--quiet", is_flag=True, help="Only display IDs")
@flags.option("-f", "--filter", "filters", multiple=True, help="Filter output based on conditions provided")
@flags.option("--format", "fmt", help="Format output using a Go template")
@store_options
@flags.pass_context
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
            flags.echo(m["Name"])
        return 0
    if fmt:
        from tug.cli.template import render_rows

        flags.echo(render_rows(fmt, [{"Name": m["Name"], "Driver": "local", "Mountpoint":
                                      volumes.document(eng, m)["Mountpoint"]} for m in metas]), nl=False)
        return 0
    flags.echo(table([["DRIVER", "VOLUME NAME"]] + [["local", m["Name"]] for m in metas]), nl=False)
    return 0


@volume.command("inspect")
@flags.option("-f", "--format", "fmt", help="Format the output using the given Go template")
@flags.argument("names", nargs=-1, required=True)
@store_options
@flags.pass_context
def inspect(ctx, fmt, names, root_, runroot_) -> int:
    """Display detailed information on one or more volumes."""
    from tug.cli.inspect import emit
    from tug.engine import volumes

    eng = engine(ctx, root_, runroot_)
    return emit([volumes.document(eng, volumes.find(eng, n)) for n in names], fmt)


@volume.command("rm")
@flags.option("-f", "--force", is_flag=True, help="Force the removal of one or more volumes")
@flags.argument("names", nargs=-1, required=True)
@store_options
@flags.pass_context
def rm(ctx, force, names, root_, runroot_) -> int:
    """Remove volumes (one in use only with -f)."""
    from tug.engine import volumes
    from tug.errors import NotFound, TugError

    eng = engine(ctx, root_, runroot_)
    code = 0
    for n in names:
        try:
            volumes.remove(eng, n, force)
            flags.echo(n)
        except NotFound:
            if not force:
                flags.echo(f"Error response from daemon: get {n}: no such volume", err=True)
                code = 1
        except TugError as e:
            flags.echo(f"Error response from daemon: {e.one_line()}", err=True)
            code = 1
    return code


@volume.command("prune")
@flags.option("-f", "--force", is_flag=True, help="Do not prompt for confirmation")
@flags.option("-a", "--all", "all_", is_flag=True, help="Remove all unused volumes, not just anonymous ones")
@flags.option("--filter", "filters", multiple=True, help="Filter values (tug takes none: refused)")
@store_options
@flags.pass_context
def prune(ctx, force, all_, filters, root_, runroot_) -> int:
    """Remove unused volumes (anonymous ones; every unused one with -a)."""
    from tug.engine import volumes

    no_filters(filters, "volume prune")
    which = "all local volumes" if all_ else "anonymous local volumes"
    if not confirm(f"WARNING! This will remove {which} not used by at least one container.", force):
        return 0
    gone = volumes.prune(engine(ctx, root_, runroot_), all_)
    if gone:
        flags.echo("Deleted Volumes:")
        for n in gone:
            flags.echo(n)
    return 0
