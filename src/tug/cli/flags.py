"""Docker's command-line grammar behind a small click-style API: commands, groups, options and arguments declared
with decorators, parsed the way docker's CLI (spf13/pflag) parses them.

Why not click: importing click costs 10 to 30 ms on every `tug` command (a fifth of a whole `tug run --rm`), and
its grammar is not docker's (`--rm=false`, `-t=false`, a value starting with '-'). argparse is no closer: it refuses
`-e -X`. What pflag does, and this does:

- `--name value`, `--name=value`, `-n value`, `-nvalue`, `-abc` (boolean shorthands together; the last one may
  take a value: `-it`, `-p8080:80`);
- a value is taken verbatim, even when it starts with '-';
- a boolean flag also takes `=true|false|1|0|t|f` (any case), and `--no-NAME` when declared as `--NAME/--no-NAME`;
- `--` ends the flags; a command that stops at its first argument (`run`, `exec`) hands the rest over verbatim;
- errors worded as docker words them (`unknown flag: --x`, `flag needs an argument: 'n' in -n`).

The declaration API is the subset of click's that tug uses (`command`, `group`, `option`, `argument`,
`pass_context`, `Choice`, `BOOL`, `UNPROCESSED`, `echo`, `prompt`, the exceptions), so verbs read as before.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # typing costs milliseconds to import
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

_TRUE = {"true", "1", "t"}
_FALSE = {"false", "0", "f"}


# --- errors -------------------------------------------------------------------------------------------------------


class ClickException(Exception):
    """An error for the user: one line on stderr, exit code 1 (125 for run-like verbs, decided by `tug.cli.main`)."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def format_message(self) -> str:
        return self.message

    def show(self) -> None:
        print(f"tug: {self.format_message()}", file=sys.stderr)


class _CommandLineError(ClickException):
    """An error in how a command was called: the message, then where its help is."""

    def __init__(self, message: str, ctx: Context | None = None) -> None:
        super().__init__(message)
        self.ctx = ctx

    def show(self) -> None:
        where = self.ctx.prog if self.ctx is not None else "tug"
        print(f"tug: {self.message}\nSee '{where} --help'.", file=sys.stderr)


class UsageError(_CommandLineError):
    """A flag error: docker's CLI exits 125 for these (decided by `tug.cli.main`)."""

    exit_code = 2


class BadParameter(UsageError):
    pass


class ArgumentError(_CommandLineError):
    """Wrong number of arguments, or an unknown verb: docker's CLI exits 1 for these (125 is for flag errors)."""


class Exit(Exception):  # noqa: N818 - click's name
    def __init__(self, code: int = 0) -> None:
        super().__init__(code)
        self.exit_code = code


class Abort(Exception):  # noqa: N818 - click's name
    pass


class exceptions:  # noqa: N801 - `click.exceptions.Exit` spelled as before
    Exit = Exit
    Abort = Abort
    ClickException = ClickException
    UsageError = UsageError
    ArgumentError = ArgumentError


# --- value types --------------------------------------------------------------------------------------------------


class Choice:
    def __init__(self, choices: list[str] | tuple[str, ...], case_sensitive: bool = True) -> None:
        self.choices = list(choices)
        self.case_sensitive = case_sensitive

    def __call__(self, value: str) -> str:
        if value in self.choices:
            return value
        if not self.case_sensitive:
            for c in self.choices:
                if c.lower() == value.lower():
                    return c
        raise ValueError(f"must be one of {', '.join(self.choices)}")


def _bool(value: str) -> bool:
    v = value.lower()
    if v in _TRUE or v in ("yes", "y", "on"):
        return True
    if v in _FALSE or v in ("no", "n", "off"):
        return False
    raise ValueError(f"strconv.ParseBool: parsing {value!r}: invalid syntax")


BOOL = _bool
UNPROCESSED = str


def _convert(kind: Any, value: str) -> Any:
    if kind is None or kind is str:
        return value
    if kind is int:  # Go's strconv.ParseInt, as docker's flags report it
        v = value.strip()
        digits = v[1:] if v[:1] in "+-" else v
        if not (digits.isascii() and digits.isdigit()) or v != value:
            raise ValueError(f'strconv.ParseInt: parsing "{value}": invalid syntax')
        return int(v)
    return kind(value)


# --- parameters ---------------------------------------------------------------------------------------------------


