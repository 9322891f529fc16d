"""Image verbs: `images`, `import`, `tag`, `rmi`, and the `image` group."""

from __future__ import annotations

import json
import sys

from tug.cli import flags
from tug.cli.common import engine, store_options
from tug.cli.format import ago, human_size, short_id, table


@flags.command("images")
@flags.option("-a", "--all", "all_", is_flag=True, help="Show all images (tug has no intermediate images)")
@flags.option("-q", "--quiet", is_flag=True, help="Only show image IDs")
@flags.option("--no-trunc", is_flag=True, help="Don't truncate output")
@flags.option("--digests", is_flag=True, help="Show digests")
@flags.option("--format", "fmt", help="Format output using a Go template")
@flags.option("-f", "--filter", "filters", multiple=True,
              help="Filter output: dangling=true|false, label=K[=V], before=IMAGE, since=IMAGE, reference=PATTERN")
@flags.argument("repository", required=False)
@store_options
@flags.pass_context
def images(ctx, all_, quiet, no_trunc, digests, fmt, filters, repository, root_, runroot_) -> int:
    """List images."""
    from tug.engine import image_filter
    from tug.engine import images as eimages
    from tug.oci import reference

    wanted = image_filter.parse(filters)
    eng = engine(ctx, root_, runroot_)
    rows = []
    seen_ids = []
    for img in image_filter.select(eng, eimages.list_images(eng), wanted):
        repo_digests = dict(eimages.repo_digests_of(eng, img))
        iid = img.id if no_trunc else short_id(img.id)
        tags = [reference.parse(t) for t in img.tags] or [None]
        for ref in tags:
            repo = ref.familiar_name if ref else "<none>"
            tag = ref.tag if ref and ref.tag else "<none>"
            if repository and ref and repository not in (ref.familiar_name, ref.name, f"{ref.familiar_name}:{tag}"):
                continue
            if repository and not ref:
                continue
            digest = repo_digests.get(ref.name, "<none>") if ref else "<none>"
            rows.append({"Repository": repo, "Tag": tag, "ID": iid, "Digest": digest,
                         "CreatedSince": ago(img.created), "CreatedAt": img.created, "Size": human_size(img.size)})
            seen_ids.append(iid)
    if quiet:
        for iid in dict.fromkeys(seen_ids):
            flags.echo(iid)
        return 0
    if fmt:
        from tug.cli.template import render_rows

        flags.echo(render_rows(fmt, rows), nl=False)
        return 0
    cols = ["Repository", "Tag"] + (["Digest"] if digests else []) + ["ID", "CreatedSince", "Size"]
    header = ["REPOSITORY", "TAG"] + (["DIGEST"] if digests else []) + ["IMAGE ID", "CREATED", "SIZE"]
    flags.echo(table([header] + [[r[c] for c in cols] for r in rows]), nl=False)
    return 0


@flags.command("import")
@flags.option("-c", "--change", multiple=True, help="Apply Dockerfile instruction to the created image")
@flags.option("-m", "--message", default="", help="Set commit message for imported image")
@flags.option("--platform", help="Set platform of the imported image (os/arch[/variant])")
@flags.argument("source")
@flags.argument("reference", required=False)
@store_options
@flags.pass_context
def import_(ctx, change, message, platform, source, reference, root_, runroot_) -> int:
    """Import the contents from a tarball to create a filesystem image."""
    from tug.engine.importer import import_tarball
    from tug.errors import NotFound

    eng = engine(ctx, root_, runroot_)
    tags = [reference] if reference else []
    if source == "-":
        image_id = import_tarball(eng, sys.stdin.buffer, tags, list(change), message, "-", platform)
    else:
        try:
            f = open(source, "rb")  # noqa: SIM115 - closed below
        except OSError as e:
            raise NotFound(f"open {source}: {e.strerror}") from None
        with f:
            image_id = import_tarball(eng, f, tags, list(change), message, source, platform)
    flags.echo(image_id)
    return 0


@flags.command("tag")
@flags.argument("source")
@flags.argument("target")
@store_options
@flags.pass_context
def tag(ctx, source, target, root_, runroot_) -> int:
    """Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE."""
    from tug.engine import images as eimages

    eimages.tag(engine(ctx, root_, runroot_), source, target)
    return 0


@flags.command("rmi")
@flags.option("-f", "--force", is_flag=True, help="Force removal of the image")
@flags.option("--no-prune", is_flag=True, help="Do not delete untagged parents (tug images have none)")
@flags.argument("names", nargs=-1, required=True)
@store_options
@flags.pass_context
def rmi(ctx, force, no_prune, names, root_, runroot_) -> int:
    """Remove one or more images."""
    from tug.engine import images as eimages
    from tug.errors import TugError

    eng = engine(ctx, root_, runroot_)
    code = 0
    for name in names:
        try:
            for line in eimages.remove(eng, name, force=force):
                flags.echo(line)
        except TugError as e:
            flags.echo(f"Error response from daemon: {e.one_line()}", err=True)
            code = 1
    return code


@flags.command("inspect")
@flags.option("-f", "--format", "fmt", help="Format output using a Go template")
@flags.argument("names", nargs=-1, required=True)
@store_options
@flags.pass_context
def image_inspect(ctx, fmt, names, root_, runroot_) -> int:
    """Display detailed information on one or more images."""
    from tug.engine import images as eimages

    eng = engine(ctx, root_, runroot_)
    docs = [eimages.inspect(eng, n) for n in names]
    from tug.cli.inspect import emit

    return emit(docs, fmt)


@flags.group("image")
def image() -> None:
    """Manage images."""


image.add_command(images, "ls")
image.add_command(images, "list")
image.add_command(import_, "import")
image.add_command(tag, "tag")
image.add_command(rmi, "rm")
image.add_command(image_inspect, "inspect")


def _layer_verbs() -> None:
    """`image prune|tree|anatomy|history|save|load` live with the layer and store verbs."""
    from tug.cli import layers, system

    image.add_command(system.image_prune, "prune")
    image.add_command(layers.history, "history")
    image.add_command(layers.save, "save")
    image.add_command(layers.load, "load")
    image.add_command(system.image_tree, "tree")
    image.add_command(system.image_anatomy, "anatomy")


_layer_verbs()


def dump(doc: object) -> str:
    return json.dumps(doc, indent=4)
