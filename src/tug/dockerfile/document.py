"""A parsed Dockerfile: directives, typed instructions, and the stages they form.

    df = parse(text, "Dockerfile")
    df.meta_args      # the ARG instructions before the first FROM
    df.stages         # [StageSource(index, from_, instructions)]
"""

from __future__ import annotations

from tug.dockerfile import instructions as ins
from tug.dockerfile.commands import to_instruction
from tug.dockerfile.lexer import DockerfileError
from tug.dockerfile.parser import parse_nodes
from tug.records import field, record


@record
class StageSource:
    """One FROM and the instructions up to the next FROM."""

    index: int
    from_: ins.From
    instructions: list[ins.Instruction] = field(default_factory=list)

    @property
    def name(self) -> str | None:
        return self.from_.name


@record
class Dockerfile:
    filename: str
    escape: str
    directives: dict[str, str]
    instructions: list[ins.Instruction]
    meta_args: list[ins.Arg]
    stages: list[StageSource]
    warnings: list[str] = field(default_factory=list)

    @property
    def syntax(self) -> str | None:
        return self.directives.get("syntax")

    def stage_by_name(self, name: str) -> StageSource | None:
        for stage in self.stages:
            if stage.name is not None and stage.name == name.lower():
                return stage
        return None


def parse(text: str | bytes, filename: str = "Dockerfile") -> Dockerfile:
    """Parse a whole Dockerfile. Raises DockerfileError (an Invalid) like `Dockerfile:7: unknown instruction: FRM`."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            text = text.decode("utf-8", errors="surrogateescape")
    if not text.strip("\ufeff"):
        raise DockerfileError(filename, 1, "the Dockerfile cannot be empty")
    nodes, lexer = parse_nodes(text, filename)
    typed = [to_instruction(node, filename) for node in nodes]
    meta: list[ins.Arg] = []
    stages: list[StageSource] = []
    for instr in typed:
        if isinstance(instr, ins.From):
            stages.append(StageSource(len(stages), instr))
        elif not stages:
            if not isinstance(instr, ins.Arg):
                raise DockerfileError(filename, instr.line, "no build stage in current context "
                                      "(only ARG may come before the first FROM)")
            meta.append(instr)
        else:
            stages[-1].instructions.append(instr)
    if not stages:
        raise DockerfileError(filename, typed[-1].line, "dockerfile contains no stages to build")
    return Dockerfile(filename, lexer.escape, dict(lexer.directives), typed, meta, stages, list(lexer.warnings))
