"""The `created_by` text docker's classic builder writes into image history for each instruction.

Metadata-only steps are recorded as the shell running a no-op comment: `/bin/sh -c #(nop)  CMD ["sh"]` (two spaces:
docker passes "#(nop) " and the comment as two arguments). WORKDIR, COPY and ADD use one argument, hence one space.
RUN records the command itself, prefixed with `|N K=V ...` when build args are in effect. Pass instructions as the
StageEvaluator returns them (expanded).
"""

from __future__ import annotations

from collections.abc import Sequence

from tug.dockerfile import instructions as ins
from tug.dockerfile.expand import go_quote
from tug.dockerfile.flags import format_duration

DEFAULT_SHELL = ("/bin/sh", "-c")


def go_list_q(items: Sequence[str]) -> str:
    """Go's `%q` of a []string: `["a" "b"]`."""
    return "[" + " ".join(go_quote(i) for i in items) + "]"


def go_list_v(items: Sequence[str]) -> str:
    """Go's `%v` of a []string: `[a b]`."""
    return "[" + " ".join(items) + "]"


def go_char_q(n: int) -> str:
    """Go's `%q` of an int: a quoted character literal, e.g. 3 -> `'\\x03'`."""
    ch = chr(n)
    if ch == "'":
        return "'\\''"
    quoted = go_quote(ch)[1:-1]
    if quoted == '\\"':
        quoted = '"'
    return f"'{quoted}'"


def command_with_shell(command: Sequence[str], shell_form: bool, shell: Sequence[str]) -> list[str]:
    return [*shell, " ".join(command)] if shell_form else list(command)


def healthcheck_text(hc: ins.Healthcheck) -> str:
    """Go's `%q` of docker's *HealthConfig."""
    durations = " ".join(go_quote(format_duration(d))
                         for d in (hc.interval, hc.timeout, hc.start_period, hc.start_interval))
    return f"&{{{go_list_q(hc.test)} {durations} {go_char_q(hc.retries)}}}"


def created_by(instr: ins.Instruction, *, shell: Sequence[str] = DEFAULT_SHELL, build_args: Sequence[str] = (),
               source: str = "", workdir: str | None = None) -> str | None:
    """History text for one step; None for FROM (which adds no history). `shell` is the SHELL in effect, `build_args`
    the `K=V` ARG values a RUN receives (StageEvaluator.run_build_args), `source` the content summary docker prints
    for COPY/ADD (`file:<hex>`, `dir:<hex>`, `multi:<hex>`), `workdir` the resolved absolute working directory."""
    shell = list(shell)

    def nop(comment: str) -> str:
        return " ".join([*shell, "#(nop) ", comment])

    def nop1(comment: str) -> str:
        return " ".join([*shell, "#(nop) " + comment])

    if isinstance(instr, ins.From):
        return None
    if isinstance(instr, ins.Run):
        cmd = command_with_shell(instr.script(), instr.shell_form, shell)
        if build_args:
            cmd = [f"|{len(build_args)}", *sorted(build_args), *cmd]
        return " ".join(cmd)
    if isinstance(instr, ins.Cmd | ins.Entrypoint):
        return nop(f"{instr.keyword} {go_list_q(command_with_shell(instr.command, instr.shell_form, shell))}")
    if isinstance(instr, ins.Env):  # also LABEL
        return nop(" ".join([instr.keyword, *(str(p) for p in instr.pairs)]))
    if isinstance(instr, ins.Copy | ins.Add):
        return nop1(f"{instr.keyword} {source} in {instr.dest} ")
    if isinstance(instr, ins.Workdir):
        return nop1(f"WORKDIR {workdir or instr.path}")
    if isinstance(instr, ins.Arg):
        return nop("ARG " + " ".join(str(a) for a in instr.args))
    if isinstance(instr, ins.Expose):
        return nop("EXPOSE " + " ".join(instr.ports))
    if isinstance(instr, ins.Volume):
        return nop("VOLUME " + go_list_v(instr.volumes))
    if isinstance(instr, ins.Shell):
        return nop("SHELL " + go_list_v(instr.shell))
    if isinstance(instr, ins.Healthcheck):
        return nop("HEALTHCHECK " + healthcheck_text(instr))
    if isinstance(instr, ins.User):
        return nop("USER " + instr.user)
    if isinstance(instr, ins.StopSignal):
        return nop("STOPSIGNAL " + instr.signal)
    if isinstance(instr, ins.Maintainer):
        return nop("MAINTAINER " + instr.maintainer)
    if isinstance(instr, ins.Onbuild):
        return nop("ONBUILD " + instr.expression)
    raise TypeError(f"no history text for {type(instr).__name__}")
