"""`tug logs`: a container's json-file log, as docker prints it."""

from __future__ import annotations

from tug.cli import flags
from tug.cli.common import engine, store_options


def _attrs(attrs: dict[str, str]) -> str:
    from urllib.parse import quote_plus

    return ",".join(f"{quote_plus(k)}={quote_plus(str(v))}" for k, v in sorted(attrs.items()))


@flags.command("logs")
@flags.option("-f", "--follow", is_flag=True, help="Follow log output")
@flags.option("-n", "--tail", default="all", help='Number of lines to show from the end of the logs (default "all")')
@flags.option("-t", "--timestamps", is_flag=True, help="Show timestamps")
@flags.option("--since", help="Show logs since timestamp (e.g. 2013-01-02T13:23:37Z) or relative (e.g. 42m)")
@flags.option("--until", help="Show logs before a timestamp (e.g. 2013-01-02T13:23:37Z) or relative (e.g. 42m)")
@flags.option("--details", is_flag=True, help="Show extra details provided to logs")
@flags.argument("name")
@store_options
@flags.pass_context
def logs(ctx, follow, tail, timestamps, since, until, details, name, root_, runroot_) -> int:
    """Fetch the logs of a container."""
    import sys

    from tug.engine import containers, lifecycle
    from tug.engine import logs as elogs
    from tug.errors import Invalid

    eng = engine(ctx, root_, runroot_)
    ctr = containers.find(eng, name)
    if tail == "all":
        n = None
    elif tail.lstrip("-").isdigit():
        n = int(tail) if int(tail) >= 0 else None
    else:
        raise Invalid(f'invalid value for "tail": {tail}')
    lifecycle.refresh(eng, ctr)

    def running() -> bool:
        try:
            c = containers.find(eng, ctr.id)
        except Exception:  # noqa: BLE001 - removed while following
            return False
        lifecycle.refresh(eng, c)
        return c.status in lifecycle.ACTIVE

    path = elogs.log_path(str(eng.container_dir(ctr.id)), ctr.id)
    entries = elogs.read(path, tail=n, since=elogs.parse_since(since) if since else None,
                         until=elogs.parse_since(until) if until else None,
                         follow=follow and ctr.status in lifecycle.ACTIVE, running=running)
    out, err = sys.stdout.buffer, sys.stderr.buffer
    for e in entries:
        text = e.get("log", "")
        if details:  # docker's: the entry's attributes (k=v,... query-escaped, sorted) and a space; tug records none
            text = _attrs(e.get("attrs") or {}) + " " + text
        if timestamps:
            text = f"{e.get('time', '')} {text}"
        stream = err if e.get("stream") == "stderr" else out
        stream.write(text.encode())
        if follow:
            stream.flush()
    out.flush()
    err.flush()
    return 0
