"""`tug version`."""

from __future__ import annotations

import platform

import tug
from tug.cli import flags


@flags.command("version")
def version() -> int:
    """Show the tug version information."""
    flags.echo(f"Client: tug\n Version:    {tug.__version__}\n Python:     {platform.python_version()}\n"
               f" OS/Arch:    linux/{platform.machine()}\n Daemonless: true")
    return 0
