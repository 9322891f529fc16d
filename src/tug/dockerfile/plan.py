"""The build plan: which stages to build for a target, what each is based on, and the variables each step sees.

    plan = build_plan(parse(text), build_args={"V": "2"}, target="app", target_platform=Platform("linux", "amd64"))
    for stage in plan.stages:                       # only the stages the target needs, in file order
        ev = plan.evaluator(stage, base_env=image_config_env)
        for instr in stage.instructions:
            step = ev.apply(instr)                  # the instruction with docker's expansion applied
            ev.run_env()                            # what a RUN at this point sees

ARG scoping (docker's): ARGs before the first FROM form the global scope, usable in FROM lines only; a stage sees
one only after redeclaring it (`ARG NAME`, which inherits the global value). `--build-arg` overrides defaults. The
automatic BUILDPLATFORM/BUILDOS/BUILDARCH/BUILDVARIANT/TARGETPLATFORM/TARGETOS/TARGETARCH/TARGETVARIANT/TARGETSTAGE
are in the global scope. ENV wins over ARG of the same name. ARG values reach RUN's environment but never the image
config. The proxy build-args (HTTP_PROXY and friends) reach RUN without being declared, and stay out of history.
"""

from __future__ import annotations

from tug.dockerfile import instructions as ins
from tug.dockerfile.commands import to_instruction
from tug.dockerfile.document import Dockerfile, StageSource
from tug.dockerfile.expand import ShellLex
from tug.dockerfile.lexer import DockerfileError
from tug.dockerfile.parser import parse_nodes
from tug.errors import Invalid
from tug.records import field, record

PROXY_ARGS = ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY", "ftp_proxy", "NO_PROXY",
              "no_proxy", "ALL_PROXY", "all_proxy")
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
DEFAULT_SHELL = ("/bin/sh", "-c")


@record(frozen=True)
class Platform:
    os: str = "linux"
    architecture: str = "amd64"
    variant: str = ""

    @classmethod
    def parse(cls, text: str) -> Platform:
        parts = text.split("/")
        if not 1 <= len(parts) <= 3 or not all(parts):
            raise Invalid(f"invalid platform: {text!r}")
        return cls(parts[0].lower(), parts[1].lower() if len(parts) > 1 else "amd64",
                   parts[2].lower() if len(parts) > 2 else "")

    def __str__(self) -> str:
        return "/".join(p for p in (self.os, self.architecture, self.variant) if p)


def automatic_args(build: Platform, target: Platform, stage: str) -> dict[str, str]:
    return {"BUILDPLATFORM": str(build), "BUILDOS": build.os, "BUILDOSVERSION": "", "BUILDARCH": build.architecture,
            "BUILDVARIANT": build.variant, "TARGETPLATFORM": str(target), "TARGETOS": target.os,
            "TARGETOSVERSION": "", "TARGETARCH": target.architecture, "TARGETVARIANT": target.variant,
            "TARGETSTAGE": stage or "default"}


@record(frozen=True)
class Base:
    """What a stage starts from: an image reference, `scratch`, or an earlier stage (by index)."""

    kind: str  # "image" | "scratch" | "stage"
    ref: str
    stage: int | None = None


@record
class PlannedStage:
    index: int
    name: str | None
    base: Base
    platform: str | None  # the expanded --platform of FROM, if any
    from_: ins.From
    instructions: list[ins.Instruction]
    depends_on: list[int] = field(default_factory=list)  # stages this one reads (base, COPY --from, RUN --mount)
    external_images: list[str] = field(default_factory=list)  # images named by COPY --from / RUN --mount from=

    @property
    def display_name(self) -> str:
        return self.name or f"stage-{self.index}"


@record
class BuildPlan:
    dockerfile: Dockerfile
    stages: list[PlannedStage]
    target: PlannedStage
    global_args: dict[str, str]
    build_args: dict[str, str]
    unused_build_args: list[str]

    def stage(self, ref: str | int) -> PlannedStage:
        for s in self.stages:
            if s.index == ref or (isinstance(ref, str) and s.name == ref.lower()):
                return s
        raise Invalid(f"stage {ref!r} is not part of this build")

    def evaluator(self, stage: PlannedStage, base_env: list[str] | tuple[str, ...] = (),
                  base_shell: list[str] | None = None) -> StageEvaluator:
        return StageEvaluator(self, stage, base_env, base_shell)


def _lex(df: Dockerfile) -> ShellLex:
    return ShellLex(df.escape)


