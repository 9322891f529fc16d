"""A tiny command-line parser with runc's grammar (urfave/cli): options first, the first positional ends them.

`argparse` costs ~10 ms of imports on every container start; this costs nothing.
"""

from __future__ import annotations

from tug.errors import Invalid


class Opt:
    """One option: its names (`--bundle`, `-b`), where it goes, and whether it takes a value / repeats.
    (Plain classes here: `dataclasses` costs ~14 ms of imports.)"""

    __slots__ = ("names", "dest", "value", "repeat", "default")

    def __init__(self, names: tuple[str, ...], dest: str, value: bool = False, repeat: bool = False,
                 default: object = None) -> None:
        self.names, self.dest, self.value, self.repeat, self.default = names, dest, value, repeat, default


class Parsed:
    __slots__ = ("options", "positional")

    def __init__(self, options: dict[str, object]) -> None:
        self.options = options
        self.positional: list[str] = []


_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no"}


def parse(argv: list[str], opts: list[Opt], command: str = "") -> Parsed:
    by_name = {n: o for o in opts for n in o.names}
    out = Parsed({o.dest: ([] if o.repeat else (o.default if o.value else bool(o.default))) for o in opts})
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            out.positional.extend(argv[i + 1:])
            break
        if not arg.startswith("-") or arg == "-":
            out.positional.extend(argv[i:])
            break
        if not arg.startswith("--") and len(arg) > 2 and arg[:2] in by_name and by_name[arg[:2]].value:
            name, eq, inline = arg[:2], "=", arg[2:]  # -uroot, -eA=B
        else:
            name, eq, inline = arg.partition("=")
        opt = by_name.get(name)
        if opt is None:
            where = f"{command} " if command else ""
            raise Invalid(f"{where}flag provided but not defined: {name}")
        if opt.value:
            if eq:
                val = inline
            else:
                i += 1
                if i >= len(argv):
                    raise Invalid(f"flag needs an argument: {name}")
                val = argv[i]
            if opt.repeat:
                out.options[opt.dest].append(val)  # type: ignore[union-attr]
            else:
                out.options[opt.dest] = val
        else:
            if eq and inline.lower() not in _TRUE | _FALSE:
                raise Invalid(f"invalid boolean value {inline!r} for {name}")
            out.options[opt.dest] = not eq or inline.lower() in _TRUE
        i += 1
    return out
