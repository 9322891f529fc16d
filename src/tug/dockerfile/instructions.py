"""The typed Dockerfile instructions the build engine consumes.

Each instruction keeps where it came from (`line`, `end_line`), its text as written (`original`, continuations joined)
and its raw `--flags`; the parsed arguments are fields. Arguments are as written until `expand` is applied:
`expand(word_fn)` returns a copy with every argument docker expands passed through `word_fn` (ADD, COPY, ENV, LABEL,
USER, VOLUME, WORKDIR, STOPSIGNAL, RUN --mount values); RUN, CMD, ENTRYPOINT, SHELL, HEALTHCHECK and ONBUILD are left
alone (the shell of the container, or the later build, expands them). EXPOSE splits words, see `Expose.expand`. ARG
and FROM are expanded by the build plan, which knows the scoping rules.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar, Self

from tug import records
from tug.dockerfile.heredoc import Heredoc, parse_heredoc
from tug.dockerfile.mounts import Mount, parse_mount
from tug.records import field, record

Expander = Callable[[str], str]
WordsExpander = Callable[[str], list[str]]


@record(kw_only=True)
class Instruction:
    keyword: ClassVar[str] = ""
    line: int = 0
    end_line: int = 0
    original: str = ""
    flags: list[str] = field(default_factory=list)

    def expand(self, word: Expander, raw: Expander | None = None) -> Self:
        """A copy with docker's expansion applied (`raw` expands heredoc bodies, quotes untouched)."""
        return self

    def __str__(self) -> str:
        return self.original


@record(kw_only=True)
class KeyValue:
    key: str
    value: str
    legacy: bool = False  # written `KEY value` rather than `KEY=value`

    def __str__(self) -> str:
        return f"{self.key}={self.value}"


@record(kw_only=True)
class ArgSpec:
    name: str
    default: str | None = None

    def __str__(self) -> str:
        return self.name if self.default is None else f"{self.name}={self.default}"


@record(kw_only=True)
class SourceContent:
    """An inline file of COPY/ADD made from a heredoc: its name (the heredoc word), data, and whether to expand it."""

    path: str
    data: str
    expand: bool = True


@record(kw_only=True)
class From(Instruction):
    keyword: ClassVar[str] = "FROM"
    image: str
    name: str | None = None  # the stage name after AS, lower-cased
    platform: str | None = None


@record(kw_only=True)
class CommandLine(Instruction):
    """RUN, CMD and ENTRYPOINT: `command` is the exec-form list, or one string when `shell_form` is True."""

    command: list[str] = field(default_factory=list)
    shell_form: bool = True


@record(kw_only=True)
class Run(CommandLine):
    keyword: ClassVar[str] = "RUN"
    heredocs: list[Heredoc] = field(default_factory=list)
    mount_specs: list[str] = field(default_factory=list)
    mounts: list[Mount] = field(default_factory=list)
    network: str = "default"
    security: str = "sandbox"
    devices: list[str] = field(default_factory=list)

    def expand(self, word: Expander, raw: Expander | None = None) -> Self:
        return records.replace(self, mounts=[parse_mount(s, word) for s in self.mount_specs])

    def script(self) -> list[str]:
        """The command with heredocs applied as docker does: a lone heredoc becomes the script, several are
        appended after the line for the shell to read."""
        if not self.heredocs or len(self.command) != 1 or not self.shell_form:
            return list(self.command)
        if parse_heredoc(self.command[0]) is not None:
            return [self.heredocs[0].data()]
        text = self.command[0] + "".join("\n" + d.content + d.name for d in self.heredocs)
        return [text]


@record(kw_only=True)
class Cmd(CommandLine):
    keyword: ClassVar[str] = "CMD"


@record(kw_only=True)
class Entrypoint(CommandLine):
    keyword: ClassVar[str] = "ENTRYPOINT"


@record(kw_only=True)
class Shell(Instruction):
    keyword: ClassVar[str] = "SHELL"
    shell: list[str]


@record(kw_only=True)
class Env(Instruction):
    keyword: ClassVar[str] = "ENV"
    pairs: list[KeyValue]

    def expand(self, word: Expander, raw: Expander | None = None) -> Self:
        pairs = [KeyValue(key=word(p.key), value=word(p.value), legacy=p.legacy) for p in self.pairs]
        return records.replace(self, pairs=pairs)


@record(kw_only=True)
class Label(Env):
    keyword: ClassVar[str] = "LABEL"