def _expand(df: Dockerfile, line: int, text: str, env: dict[str, str]) -> str:
    try:
        return _lex(df).word(text, env)
    except Invalid as err:
        raise DockerfileError(df.filename, line, err.message) from None


def _global_args(df: Dockerfile, auto: dict[str, str], build_args: dict[str, str]) -> dict[str, str]:
    scope = {k: build_args.get(k, v) for k, v in auto.items()}
    for arg in df.meta_args:
        for spec in arg.args:
            if spec.name in build_args:
                scope[spec.name] = build_args[spec.name]
            elif spec.default is not None:
                scope[spec.name] = _expand(df, arg.line, spec.default, scope)
    return scope


def _stage_ref(df: Dockerfile, src: StageSource, value: str, what: str) -> int | None:
    """The index of the stage a `--from` names, None for an image; earlier stages only."""
    if _lex(df).word(value, {}) != value:
        raise Invalid(f"variable expansion is not supported for {what}, define a new stage with FROM using ARG from "
                      "global scope as a workaround")
    if value.isdecimal():
        index = int(value)
        if index >= len(df.stages):
            raise Invalid(f"invalid stage index {index}")
    else:
        found = df.stage_by_name(value)
        if found is None:
            return None
        index = found.index
    if index >= src.index:
        name = df.stages[index].name or str(index)
        raise Invalid(f'cannot copy from stage "{name}", it needs to be defined before current stage '
                      f'"{src.name or "stage-" + str(src.index)}"')
    return index


def _plan_stage(df: Dockerfile, src: StageSource, scope: dict[str, str]) -> PlannedStage:
    image = _expand(df, src.from_.line, src.from_.image, scope)
    if not image:
        raise DockerfileError(df.filename, src.from_.line, f"base name ({src.from_.image}) should not be blank")
    platform = None
    if src.from_.platform:
        platform = _expand(df, src.from_.line, src.from_.platform, scope)
        if not platform:
            raise DockerfileError(df.filename, src.from_.line,
                                  f"empty platform value from expression {src.from_.platform}")
    earlier = next((s for s in df.stages[: src.index] if s.name == image.lower()), None)
    if earlier is not None:
        base = Base("stage", image, earlier.index)
    elif image.lower() == "scratch":
        base = Base("scratch", "scratch")
    else:
        base = Base("image", image)
    stage = PlannedStage(src.index, src.name, base, platform, src.from_, list(src.instructions))
    if base.stage is not None:
        stage.depends_on.append(base.stage)
    for instr in src.instructions:
        refs: list[str] = []
        if isinstance(instr, ins.Copy) and instr.from_:
            refs.append(instr.from_)
        if isinstance(instr, ins.Run):
            refs += [m.from_ for m in instr.mounts if m.from_]
        for ref in refs:
            try:
                index = _stage_ref(df, src, ref, "--from")
            except Invalid as err:
                raise DockerfileError(df.filename, instr.line, err.message) from None
            if index is None:
                stage.external_images.append(ref)
            elif index not in stage.depends_on:
                stage.depends_on.append(index)
    return stage


def build_plan(df: Dockerfile, *, build_args: dict[str, str] | None = None, target: str | None = None,
               target_platform: Platform | None = None, build_platform: Platform | None = None) -> BuildPlan:
    """Resolve bases, dependencies and the global ARG scope; keep only the stages `target` needs."""
    build_args = dict(build_args or {})
    build_platform = build_platform or target_platform or Platform()
    target_platform = target_platform or build_platform
    if target:
        chosen = df.stage_by_name(target)
        if chosen is None:
            names = ", ".join(s.name for s in df.stages if s.name) or "none"
            raise Invalid(f'target stage "{target}" could not be found (stages: {names})')
    else:
        chosen = df.stages[-1]
    scope = _global_args(df, automatic_args(build_platform, target_platform, chosen.name or ""), build_args)
    planned = [_plan_stage(df, src, scope) for src in df.stages]
    needed: set[int] = set()
    todo = [chosen.index]
    while todo:
        i = todo.pop()
        if i not in needed:
            needed.add(i)
            todo.extend(planned[i].depends_on)
    stages = [s for s in planned if s.index in needed]
    declared = {spec.name for a in df.meta_args for spec in a.args}
    for s in stages:
        declared |= {spec.name for i in s.instructions if isinstance(i, ins.Arg) for spec in i.args}
    auto = set(automatic_args(build_platform, target_platform, ""))
    unused = sorted(k for k in build_args if k not in declared and k not in PROXY_ARGS and k not in auto)
    return BuildPlan(df, stages, planned[chosen.index], scope, build_args, unused)