class Parameter:
    name: str
    multiple = False
    nargs = 1
    required = False
    default: Any = None
    type: Any = None

    def default_value(self) -> Any:
        if self.multiple or self.nargs == -1:
            return tuple(self.default or ())
        return self.default


class Option(Parameter):
    def __init__(self, decls: tuple[str, ...], is_flag: bool = False, multiple: bool = False, default: Any = None,
                 type: Any = None, required: bool = False, help: str = "", metavar: str | None = None,  # noqa: A002
                 hidden: bool = False, envvar: str | None = None, show_default: bool = False,
                 count: bool = False, flag_value: Any = None) -> None:
        self.opts: list[str] = []
        self.secondary_opts: list[str] = []
        name = None
        for d in decls:
            if "/" in d:
                on, off = d.split("/", 1)
                self.opts.append(on.strip())
                self.secondary_opts.append(off.strip())
            elif d.startswith("-"):
                self.opts.append(d)
            else:
                name = d
        if name is None:
            longs = [o for o in self.opts if o.startswith("--")]
            name = (longs[0] if longs else self.opts[0]).lstrip("-").replace("-", "_")
        self.name = name
        self.is_flag = is_flag or bool(self.secondary_opts) or count
        self.count = count
        self.multiple = multiple
        self.type = type
        self.required = required
        self.help = help
        self.metavar = metavar
        self.hidden = hidden
        self.envvar = envvar
        self.show_default = show_default
        self.flag_value = flag_value
        self.default = (0 if count else False) if self.is_flag and default is None else default

    @property
    def takes_value(self) -> bool:
        return not self.is_flag

    def label(self) -> str:
        return ", ".join(self.opts)


class Argument(Parameter):
    def __init__(self, name: str, nargs: int = 1, required: bool | None = None, type: Any = None,  # noqa: A002
                 default: Any = None, metavar: str | None = None) -> None:
        self.name = name
        self.nargs = nargs
        self.required = (nargs == 1 and default is None) if required is None else required
        self.type = type
        self.default = default
        self.metavar = metavar


def _attach(f: Callable[..., Any], param: Parameter) -> Callable[..., Any]:
    if isinstance(f, Command):
        f.params.insert(0, param)
    else:
        f.__dict__.setdefault("__flags_params__", []).insert(0, param)
    return f


