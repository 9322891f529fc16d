"""From syntax nodes to typed instructions, with docker's argument checks and messages."""

from __future__ import annotations

import difflib
import re

from tug.dockerfile import instructions as ins
from tug.dockerfile.flags import BOOL, STRING, STRINGS, FlagValues, parse_duration, parse_flags
from tug.dockerfile.heredoc import parse_heredoc
from tug.dockerfile.lexer import DockerfileError
from tug.dockerfile.mounts import parse_mount
from tug.dockerfile.parser import Node
from tug.errors import Invalid

_STAGE_NAME = re.compile(r"^[a-z][a-z0-9-_.]*$")
_ONBUILD_PREFIX = re.compile(r"(?i)^\s*ONBUILD\s*")
NETWORK_MODES = ("default", "none", "host")
SECURITY_MODES = ("sandbox", "insecure")


def _at_least_one(node: Node, name: str) -> None:
    if not node.args:
        raise Invalid(f"{name} requires at least one argument")


def _exactly_one(node: Node, name: str) -> None:
    if len(node.args) != 1:
        raise Invalid(f"{name} requires exactly one argument")


def _no_flags(node: Node) -> None:
    parse_flags(node.flags, {})


def _common(node: Node) -> dict[str, object]:
    return {"line": node.start, "end_line": node.end, "original": node.original.strip(), "flags": list(node.flags)}


def _command_line(node: Node) -> tuple[list[str], bool]:
    if node.json:
        return list(node.args), False
    return ([" ".join(node.args)] if node.args else []), True


def _pairs(node: Node, name: str) -> list[ins.KeyValue]:
    _at_least_one(node, name)
    out = []
    for i in range(0, len(node.args) - 2, 3):
        key, value, sep = node.args[i : i + 3]
        if not key:
            raise Invalid(f"{name} names can not be blank")
        out.append(ins.KeyValue(key=key, value=value, legacy=sep == ""))
    return out


def _files(node: Node, name: str, flags: FlagValues) -> dict[str, object]:
    if len(node.args) < 2:
        raise Invalid(f"{name} requires at least two arguments, but only one was provided. "
                      "Destination could not be determined")
    dest = node.args[-1]
    if parse_heredoc(dest) is not None:
        raise Invalid(f"{name} cannot accept a heredoc as a destination")
    bodies = {d.name: d for d in node.heredocs}
    sources: list[str] = []
    contents: list[ins.SourceContent] = []
    for src in node.args[:-1]:
        doc = parse_heredoc(src)
        if doc is None:
            sources.append(src)
            continue
        body = bodies.get(doc.name)
        data = body.data() if body is not None else ""
        contents.append(ins.SourceContent(path=doc.name, data=data, expand=doc.expand))
    return {"sources": sources, "dest": dest, "contents": contents, "chown": flags.str("chown"),
            "chmod": flags.str("chmod"), "link": flags.bool("link"), "excludes": flags.list("exclude"),
            "json_form": node.json}


def _from(node: Node) -> ins.From:
    flags = parse_flags(node.flags, {"platform": (STRING, "")})
    args = node.args
    name = None
    if len(args) == 3 and args[1].lower() == "as":
        name = args[2].lower()
        if not _STAGE_NAME.match(name):
            raise Invalid(f'invalid name for build stage: "{args[2]}", name can\'t start with a number or contain '
                          "symbols")
    elif len(args) != 1:
        raise Invalid("FROM requires either one or three arguments")
    return ins.From(image=args[0], name=name, platform=flags.str("platform") or None, **_common(node))


def _run(node: Node) -> ins.Run:
    flags = parse_flags(node.flags, {"mount": (STRINGS, []), "network": (STRING, "default"),
                                     "security": (STRING, "sandbox"), "device": (STRINGS, [])})
    network = flags.str("network")
    if network not in NETWORK_MODES:
        raise Invalid(f'invalid network mode "{network}"')
    security = flags.str("security")
    if security not in SECURITY_MODES:
        raise Invalid(f'security mode "{security}" is not valid (try sandbox or insecure)')
    specs = flags.list("mount")
    command, shell_form = _command_line(node)
    return ins.Run(command=command, shell_form=shell_form, heredocs=list(node.heredocs), mount_specs=specs,
                   mounts=[parse_mount(s) for s in specs], network=network, security=security,
                   devices=flags.list("device"), **_common(node))


def _healthcheck(node: Node) -> ins.Healthcheck:
    _at_least_one(node, "HEALTHCHECK")
    kind = node.args[0].upper()
    rest = node.args[1:]
    if kind == "NONE":
        if rest:
            raise Invalid("HEALTHCHECK NONE takes no arguments")
        return ins.Healthcheck(test=["NONE"], **_common(node))
    names = ("interval", "timeout", "start-period", "start-interval", "retries")
    flags = parse_flags(node.flags, {n: (STRING, "") for n in names})
    if kind != "CMD":
        raise Invalid(f'Unknown type "{kind}" in HEALTHCHECK (try CMD)')
    cmd = list(rest) if node.json else ([" ".join(rest)] if rest else [])
    if not cmd:
        raise Invalid("Missing command after HEALTHCHECK CMD")
    durations = {}
    for n in names[:4]:
        text = flags.str(n)
        value = parse_duration(text) if text else 0
        if value and value < 1_000_000:
            raise Invalid(f'Interval "{n}" cannot be less than 1ms')
        durations[n.replace("-", "_")] = value
    retries = 0
    if flags.str("retries"):
        try:
            retries = int(flags.str("retries"), 10)
        except ValueError:
            raise Invalid(f'strconv.ParseInt: parsing "{flags.str("retries")}": invalid syntax') from None
        if retries < 0:
            raise Invalid(f"--retries cannot be negative ({retries})")
    test = ["CMD", *cmd] if node.json else ["CMD-SHELL", *cmd]
    return ins.Healthcheck(test=test, retries=retries, **durations, **_common(node))  # type: ignore[arg-type]