def _env_dict(env: list[str] | tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in env:
        key, _, value = item.partition("=")
        out[key] = value
    return out


class StageEvaluator:
    """Walks one stage's instructions, applying expansion and tracking ENV, ARG and SHELL as docker does."""

    def __init__(self, plan: BuildPlan, stage: PlannedStage, base_env: list[str] | tuple[str, ...] = (),
                 base_shell: list[str] | None = None) -> None:
        self.plan = plan
        self.stage = stage
        self.df = plan.dockerfile
        self.env: dict[str, str] = _env_dict(base_env)  # the image config's Env
        self.args: dict[str, str | None] = {}  # ARGs declared in this stage, with their values
        self.shell: list[str] = list(base_shell or DEFAULT_SHELL)
        self.lex = ShellLex(self.df.escape)
        self.raw_lex = ShellLex("\\", skip_quotes=True)

    def expansion_env(self) -> dict[str, str]:
        """Variables an instruction's arguments see: declared ARGs with a value, then ENV (which wins)."""
        scope = {k: v for k, v in self.args.items() if v is not None}
        scope.update(self.env)
        return scope

    def config_env(self) -> list[str]:
        return [f"{k}={v}" for k, v in self.env.items()]

    def run_build_args(self) -> list[str]:
        """The ARG values a RUN gets that ENV does not override, sorted (docker's `|N K=V` history prefix)."""
        return sorted(f"{k}={v}" for k, v in self.args.items() if v is not None and k not in self.env)

    def run_env(self) -> list[str]:
        """The environment of a RUN at this point: config Env, ARG values, undeclared proxy build-args, PATH."""
        env = self.config_env() + self.run_build_args()
        names = {e.partition("=")[0] for e in env}
        env += [f"{k}={v}" for k, v in self.plan.build_args.items() if k in PROXY_ARGS and k not in names]
        if "PATH" not in names:
            env.insert(0, f"PATH={DEFAULT_PATH}")
        return env

    def _word(self, line: int, env: dict[str, str]):  # noqa: ANN202 - a closure
        def word(text: str) -> str:
            try:
                return self.lex.word(text, env)
            except Invalid as err:
                raise DockerfileError(self.df.filename, line, err.message) from None
        return word

    def apply(self, instr: ins.Instruction) -> ins.Instruction:
        """The instruction with its arguments expanded; updates ENV/ARG/SHELL state for the steps after it."""
        env = self.expansion_env()
        word = self._word(instr.line, env)
        if isinstance(instr, ins.Arg):
            return self._arg(instr)
        if isinstance(instr, ins.Expose):
            def words(text: str) -> list[str]:
                try:
                    return self.lex.words(text, env)
                except Invalid as err:
                    raise DockerfileError(self.df.filename, instr.line, err.message) from None
            return instr.expand_words(words)
        raw_lex = self.raw_lex

        def raw(text: str) -> str:
            try:
                return raw_lex.word(text, env)
            except Invalid as err:
                raise DockerfileError(self.df.filename, instr.line, err.message) from None
        try:
            out = instr.expand(word, raw)
        except DockerfileError:
            raise
        except Invalid as err:
            raise DockerfileError(self.df.filename, instr.line, err.message) from None
        if isinstance(out, ins.Env) and not isinstance(out, ins.Label):
            for pair in out.pairs:
                self.env[pair.key] = pair.value
        elif isinstance(out, ins.Shell):
            self.shell = list(out.shell)
        return out

    def _arg(self, instr: ins.Arg) -> ins.Arg:
        specs = []
        for spec in instr.args:  # each default sees the ARGs declared before it, even on the same line
            if spec.name in self.plan.build_args:
                value: str | None = self.plan.build_args[spec.name]
            elif spec.default is not None:
                value = self._word(instr.line, self.expansion_env())(spec.default)
            else:
                value = self.plan.global_args.get(spec.name)
            self.args[spec.name] = value
            specs.append(ins.ArgSpec(name=spec.name, default=value))
        return ins.Arg(args=specs, line=instr.line, end_line=instr.end_line, original=instr.original,
                       flags=list(instr.flags))


def parse_trigger(expression: str, filename: str = "Dockerfile", line: int = 0) -> ins.Instruction:
    """An ONBUILD trigger from a base image's config, as an instruction (reported at the FROM `line`)."""
    nodes, _ = parse_nodes(expression, filename)
    if len(nodes) != 1:
        raise DockerfileError(filename, line, "onbuild trigger should be a single expression")
    node = nodes[0]
    node.start = node.end = line
    return to_instruction(node, filename)
