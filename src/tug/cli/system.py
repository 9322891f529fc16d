"""Store-wide verbs: `system df|prune|check`, and `image prune|tree|anatomy`."""

from __future__ import annotations

import sys

from tug.cli import flags
from tug.cli.common import confirm, engine, no_filters, store_options
from tug.cli.format import human_size, table


def _reclaimable(size: int, reclaim: int, percent: bool) -> str:
    text = human_size(reclaim)
    return f"{text} ({reclaim * 100 // size}%)" if percent and size else text


@flags.command("df")
@flags.option("-v", "--verbose", is_flag=True, help="Show detailed information on space usage")
@flags.option("--format", "fmt", help="Format output using a Go template")
@store_options
@flags.pass_context
def df(ctx, verbose, fmt, root_, runroot_) -> int:
    """Show disk usage: every byte under the store, by kind (the total is the store's `du -sb`)."""
    from tug.engine.df import rows

    out, total = rows(engine(ctx, root_, runroot_))
    view = []
    for r in out:
        view.append({**r, "SizeBytes": r["Size"], "ReclaimableBytes": r["Reclaimable"],
                     "Size": human_size(r["Size"]),
                     "Reclaimable": _reclaimable(r["Size"], r["Reclaimable"],
                                                 r["Type"] in ("Images", "Containers", "Local Volumes"))})
    if fmt:
        from tug.cli.template import render_rows

        flags.echo(render_rows(fmt, view), nl=False)
        return 0
    cols = ["Type", "TotalCount", "Active", "Size", "Reclaimable"]
    lines = [["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"]] + [[str(r[c]) for c in cols] for r in view]
    flags.echo(table(lines), nl=False)
    if verbose:
        flags.echo(f"\nTotal under the store: {human_size(total)} ({total} bytes)")
    return 0


def _prune(ctx, root_, runroot_, *, containers: bool, images: str, volumes: bool, dry_run: bool,
           warning: str, force: bool) -> int:
    from tug.engine import df as edf

    eng = engine(ctx, root_, runroot_)
    usage = edf.measure(eng)
    p = edf.plan(eng, usage, edf.model(eng), containers=containers, images=images, volumes=volumes)
    if dry_run:
        for c in p.containers:
            flags.echo(f"Would remove container: {c}")
        for i in p.images:
            flags.echo(f"Would remove image: {i}")
        for v in p.volumes:
            flags.echo(f"Would remove volume: {v}")
        flags.echo(f"Total reclaimable space: {human_size(p.freed)} ({p.freed} bytes)")
        return 0
    if not confirm(warning, force):
        return 0
    done = edf.execute(eng, p)
    after = edf.measure(eng).total
    for title, key in (("Deleted Containers:", "containers"), ("Deleted Images:", "images"),
                       ("Deleted Volumes:", "volumes")):
        if done[key]:
            flags.echo(title)
            for line in done[key]:
                flags.echo(line)
            flags.echo()
    flags.echo(f"Total reclaimed space: {human_size(max(0, usage.total - after))}")
    return 0


@flags.command("prune")
@flags.option("-a", "--all", "all_", is_flag=True, help="Remove all unused images, not only dangling ones.")
@flags.option("--volumes", is_flag=True, help="Prune volumes too.")
@flags.option("-f", "--force", is_flag=True, help="Do not prompt for confirmation.")
@flags.option("--dry-run", is_flag=True, help="Only report what would be removed and the bytes it frees.")
@flags.option("--filter", "filters", multiple=True, help="Filter values (tug takes none: refused)")
@store_options
@flags.pass_context
def system_prune(ctx, all_, volumes, force, dry_run, filters, root_, runroot_) -> int:
    """Remove unused data."""
    no_filters(filters, "system prune")
    warning = ("WARNING! This will remove:\n  - all stopped containers\n"
               + ("  - all volumes not used by at least one container\n" if volumes else "")
               + ("  - all images without at least one container associated to them\n" if all_
                  else "  - all dangling images\n")
               + "  - unused build cache\n")
    return _prune(ctx, root_, runroot_, containers=True, images="unused" if all_ else "dangling", volumes=volumes,
                  dry_run=dry_run, warning=warning, force=force)


@flags.command("prune")
@flags.option("-a", "--all", "all_", is_flag=True, help="Remove all unused images, not just dangling ones.")
@flags.option("-f", "--force", is_flag=True, help="Do not prompt for confirmation.")
@flags.option("--dry-run", is_flag=True, help="Only report what would be removed and the bytes it frees.")
@flags.option("--filter", "filters", multiple=True, help="Filter values (tug takes none: refused)")
@store_options
@flags.pass_context
def image_prune(ctx, all_, force, dry_run, filters, root_, runroot_) -> int:
    """Remove unused images."""
    no_filters(filters, "image prune")
    warning = ("WARNING! This will remove all images without at least one container associated to them."
               if all_ else "WARNING! This will remove all dangling images.")
    return _prune(ctx, root_, runroot_, containers=False, images="unused" if all_ else "dangling", volumes=False,
                  dry_run=dry_run, warning=warning, force=force)


@flags.group("system")
def system() -> None:
    """Manage tug's store."""


system.add_command(df, "df")
system.add_command(system_prune, "prune")


