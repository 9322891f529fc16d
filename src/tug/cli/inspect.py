"""`tug inspect`: images or containers, as docker's JSON (or a Go template with -f)."""

from __future__ import annotations

import json
from typing import Any

from tug.cli import flags
from tug.cli.common import engine, store_options


def emit(docs: list[dict[str, Any]], fmt: str | None) -> int:
    if fmt:
        from tug.cli.template import render

        for d in docs:
            flags.echo(render(fmt, d))
    else:
        flags.echo(json.dumps(docs, indent=4))
    return 0


@flags.command("inspect")
@flags.option("-f", "--format", "fmt", help="Format output using a Go template")
@flags.option("--type", "kind", type=flags.Choice(["container", "image"]),
              help="Return JSON for the specified type (container or image)")
@flags.option("-s", "--size", is_flag=True, help="Display total file sizes if the type is container")
@flags.argument("names", nargs=-1, required=True)
@store_options
@flags.pass_context
def inspect(ctx, fmt, kind, size, names, root_, runroot_) -> int:
    """Return low-level information on containers or images."""
    from tug.engine import images as eimages
    from tug.engine import inspect as einspect
    from tug.errors import NotFound, TugError

    eng = engine(ctx, root_, runroot_)
    docs = []
    code = 0
    for n in names:
        try:
            if kind != "image":
                try:
                    doc = einspect.container(eng, n)
                    if size:
                        from tug.engine.containers import find
                        from tug.engine.ctrsize import sizes

                        doc["SizeRw"], doc["SizeRootFs"] = sizes(eng, find(eng, doc["Id"]))
                    docs.append(doc)
                    continue
                except NotFound:
                    if kind == "container":
                        raise
            docs.append(eimages.inspect(eng, n))
        except TugError:
            flags.echo(f"Error: No such object: {n}", err=True)
            code = 1
    emit(docs, fmt)
    return code