@record(kw_only=True)
class Arg(Instruction):
    keyword: ClassVar[str] = "ARG"
    args: list[ArgSpec]


@record(kw_only=True)
class _Files(Instruction):
    sources: list[str]
    dest: str
    contents: list[SourceContent] = field(default_factory=list)
    chown: str = ""
    chmod: str = ""
    link: bool = False
    excludes: list[str] = field(default_factory=list)
    json_form: bool = False

    def _expand_files(self, word: Expander, raw: Expander | None) -> dict[str, object]:
        contents = [
            records.replace(c, data=raw(c.data)) if (c.expand and raw is not None) else c for c in self.contents
        ]
        return {"sources": [word(s) for s in self.sources], "dest": word(self.dest), "contents": contents,
                "chown": word(self.chown), "chmod": word(self.chmod), "excludes": [word(e) for e in self.excludes]}


@record(kw_only=True)
class Copy(_Files):
    keyword: ClassVar[str] = "COPY"
    from_: str | None = None
    parents: bool = False

    def expand(self, word: Expander, raw: Expander | None = None) -> Self:
        return records.replace(self, **self._expand_files(word, raw))  # type: ignore[arg-type]


@record(kw_only=True)
class Add(_Files):
    keyword: ClassVar[str] = "ADD"
    checksum: str = ""
    keep_git_dir: bool | None = None
    unpack: bool | None = None

    def expand(self, word: Expander, raw: Expander | None = None) -> Self:
        changes = self._expand_files(word, raw)
        return records.replace(self, checksum=word(self.checksum), **changes)  # type: ignore[arg-type]


@record(kw_only=True)
class Workdir(Instruction):
    keyword: ClassVar[str] = "WORKDIR"
    path: str

    def expand(self, word: Expander, raw: Expander | None = None) -> Self:
        return records.replace(self, path=word(self.path))


@record(kw_only=True)
class User(Instruction):
    keyword: ClassVar[str] = "USER"
    user: str

    def expand(self, word: Expander, raw: Expander | None = None) -> Self:
        return records.replace(self, user=word(self.user))


@record(kw_only=True)
class Expose(Instruction):
    keyword: ClassVar[str] = "EXPOSE"
    ports: list[str]

    def expand_words(self, words: WordsExpander) -> Self:
        """EXPOSE is the one instruction whose words may split: `EXPOSE $PORTS` with PORTS="80 443" gives two."""
        return records.replace(self, ports=[p for w in self.ports for p in words(w)])


@record(kw_only=True)
class Volume(Instruction):
    keyword: ClassVar[str] = "VOLUME"
    volumes: list[str]
    json_form: bool = False

    def expand(self, word: Expander, raw: Expander | None = None) -> Self:
        return records.replace(self, volumes=[word(v) for v in self.volumes])


@record(kw_only=True)
class StopSignal(Instruction):
    keyword: ClassVar[str] = "STOPSIGNAL"
    signal: str

    def expand(self, word: Expander, raw: Expander | None = None) -> Self:
        return records.replace(self, signal=word(self.signal))


@record(kw_only=True)
class Healthcheck(Instruction):
    """`test` is ["NONE"], ["CMD", arg...] or ["CMD-SHELL", command]; durations are nanoseconds (0 = inherit)."""

    keyword: ClassVar[str] = "HEALTHCHECK"
    test: list[str]
    interval: int = 0
    timeout: int = 0
    start_period: int = 0
    start_interval: int = 0
    retries: int = 0

    def config(self) -> dict[str, object]:
        """The image config's Healthcheck object (zero fields left out, as docker writes it)."""
        out: dict[str, object] = {"Test": list(self.test)}
        for key, value in (("Interval", self.interval), ("Timeout", self.timeout),
                           ("StartPeriod", self.start_period), ("StartInterval", self.start_interval),
                           ("Retries", self.retries)):
            if value:
                out[key] = value
        return out


@record(kw_only=True)
class Onbuild(Instruction):
    keyword: ClassVar[str] = "ONBUILD"
    expression: str  # the trigger as stored in the image config's OnBuild list
    trigger: Instruction


@record(kw_only=True)
class Maintainer(Instruction):
    keyword: ClassVar[str] = "MAINTAINER"
    maintainer: str


BY_KEYWORD: dict[str, type[Instruction]] = {
    cls.keyword: cls
    for cls in (From, Run, Cmd, Entrypoint, Shell, Env, Label, Arg, Copy, Add, Workdir, User, Expose, Volume,
                StopSignal, Healthcheck, Onbuild, Maintainer)
}
