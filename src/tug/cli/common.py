"""What every verb shares: the per-command `--root/--runroot` and building the Engine."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tug.cli import flags

if TYPE_CHECKING:
    from tug.engine.engine import Engine


def store_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """`--root`/`--runroot` accepted after the verb too (they override the group's)."""
    f = flags.option("--root", "root_", default=None, hidden=True, metavar="DIR")(f)
    return flags.option("--runroot", "runroot_", default=None, hidden=True, metavar="DIR")(f)


def engine(ctx: flags.Context, root: str | None = None, runroot: str | None = None) -> Engine:
    from tug.engine.engine import Engine

    obj = ctx.find_root().obj or {}
    return Engine.from_env(root or obj.get("root"), runroot or obj.get("runroot"))


def echo(text: str = "", err: bool = False) -> None:
    flags.echo(text, err=err)