def option(*decls: str, **kw: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return lambda f: _attach(f, Option(decls, **kw))


def argument(name: str, **kw: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return lambda f: _attach(f, Argument(name, **kw))


def pass_context(f: Callable[..., Any]) -> Callable[..., Any]:
    f.__dict__["__flags_pass_context__"] = True
    return f


# --- contexts and commands ----------------------------------------------------------------------------------------


class Context:
    def __init__(self, command: Command, info_name: str, parent: Context | None = None) -> None:
        self.command = command
        self.info_name = info_name
        self.parent = parent
        self.params: dict[str, Any] = {}
        self.obj: Any = parent.obj if parent is not None else None
        self.args: list[str] = []  # a group's: what follows the verb

    @property
    def command_path(self) -> str:
        parts = []
        c: Context | None = self
        while c is not None and c.parent is not None:
            parts.append(c.info_name)
            c = c.parent
        return " ".join(reversed(parts))

    @property
    def prog(self) -> str:
        """`tug VERB ...` as the user typed the command's name (`tug` for the root)."""
        return f"tug {self.command_path}" if self.command_path else "tug"

    def find_root(self) -> Context:
        c = self
        while c.parent is not None:
            c = c.parent
        return c


class Command:
    def __init__(self, name: str | None, callback: Callable[..., Any] | None = None,
                 params: list[Parameter] | None = None, help: str | None = None,  # noqa: A002
                 context_settings: dict[str, Any] | None = None, hidden: bool = False) -> None:
        self.name = name
        self.callback = callback
        self.params: list[Parameter] = list(params or [])
        self.help = help or ""
        settings = context_settings or {}
        self.interspersed = settings.get("allow_interspersed_args", True)
        self.ignore_unknown = settings.get("ignore_unknown_options", False)
        self.help_names = list(settings.get("help_option_names", ["-h", "--help"]))
        self.hidden = hidden

    # parsing

    def _index(self) -> dict[str, tuple[Option, bool]]:
        idx: dict[str, tuple[Option, bool]] = {}
        for p in self.params:
            if isinstance(p, Option):
                for o in p.opts:
                    idx[o] = (p, True)
                for o in p.secondary_opts:
                    idx[o] = (p, False)
        return idx

    def parse_args(self, ctx: Context, args: list[str]) -> list[str]:
        """Fill ctx.params; returns what is left for a group's subcommand (nothing for a plain command)."""
        idx = self._index()
        values: dict[str, Any] = {}
        positional: list[str] = []
        i = 0
        n = len(args)
        group = isinstance(self, Group)
        while i < n:
            a = args[i]
            if a == "--":
                positional.extend(args[i + 1:])
                break
            if len(a) > 1 and a.startswith("-"):
                if a in self.help_names:
                    print(self.get_help(ctx))
                    raise Exit(0)
                i = self._parse_flag(ctx, idx, args, i, values, positional)
                continue
            positional.append(a)
            if group or not self.interspersed:  # the verb, or a command that ends its flags at its first argument
                positional.extend(args[i + 1:])
                break
            i += 1
        rest = positional if group else self._bind_arguments(ctx, positional, values)
        for p in self.params:
            if p.name in values:
                continue
            if isinstance(p, Option):
                if p.envvar and p.envvar in _environ():
                    values[p.name] = _convert(p.type, _environ()[p.envvar])
                    continue
                if p.required:
                    raise UsageError(f'required flag(s) "{p.opts[-1].lstrip("-")}" not set', ctx)
            values[p.name] = p.default_value()
        ctx.params = values
        return rest

    def _parse_flag(self, ctx: Context, idx: dict[str, tuple[Option, bool]], args: list[str], i: int,
                    values: dict[str, Any], positional: list[str]) -> int:
        a = args[i]
        if a.startswith("--"):
            name, eq, inline = a.partition("=")
            found = idx.get(name)
            if found is None:
                if self.ignore_unknown:
                    positional.append(a)
                    return i + 1
                raise UsageError(f"unknown flag: {name}", ctx)
            opt, on = found
            if opt.is_flag:
                self._set_flag(ctx, opt, on, inline if eq else None, name, values)
                return i + 1
            if eq:
                self._set_value(ctx, opt, inline, name, values)
                return i + 1
            if i + 1 >= len(args):
                raise UsageError(f"flag needs an argument: {name}", ctx)
            self._set_value(ctx, opt, args[i + 1], name, values)
            return i + 2
        # shorthands: -abc, -nVALUE, -n VALUE, -n=VALUE, -t=false
        j = 1
        while j < len(a):
            ch = a[j]
            found = idx.get("-" + ch)
            if found is None:
                if self.ignore_unknown:
                    positional.append(a)
                    return i + 1
                raise UsageError(f"unknown shorthand flag: '{ch}' in {a}", ctx)
            opt, on = found
            tail = a[j + 1:]
            if opt.is_flag:
                if tail.startswith("="):
                    self._set_flag(ctx, opt, on, tail[1:], "-" + ch, values)
                    return i + 1
                self._set_flag(ctx, opt, on, None, "-" + ch, values)
                j += 1
                continue
            if tail:
                self._set_value(ctx, opt, tail[1:] if tail.startswith("=") else tail, "-" + ch, values)
                return i + 1
            if i + 1 >= len(args):
                raise UsageError(f"flag needs an argument: '{ch}' in {a}", ctx)
            self._set_value(ctx, opt, args[i + 1], "-" + ch, values)
            return i + 2
        return i + 1

    @staticmethod
    def _set_flag(ctx: Context, opt: Option, on: bool, text: str | None, name: str, values: dict[str, Any]) -> None:
        if opt.count:
            values[opt.name] = values.get(opt.name, 0) + 1
            return
        value = on
        if text is not None:
            try:
                value = _bool(text) if on else not _bool(text)
            except ValueError:
                raise UsageError(f'invalid argument "{text}" for "{name}" flag: strconv.ParseBool: parsing '
                                 f'"{text}": invalid syntax', ctx) from None
        if opt.flag_value is not None:
            value = opt.flag_value if value else opt.default
        values[opt.name] = value

    @staticmethod
    def _set_value(ctx: Context, opt: Option, text: str, name: str, values: dict[str, Any]) -> None:
        try:
            value = _convert(opt.type, text)
        except ValueError as e:
            raise BadParameter(f'invalid argument "{text}" for "{opt.label()}" flag: {e}', ctx) from None
        if opt.multiple:
            values[opt.name] = (*values.get(opt.name, ()), value)
        else:
            values[opt.name] = value

    def _count_error(self, ctx: Context) -> ArgumentError:
        """Docker's wording for a wrong number of arguments (`"docker rename" requires exactly 2 arguments.`)."""
        args = [p for p in self.params if isinstance(p, Argument)]
        low = sum(1 for p in args if p.required)
        high = None if any(p.nargs == -1 for p in args) else len(args)

        def n(k: int) -> str:
            return f"{k} argument" + ("" if k == 1 else "s")

        what = f'"tug {ctx.command_path}"'
        if high == 0:
            return ArgumentError(f"{what} accepts no arguments.", ctx)
        if high == low:
            return ArgumentError(f"{what} requires exactly {n(low)}.", ctx)
        if high is None:
            return ArgumentError(f"{what} requires at least {n(low)}.", ctx)
        if low == 0:
            return ArgumentError(f"{what} accepts at most {n(high)}.", ctx)
        return ArgumentError(f"{what} requires at least {low} and at most {n(high)}.", ctx)

    def _bind_arguments(self, ctx: Context, positional: list[str], values: dict[str, Any]) -> list[str]:
        args = [p for p in self.params if isinstance(p, Argument)]
        rest = list(positional)
        for k, p in enumerate(args):
            if p.nargs == -1:
                later = sum(1 for q in args[k + 1:] if q.nargs != -1)
                take = max(0, len(rest) - later)
                chunk, rest = rest[:take], rest[take:]
                if p.required and not chunk:
                    raise self._count_error(ctx)
                values[p.name] = tuple(_convert(p.type, v) for v in chunk)
            elif rest:
                try:
                    values[p.name] = _convert(p.type, rest.pop(0))
                except ValueError as e:
                    raise BadParameter(f"invalid {p.name}: {e}", ctx) from None
            elif p.required:
                raise self._count_error(ctx)
        if rest:
            raise self._count_error(ctx)
        return []

    # help

    def get_help(self, ctx: Context) -> str:
        argv = " ".join((p.metavar or p.name.upper()) + ("..." if p.nargs == -1 else "")
                        for p in self.params if isinstance(p, Argument))
        path = ctx.prog
        lines = [f"Usage: {path} [OPTIONS] {argv}".rstrip(), ""]
        if self.help:
            lines += [self.help.strip(), ""]
        opts = [p for p in self.params if isinstance(p, Option) and not p.hidden]
        if opts:
            lines.append("Options:")
            rows = []
            shorts = any(len(o) == 2 for q in opts for o in q.opts)
            for p in opts:
                names = ", ".join(p.opts + p.secondary_opts)
                if shorts and not any(len(o) == 2 for o in p.opts):
                    names = "    " + names  # long-only flags line up with the long names after `-x, `, as docker's
                if p.takes_value:
                    kind = "list" if p.multiple else "int" if p.type is int else "string"
                    names += " " + (p.metavar or kind)
                text = p.help
                if p.show_default and p.default not in (None, "", ()):
                    text += f" (default {p.default})"
                rows.append((names, text))
            width = min(max(len(r[0]) for r in rows) + 2, 34)
            lines += [f"  {r[0]:<{width}} {r[1]}".rstrip() for r in rows]
        return "\n".join(lines)

    # running

    def make_context(self, info_name: str, args: list[str], parent: Context | None = None) -> Context:
        ctx = Context(self, info_name, parent)
        ctx.args = self.parse_args(ctx, list(args))
        return ctx

    def invoke(self, ctx: Context) -> Any:
        if self.callback is None:
            return None
        if self.callback.__dict__.get("__flags_pass_context__"):
            return self.callback(ctx, **ctx.params)
        return self.callback(**ctx.params)

    def main(self, args: list[str], prog_name: str = "tug") -> Any:
        return self.invoke(self.make_context(prog_name, args))


class Group(Command):
    def __init__(self, name: str | None, callback: Callable[..., Any] | None = None,
                 params: list[Parameter] | None = None, help: str | None = None,  # noqa: A002
                 context_settings: dict[str, Any] | None = None, lazy: dict[str, str] | None = None,
                 hidden: bool = False) -> None:
        super().__init__(name, callback, params, help, context_settings, hidden)
        self.commands: dict[str, Command] = {}
        self.lazy = dict(lazy or {})

    def add_command(self, cmd: Command, name: str | None = None) -> None:
        self.commands[name or cmd.name or ""] = cmd

    def command(self, name: str | None = None, **kw: Any) -> Callable[[Callable[..., Any]], Command]:
        def deco(f: Callable[..., Any]) -> Command:
            cmd = command(name, **kw)(f)
            self.add_command(cmd)
            return cmd
        return deco

    def group(self, name: str | None = None, **kw: Any) -> Callable[[Callable[..., Any]], Group]:
        def deco(f: Callable[..., Any]) -> Group:
            g = group(name, **kw)(f)
            self.add_command(g)
            return g
        return deco

    def list_commands(self) -> list[str]:
        return sorted(set(self.commands) | set(self.lazy))

    def get_command(self, name: str) -> Command | None:
        if name in self.commands:
            return self.commands[name]
        if name in self.lazy:
            import importlib

            module, _, attr = self.lazy[name].partition(":")
            return getattr(importlib.import_module(module), attr)
        return None

    def get_help(self, ctx: Context) -> str:
        text = super().get_help(ctx).replace("[OPTIONS]", "[OPTIONS] COMMAND", 1)
        rows = [(n, self.get_command(n)) for n in self.list_commands()]
        width = max((len(n) for n, _ in rows), default=0) + 2
        listed = [f"  {n:<{width}} {(c.help or '').strip().splitlines()[0] if c and c.help else ''}".rstrip()
                  for n, c in rows if c is not None and not c.hidden]
        return text + "\n\nCommands:\n" + "\n".join(listed)

    def invoke(self, ctx: Context) -> Any:
        super().invoke(ctx)
        if not ctx.args:
            print(self.get_help(ctx))
            return 0
        name, rest = ctx.args[0], ctx.args[1:]
        cmd = self.get_command(name)
        if cmd is None:
            raise ArgumentError(f"'{name}' is not a {ctx.prog} command.", ctx)
        sub = cmd.make_context(name, rest, parent=ctx)
        return cmd.invoke(sub)


class _Lazy(Command):
    """A command whose definition lives in a module imported only when it runs."""

    def __init__(self, name: str, target: str, help: str = "") -> None:  # noqa: A002
        super().__init__(name, help=help)
        self.target = target

    def real(self) -> Command:
        import importlib

        module, _, attr = self.target.partition(":")
        return getattr(importlib.import_module(module), attr)

    def make_context(self, info_name: str, args: list[str], parent: Context | None = None) -> Context:
        return self.real().make_context(info_name, args, parent)

    def invoke(self, ctx: Context) -> Any:
        return ctx.command.invoke(ctx)


def lazy_command(name: str, target: str, help: str = "") -> Command:  # noqa: A002
    return _Lazy(name, target, help)


def _take(f: Callable[..., Any]) -> list[Parameter]:
    return list(f.__dict__.pop("__flags_params__", []))


def command(name: str | None = None, context_settings: dict[str, Any] | None = None, help: str | None = None,  # noqa: A002
            hidden: bool = False, cls: type[Command] | None = None, **kw: Any) -> Callable[[Callable[..., Any]], Any]:
    def deco(f: Callable[..., Any]) -> Command:
        return (cls or Command)(name or f.__name__.rstrip("_").replace("_", "-"), f, _take(f),
                                help if help is not None else (f.__doc__ or ""), context_settings, hidden=hidden,
                                **kw)
    return deco


def group(name: str | None = None, context_settings: dict[str, Any] | None = None, help: str | None = None,  # noqa: A002
          cls: type[Group] | None = None, hidden: bool = False, **kw: Any) -> Callable[[Callable[..., Any]], Any]:
    def deco(f: Callable[..., Any]) -> Group:
        return (cls or Group)(name or f.__name__.rstrip("_").replace("_", "-"), f, _take(f),
                              help if help is not None else (f.__doc__ or ""), context_settings, hidden=hidden, **kw)
    return deco


# --- output -------------------------------------------------------------------------------------------------------


def echo(message: Any = "", err: bool = False, nl: bool = True) -> None:
    stream = sys.stderr if err else sys.stdout
    text = "" if message is None else str(message)
    stream.write(text + ("\n" if nl else ""))
    stream.flush()


def prompt(text: str, hide_input: bool = False, default: str | None = None) -> str:
    if hide_input:
        import getpass

        value = getpass.getpass(f"{text}: ")
    else:
        sys.stdout.write(f"{text}: ")
        sys.stdout.flush()
        line = sys.stdin.readline()
        if not line:
            raise Abort()
        value = line.rstrip("\n")
    return value or (default or "")


def _environ() -> dict[str, str]:
    import os

    return dict(os.environ)
