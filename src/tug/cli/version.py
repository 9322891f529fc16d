"""`tug version`."""

from __future__ import annotations

import platform

import tug
from tug.cli import flags

_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386"}


def document() -> dict[str, dict[str, object]]:
    """What `tug version` reports, under docker's field names (`{{.Client.Version}}`); there is no server."""
    return {"Client": {"Platform": {"Name": "tug"}, "Version": tug.__version__,
                       "PythonVersion": platform.python_version(), "Os": "linux",
                       "Arch": _ARCH.get(platform.machine(), platform.machine()), "Daemonless": True}}


@flags.command("version")
@flags.option("-f", "--format", "fmt", help="Format the output using the given Go template")
def version(fmt: str | None) -> int:
    """Show the tug version information."""
    if fmt:
        from tug.cli.template import render

        flags.echo(render(fmt, document()))
        return 0
    c = document()["Client"]
    flags.echo(f"Client: tug\n Version:    {c['Version']}\n Python:     {c['PythonVersion']}\n"
               f" OS/Arch:    linux/{c['Arch']}\n Daemonless: true")
    return 0
