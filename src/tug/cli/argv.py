"""Docker accepts `--rm=true`, `-t=false`, `--detach=1` for boolean flags; click does not. Normalise first."""

from __future__ import annotations

import click

_TRUE = {"true", "1", "t", "yes"}
_FALSE = {"false", "0", "f", "no"}


def option_names(command: click.Command) -> tuple[set[str], set[str]]:
    """(boolean flag names, names of options that take a value) of a click command."""
    flags: set[str] = set()
    values: set[str] = set()
    for p in command.params:
        if isinstance(p, click.Option):
            (flags if p.is_flag else values).update(p.opts + p.secondary_opts)
    return flags, values


def normalise_bools(args: list[str], flags: set[str], values: set[str]) -> list[str]:
    """Rewrite `--flag=true` to `--flag` and drop `--flag=false`, up to the first positional argument."""
    out: list[str] = []
    i = 0
    while i < len(args):
        a = args[i]
        if a == "--" or not a.startswith("-") or a == "-":
            out.extend(args[i:])
            break
        if "=" in a:
            name, _, val = a.partition("=")
            if name in flags:
                v = val.lower()
                if v in _TRUE:
                    out.append(name)
                    i += 1
                    continue
                if v in _FALSE:
                    negated = "--no-" + name[2:]
                    if negated in flags:  # a flag that defaults to true (`--pause=false`)
                        out.append(negated)
                    i += 1
                    continue
        out.append(a)
        if a in values and i + 1 < len(args):
            out.append(args[i + 1])
            i += 1
        i += 1
    return out
