"""What every verb shares: the per-command `--root/--runroot` and building the Engine."""

from __future__ import annotations

from collections.abc import Callable

from tug.cli import flags

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from tug.engine.engine import Engine


def store_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """`--root`/`--runroot` accepted after the verb too (they override the group's)."""
    f = flags.option("--root", "root_", default=None, hidden=True, metavar="DIR")(f)
    return flags.option("--runroot", "runroot_", default=None, hidden=True, metavar="DIR")(f)


def roots(ctx: flags.Context, root: str | None = None, runroot: str | None = None) -> tuple[str, str]:
    """(store root, runroot): the command's options, else the global ones, else the environment and defaults."""
    from tug.engine.roots import store_paths

    obj = ctx.find_root().obj or {}
    return store_paths(root or obj.get("root"), runroot or obj.get("runroot"))


def engine(ctx: flags.Context, root: str | None = None, runroot: str | None = None) -> Engine:
    from tug.engine.engine import Engine

    return Engine.from_env(*roots(ctx, root, runroot))


def echo(text: str = "", err: bool = False) -> None:
    flags.echo(text, err=err)


def confirm(warning: str, force: bool) -> bool:
    """Docker's prune prompt: the warning, then `[y/N]` read from stdin; -f skips it."""
    if force:
        return True
    import sys

    flags.echo(warning)
    flags.echo("Are you sure you want to continue? [y/N] ", nl=False)
    answer = sys.stdin.readline().strip().lower() if sys.stdin and not sys.stdin.closed else ""
    return answer in ("y", "yes")


def no_filters(filters: tuple[str, ...], verb: str) -> None:
    """Prune filters tug does not implement are refused, never ignored."""
    if filters:
        from tug.errors import Invalid

        raise Invalid(f"--filter {filters[0]}: {verb} takes no filters in tug")
