"""`tug stats [-a] [--no-stream] [--no-trunc] [--format FMT] [CONTAINER...]`: live resource use, docker's columns."""

from __future__ import annotations

import sys

from tug.cli import flags
from tug.cli.common import engine, store_options

DEFAULT_FORMAT = ("table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}"
                  "\t{{.PIDs}}")
HEADERS = {"CPUPERC": "CPU %", "MEM USAGE": "MEM USAGE / LIMIT", "MEM PERC": "MEM %", "NET IO": "NET I/O",
           "BLOCK IO": "BLOCK I/O"}


def render(rows: list[dict], fmt: str) -> str:
    from tug.cli.template import render_rows

    return render_rows(fmt, rows, HEADERS)


@flags.command("stats")
@flags.option("-a", "--all", "all_", is_flag=True, help="Show all containers (default shows just running)")
@flags.option("--no-stream", is_flag=True, help="Print one reading and exit")
@flags.option("--no-trunc", is_flag=True, help="Do not truncate output")
@flags.option("--format", "fmt", default=None, help="Go template, or 'table ...'")
@flags.argument("containers", nargs=-1)
@store_options
@flags.pass_context
def stats(ctx, all_, no_stream, no_trunc, fmt, containers, root_, runroot_) -> int:
    """Display a live stream of container(s) resource usage statistics."""
    from tug.engine import stats as estats

    eng = engine(ctx, root_, runroot_)
    fmt = fmt or DEFAULT_FORMAT
    if fmt == "table":
        fmt = DEFAULT_FORMAT
    rows, prev = estats.stats(eng, list(containers), all_=all_, interval=1.0 if no_stream else 0.5)
    if no_trunc:
        for r in rows:
            r["ID"] = r["Container"] = r["FullID"]
    if no_stream:
        flags.echo(render(rows, fmt), nl=False)
        return 0
    import time

    tty = sys.stdout.isatty()
    try:
        while True:
            if tty:
                flags.echo("\033[2J\033[H", nl=False)  # clear, home: redraw in place, as docker does
            flags.echo(render(rows, fmt), nl=False)
            sys.stdout.flush()
            time.sleep(1.0)
            rows, prev = estats.stats(eng, list(containers), all_=all_, previous=prev)
            if containers and all(r["PIDs"] == "--" for r in rows):
                flags.echo(render(rows, fmt), nl=False)
                return 0
    except KeyboardInterrupt:
        return 0