def _tree_lines(forest, no_trunc: bool, ascii_only: bool) -> list[str]:  # noqa: ANN001 - engine.tree.Forest
    from tug.cli.format import ellipsis, short_id
    from tug.oci import reference

    tee, last, bar, gap = ("|-- ", "`-- ", "|   ", "    ") if ascii_only else ("├── ", "└── ", "│   ", "    ")

    def ident(d: str) -> str:
        return d if no_trunc else short_id(d)

    def image_line(leaf) -> str:  # noqa: ANN001
        names = ", ".join(reference.parse(t).familiar for t in leaf.tags) or "<none>"
        text = f"image {names}  {ident(leaf.id)}"
        if leaf.containers:
            shown = ", ".join(leaf.containers[:3]) + (", …" if len(leaf.containers) > 3 else "")
            text += f"  · {len(leaf.containers)} container{'s' if len(leaf.containers) > 1 else ''}: {shown}"
        return text

    def layer_line(node) -> str:  # noqa: ANN001
        made = node.created_by.replace("\n", " ").replace("\t", " ")
        users = len(node.users)
        shared = f"  [shared by {users} images]" if users > 1 else ""
        return f"layer {ident(node.diff_id)}  {human_size(node.size)}  {made if no_trunc else ellipsis(made, 50)}" \
               f"{shared}"

    out: list[str] = []

    def walk(node, prefix: str, is_last: bool, top: bool) -> None:  # noqa: ANN001
        out.append(("" if top else prefix + (last if is_last else tee)) + layer_line(node))
        kids = [("img", leaf) for leaf in node.images] + [("layer", c) for c in node.children.values()]
        child_prefix = "" if top else prefix + (gap if is_last else bar)
        for i, (kind, item) in enumerate(kids):
            end = i == len(kids) - 1
            if kind == "img":
                out.append(child_prefix + (last if end else tee) + image_line(item))
            else:
                walk(item, child_prefix, end, False)

    for root in forest.roots.values():
        walk(root, "", True, True)
    return out


@flags.command("tree")
@flags.option("--no-trunc", is_flag=True)
@flags.argument("images", nargs=-1)
@store_options
@flags.pass_context
def image_tree(ctx, no_trunc, images, root_, runroot_) -> int:
    """Show the layer stacks of images (all by default): shared layers, sizes, what made them, containers."""
    from tug.engine.tree import build

    forest = build(engine(ctx, root_, runroot_), list(images) or None)
    ascii_only = (sys.stdout.encoding or "").lower().replace("-", "") != "utf8"
    for line in _tree_lines(forest, no_trunc, ascii_only):
        flags.echo(line)
    ctrs = sum(len(leaf.containers) for leaf in forest.images)
    flags.echo(f"\n{len(forest.images)} images, {ctrs} containers: layers take {human_size(forest.stored)} stored "
               f"once ({human_size(forest.unshared)} if each image had its own copy)")
    return 0


@flags.command("anatomy")
@flags.option("--max-waste", help="Exit 1 when the wasted bytes exceed BYTES (10MB, 512k, 1048576) or PCT%.")
@flags.option("--format", "fmt", type=flags.Choice(["table", "json"]), default="table")
@flags.argument("image")
@store_options
@flags.pass_context
def image_anatomy(ctx, max_waste, fmt, image, root_, runroot_) -> int:
    """Per layer: files added, changed (content or metadata only) and deleted, and the bytes later layers waste."""
    import json

    from tug.cli.format import ellipsis
    from tug.engine.anatomy import analyse, parse_limit

    limit = parse_limit(max_waste) if max_waste else None
    a = analyse(engine(ctx, root_, runroot_), image)
    if fmt == "json":
        flags.echo(json.dumps(a.to_json(), indent=2))
    else:
        head = ["LAYER", "CREATED BY", "SIZE", "ADDED", "CHANGED", "META ONLY", "DELETED", "WASTED"]
        lines = [head]
        for r in a.layers:
            made = r.created_by.replace("\n", " ").replace("\t", " ")
            lines.append([str(r.index), ellipsis(made, 40), human_size(r.size),
                          f"{r.added} ({human_size(r.added_bytes)})", str(r.changed_content), str(r.changed_meta),
                          f"{r.deleted} ({human_size(r.deleted_bytes)})", human_size(r.wasted)])
        flags.echo(table(lines), nl=False)
        flags.echo(f"\nTotal {human_size(a.total)} in {len(a.layers)} layers; wasted {human_size(a.wasted)} "
                   f"({a.wasted} bytes, {a.wasted_pct:.1f}%)")
        for path, n in a.top_waste:
            flags.echo(f"  {human_size(n):>8}  {path}")
    if limit is not None:
        kind, value = limit
        over = a.wasted_pct > value if kind == "pct" else a.wasted > value
        if over:
            shown = f"{value:g}%" if kind == "pct" else f"{int(value)} bytes"
            flags.echo(f"tug: image {image} wastes {a.wasted} bytes ({a.wasted_pct:.1f}%), over --max-waste {shown}",
                       err=True)
            return 1
    return 0


@flags.command("check")
@flags.option("--repair", is_flag=True, help="Remove what is unreferenced or corrupt, re-create what can be.")
@flags.option("--quick", is_flag=True, help="Do not re-hash every blob.")
@store_options
@flags.pass_context
def system_check(ctx, repair, quick, root_, runroot_) -> int:
    """Verify the store: blobs, snapshots, images, tags, containers, leftovers of killed commands."""
    from tug.engine.check import check

    report = check(engine(ctx, root_, runroot_), repair=repair, verify=not quick)
    for p in report.problems:
        flags.echo(str(p))
    left = report.unrepaired
    fixed = len(report.problems) - len(left)
    flags.echo(f"{len(report.images_ok)} images complete; {len(report.problems)} problems found"
               + (f", {fixed} repaired" if repair else "") + ".")
    return 1 if left else 0


system.add_command(system_check, "check")