def _onbuild(node: Node, filename: str) -> ins.Onbuild:
    _at_least_one(node, "ONBUILD")
    _no_flags(node)
    trigger = node.args[0].strip().upper()
    if trigger == "ONBUILD":
        raise Invalid("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed")
    if trigger in ("MAINTAINER", "FROM"):
        raise Invalid(f"{trigger} isn't allowed as an ONBUILD trigger")
    expression = _ONBUILD_PREFIX.sub("", node.original, count=1)
    for doc in node.heredocs:
        expression += "\n" + doc.content + doc.name
    assert node.child is not None
    child = node.child
    child.start, child.end, child.heredocs = node.start, node.end, node.heredocs
    return ins.Onbuild(expression=expression, trigger=to_instruction(child, filename), **_common(node))


def _build(node: Node, filename: str) -> ins.Instruction:  # noqa: C901 - one branch per instruction
    cmd = node.command
    common = _common(node)
    if cmd == "from":
        return _from(node)
    if cmd == "run":
        return _run(node)
    if cmd in ("cmd", "entrypoint"):
        _no_flags(node)
        command, shell_form = _command_line(node)
        cls = ins.Cmd if cmd == "cmd" else ins.Entrypoint
        return cls(command=command, shell_form=shell_form, **common)
    if cmd == "shell":
        _no_flags(node)
        if not node.args:
            raise Invalid("SHELL requires at least one argument")
        if not node.json:
            raise Invalid("SHELL requires the arguments to be in JSON form")
        return ins.Shell(shell=list(node.args), **common)
    if cmd in ("env", "label"):
        _no_flags(node)
        name = cmd.upper()
        cls = ins.Env if cmd == "env" else ins.Label
        return cls(pairs=_pairs(node, name), **common)
    if cmd == "arg":
        _at_least_one(node, "ARG")
        args = []
        for word in node.args:
            key, eq, value = word.partition("=")
            if eq and not key:
                raise Invalid("ARG names can not be blank")
            args.append(ins.ArgSpec(name=key, default=value if eq else None))
        return ins.Arg(args=args, **common)
    if cmd == "copy":
        flags = parse_flags(node.flags, {"chown": (STRING, ""), "from": (STRING, ""), "chmod": (STRING, ""),
                                         "link": (BOOL, False), "exclude": (STRINGS, []), "parents": (BOOL, False)})
        return ins.Copy(from_=flags.str("from") or None, parents=flags.bool("parents"),
                        **_files(node, "COPY", flags), **common)  # type: ignore[arg-type]
    if cmd == "add":
        flags = parse_flags(node.flags, {"chown": (STRING, ""), "chmod": (STRING, ""), "link": (BOOL, False),
                                         "keep-git-dir": (BOOL, False), "checksum": (STRING, ""),
                                         "unpack": (BOOL, False), "exclude": (STRINGS, [])})
        return ins.Add(checksum=flags.str("checksum"), keep_git_dir=flags.opt_bool("keep-git-dir"),
                       unpack=flags.opt_bool("unpack"), **_files(node, "ADD", flags), **common)  # type: ignore[arg-type]
    if cmd in ("workdir", "user", "maintainer"):
        if cmd == "maintainer":
            _exactly_one(node, "MAINTAINER")
        _no_flags(node)
        _exactly_one(node, cmd.upper())
        if cmd == "workdir":
            return ins.Workdir(path=node.args[0], **common)
        if cmd == "user":
            return ins.User(user=node.args[0], **common)
        return ins.Maintainer(maintainer=node.args[0], **common)
    if cmd == "stopsignal":
        _exactly_one(node, "STOPSIGNAL")
        return ins.StopSignal(signal=node.args[0], **common)
    if cmd == "expose":
        _at_least_one(node, "EXPOSE")
        _no_flags(node)
        return ins.Expose(ports=sorted(node.args), **common)
    if cmd == "volume":
        _at_least_one(node, "VOLUME")
        _no_flags(node)
        volumes = [v.strip() for v in node.args]
        if any(not v for v in volumes):
            raise Invalid("VOLUME specified can not be an empty string")
        return ins.Volume(volumes=volumes, json_form=node.json, **common)
    if cmd == "healthcheck":
        return _healthcheck(node)
    if cmd == "onbuild":
        return _onbuild(node, filename)
    hint = difflib.get_close_matches(node.keyword.upper(), list(ins.BY_KEYWORD), n=1)
    suffix = f" (did you mean {hint[0].lower()}?)" if hint else ""
    raise Invalid(f"unknown instruction: {node.keyword}{suffix}")


def to_instruction(node: Node, filename: str = "Dockerfile") -> ins.Instruction:
    """The typed instruction for one node. Raises DockerfileError naming the file and the node's first line."""
    try:
        return _build(node, filename)
    except DockerfileError:
        raise
    except Invalid as err:
        raise DockerfileError(filename, node.start, err.message) from None
