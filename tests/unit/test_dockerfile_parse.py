"""Dockerfile grammar: directives, comments, continuations, JSON vs shell forms, flags, heredocs, and errors."""

from __future__ import annotations

import pytest

from tug.dockerfile import instructions as ins
from tug.dockerfile.document import parse
from tug.dockerfile.lexer import DockerfileError


def summary(i: ins.Instruction) -> tuple:  # noqa: C901 - one line per instruction kind
    if isinstance(i, ins.From):
        return ("FROM", i.image, i.name, i.platform)
    if isinstance(i, ins.CommandLine):
        return (i.keyword, i.command, i.shell_form)
    if isinstance(i, ins.Env):
        return (i.keyword, [(p.key, p.value, p.legacy) for p in i.pairs])
    if isinstance(i, ins.Arg):
        return ("ARG", [(a.name, a.default) for a in i.args])
    if isinstance(i, ins.Copy | ins.Add):
        return (i.keyword, i.sources, i.dest)
    if isinstance(i, ins.Workdir):
        return ("WORKDIR", i.path)
    if isinstance(i, ins.User):
        return ("USER", i.user)
    if isinstance(i, ins.StopSignal):
        return ("STOPSIGNAL", i.signal)
    if isinstance(i, ins.Maintainer):
        return ("MAINTAINER", i.maintainer)
    if isinstance(i, ins.Expose):
        return ("EXPOSE", i.ports)
    if isinstance(i, ins.Volume):
        return ("VOLUME", i.volumes)
    if isinstance(i, ins.Shell):
        return ("SHELL", i.shell)
    if isinstance(i, ins.Healthcheck):
        return ("HEALTHCHECK", i.test)
    if isinstance(i, ins.Onbuild):
        return ("ONBUILD", summary(i.trigger))
    raise AssertionError(i)


def body(text: str) -> list[tuple]:
    return [summary(i) for i in parse(text).instructions]


SH = True
EXEC = False

# (name, Dockerfile text, expected summaries of all instructions)
CASES = [
    ("basic", "FROM busybox\nRUN echo hi\n", [("FROM", "busybox", None, None), ("RUN", ["echo hi"], SH)]),
    ("keywords are case-insensitive", "from busybox AS Build\nrun echo\n",
     [("FROM", "busybox", "build", None), ("RUN", ["echo"], SH)]),
    ("platform flag", "FROM --platform=$BUILDPLATFORM golang:1 as b\n",
     [("FROM", "golang:1", "b", "$BUILDPLATFORM")]),
    ("tabs separate", "FROM\tubuntu:14.04\nCOPY\t.\t/go/src\nADD\t\t[ \"vimrc\", \"/tmp\" ]\n",
     [("FROM", "ubuntu:14.04", None, None), ("COPY", ["."], "/go/src"), ("ADD", ["vimrc"], "/tmp")]),
    ("copy json with spaces", 'FROM x\nCOPY [ "test file", "/tmp" ]\nADD [ "test file", "/tmp/test file" ]\n',
     [("FROM", "x", None, None), ("COPY", ["test file"], "/tmp"), ("ADD", ["test file"], "/tmp/test file")]),
    ("copy several sources", "FROM x\nCOPY a b c /d/\n", [("FROM", "x", None, None), ("COPY", ["a", "b", "c"], "/d/")]),
    ("continuation indent", "FROM x\nRUN echo hello\\\n  world\\\n  goodnight  \\\n  moon\\\n  light\\\nning\n",
     [("FROM", "x", None, None), ("RUN", ["echo hello  world  goodnight    moon  lightning"], SH)]),
    ("continuation trailing space after escape", "FROM x\nRUN echo hello  \\  \nworld\n",
     [("FROM", "x", None, None), ("RUN", ["echo hello  world"], SH)]),
    ("empty continuation lines", "FROM x\nRUN echo hi \\\n \\\n world \\\n\\\n good\\\n\\\nnight\n",
     [("FROM", "x", None, None), ("RUN", ["echo hi   world  goodnight"], SH)]),
    ("comments and blank lines inside continuation",
     "FROM x\nRUN echo hello \\\n# this is a comment\n\n# another\n\nthis is more\n",
     [("FROM", "x", None, None), ("RUN", ["echo hello this is more"], SH)]),
    ("comment with trailing escape does not continue", "FROM x\n# RUN \\\nRUN [\"ls\"]\n",
     [("FROM", "x", None, None), ("RUN", ["ls"], EXEC)]),
    ("continuation at eof", "FROM alpine\n\nRUN something \\",
     [("FROM", "alpine", None, None), ("RUN", ["something"], SH)]),
    ("escaped escape does not continue", "FROM x\nENV C trailing\\\\backslash\\\\\nENV D next\n",
     [("FROM", "x", None, None), ("ENV", [("C", "trailing\\\\backslash\\\\", True)]), ("ENV", [("D", "next", True)])]),
    ("escape directive backtick", "# escape=`\nFROM x\nRUN dir c:\\ `\n  && echo\n",
     [("FROM", "x", None, None), ("RUN", ["dir c:\\   && echo"], SH)]),
    ("escape directive after comment is ignored", "# comment\n# escape=`\nFROM image\nENV GOPATH \\\n\\go",
     [("FROM", "image", None, None), ("ENV", [("GOPATH", "\\go", True)])]),
    ("escape with syntax", "# syntax = docker/dockerfile\n# escape = `\n\nFROM `\n    image\n",
     [("FROM", "image", None, None)]),
    ("directive spelled with spaces", "#escape = `\n\nFROM image\nENV GOPATH `\n\\go",
     [("FROM", "image", None, None), ("ENV", [("GOPATH", "\\go", True)])]),
    ("check directive ignored", "# check=skip=all\nFROM x\n", [("FROM", "x", None, None)]),
    ("byte order mark", "\ufeffFROM x\n", [("FROM", "x", None, None)]),
    ("crlf line endings", "FROM x\r\nRUN a \\\r\n b\r\n", [("FROM", "x", None, None), ("RUN", ["a  b"], SH)]),
    ("leading whitespace", "   FROM x\n\t RUN y\n", [("FROM", "x", None, None), ("RUN", ["y"], SH)]),
    ("env forms", 'FROM x\nENV name value\nENV name=value name2=value2\nENV name="value value1"\n'
     "ENV name=value\\ value2\nENV a b c\n",
     [("FROM", "x", None, None), ("ENV", [("name", "value", True)]),
      ("ENV", [("name", "value", False), ("name2", "value2", False)]),
      ("ENV", [("name", '"value value1"', False)]), ("ENV", [("name", "value\\ value2", False)]),
      ("ENV", [("a", "b c", True)])]),
    ("env multi-line", 'FROM x\nENV name=value \\\n    name1=value1 \\\n    name2="value2a \\\n  value2b"\n',
     [("FROM", "x", None, None),
      ("ENV", [("name", "value", False), ("name1", "value1", False), ("name2", '"value2a   value2b"', False)])]),
    ("env quotes kept for the expander", "FROM x\nENV name='a\\'b''\nENV name=\"''\"\n",
     [("FROM", "x", None, None), ("ENV", [("name", "'a\\'b''", False)]), ("ENV", [("name", "\"''\"", False)])]),
    ("label legacy and new", 'FROM x\nLABEL maintainer James "j@example.com"\nLABEL a=b "c d"="e"\n',
     [("FROM", "x", None, None), ("LABEL", [("maintainer", 'James "j@example.com"', True)]),
      ("LABEL", [("a", "b", False), ('"c d"', '"e"', False)])]),
    ("args", 'ARG foo bar=baz\nFROM ubuntu\nARG abc="123 456" def\n',
     [("ARG", [("foo", None), ("bar", "baz")]), ("FROM", "ubuntu", None, None),
      ("ARG", [("abc", '"123 456"'), ("def", None)])]),
    ("arg empty default", "FROM x\nARG A= B\n", [("FROM", "x", None, None), ("ARG", [("A", ""), ("B", None)])]),
    ("json forms", 'FROM x\nCMD []\nCMD [""]\nCMD [ "a", "b" ]\nCMD\t[\t"a",\t"b"\t]\t\n',
     [("FROM", "x", None, None), ("CMD", [], EXEC), ("CMD", [""], EXEC), ("CMD", ["a", "b"], EXEC),
      ("CMD", ["a", "b"], EXEC)]),
    ("json escapes", 'FROM x\nCMD ["\\" \\\\ \\/ \\n \\u0041"]\n',
     [("FROM", "x", None, None), ("CMD", ['" \\ / \n A'], EXEC)]),
    ("invalid json falls back to shell", "FROM x\nCMD ['echo','single']\nCMD [\"echo\", \"unterminated\"\n",
     [("FROM", "x", None, None), ("CMD", ["['echo','single']"], SH), ("CMD", ['["echo", "unterminated"'], SH)]),
    ("json inside a string", "FROM x\nCMD '[\"echo\", \"x\"]'\n",
     [("FROM", "x", None, None), ("CMD", ["'[\"echo\", \"x\"]'"], SH)]),
    ("entrypoint and shell", 'FROM x\nENTRYPOINT [ "/usr/bin/redis-server" ]\nSHELL ["/bin/bash", "-c"]\n'
     "ENTRYPOINT exec top -b\n",
     [("FROM", "x", None, None), ("ENTRYPOINT", ["/usr/bin/redis-server"], EXEC), ("SHELL", ["/bin/bash", "-c"]),
      ("ENTRYPOINT", ["exec top -b"], SH)]),
    ("run keeps escapes for the shell", "FROM x\nRUN apt-get \\update && \\\n  apt-get \\\"install znc -y\n",
     [("FROM", "x", None, None), ("RUN", ['apt-get \\update &&   apt-get \\"install znc -y'], SH)]),
    ("expose volume user workdir", "FROM x\nEXPOSE 9000 5000 6000\nVOLUME [\"/a\", \"/b\"]\nVOLUME /c /d\n"
     "USER docker:root\nWORKDIR /test\nSTOPSIGNAL SIGKILL\nMAINTAINER Me <me@x>\n",
     [("FROM", "x", None, None), ("EXPOSE", ["5000", "6000", "9000"]), ("VOLUME", ["/a", "/b"]),
      ("VOLUME", ["/c", "/d"]), ("USER", "docker:root"), ("WORKDIR", "/test"), ("STOPSIGNAL", "SIGKILL"),
      ("MAINTAINER", "Me <me@x>")]),
    ("onbuild", 'FROM x\nONBUILD RUN ["echo", "test"]\nONBUILD COPY . /\nonbuild add a b\n',
     [("FROM", "x", None, None), ("ONBUILD", ("RUN", ["echo", "test"], EXEC)), ("ONBUILD", ("COPY", ["."], "/")),
      ("ONBUILD", ("ADD", ["a"], "b"))]),
    ("healthcheck", "FROM x\nHEALTHCHECK NONE\nHEALTHCHECK --interval=5s --timeout=3s --retries=3 \\\n"
     "  CMD /app/check.sh --quiet\nHEALTHCHECK --timeout=3s CMD [\"foo\"]\nHEALTHCHECK   CMD   a b\n",
     [("FROM", "x", None, None), ("HEALTHCHECK", ["NONE"]), ("HEALTHCHECK", ["CMD-SHELL", "/app/check.sh --quiet"]),
      ("HEALTHCHECK", ["CMD", "foo"]), ("HEALTHCHECK", ["CMD-SHELL", "a b"])]),
    ("flags end at --", "FROM scratch\nCOPY --chown=me -- foo /tmp/\nCOPY -- --weird /tmp/\n",
     [("FROM", "scratch", None, None), ("COPY", ["foo"], "/tmp/"), ("COPY", ["--weird"], "/tmp/")]),
]


@pytest.mark.parametrize(("text", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_parse(text: str, expected: list[tuple]) -> None:
    assert body(text) == expected


def test_lines_and_original_text() -> None:
    df = parse("# c\nFROM x\n\nRUN a \\\n  b\n# x\nCMD [\"c\"]\n")
    run, cmd = df.stages[0].instructions
    assert (run.line, run.end_line, run.original) == (4, 5, "RUN a   b")
    assert (cmd.line, cmd.end_line) == (7, 7)


def test_flags_are_typed() -> None:
    df = parse("FROM x\nCOPY --from=build --chown=1:2 --chmod=755 --link --exclude=*.md --exclude=.git a /b\n"
               "ADD --checksum=sha256:abc --keep-git-dir=true --unpack=false https://x/y.tgz /z\n"
               "RUN --network=none --security=insecure --mount=type=bind,source=/a,target=/b,rw "
               "--mount=type=tmpfs,target=/t,size=64m true\n")
    copy, add, run = df.stages[0].instructions
    assert isinstance(copy, ins.Copy) and isinstance(add, ins.Add) and isinstance(run, ins.Run)
    assert (copy.from_, copy.chown, copy.chmod, copy.link, copy.excludes) == ("build", "1:2", "755", True,
                                                                               ["*.md", ".git"])
    assert (add.checksum, add.keep_git_dir, add.unpack) == ("sha256:abc", True, False)
    assert (run.network, run.security) == ("none", "insecure")
    assert [(m.type, m.source, m.target, m.readonly, m.size) for m in run.mounts] == [
        ("bind", "/a", "/b", False, 0), ("tmpfs", "", "/t", False, 64 << 20)]


def test_healthcheck_durations() -> None:
    df = parse("FROM x\nHEALTHCHECK --interval=1m30s --timeout=500ms --start-period=2s --start-interval=1s "
               "--retries=4 CMD true\n")
    (hc,) = df.stages[0].instructions
    assert isinstance(hc, ins.Healthcheck)
    assert hc.config() == {"Test": ["CMD-SHELL", "true"], "Interval": 90_000_000_000, "Timeout": 500_000_000,
                           "StartPeriod": 2_000_000_000, "StartInterval": 1_000_000_000, "Retries": 4}


HEREDOC_TEXT = """FROM alpine
RUN <<EMPTY
EMPTY
RUN 3<<EMPTY2
EMPTY2
RUN "<<NOHEREDOC"
RUN <<INDENT
\tfoo
\tbar
INDENT
RUN <<-UNINDENT
\tbaz
\tquux
\tUNINDENT
RUN <<-'NOEXPAND'
\tdon't expand $NAME
NOEXPAND
RUN <<COMMENT
# internal comment
echo foo bar # trailing comment
COMMENT
RUN --mount=type=cache,target=/foo <<MOUNT
echo hello
MOUNT
COPY <<FILE1 <<FILE2 /dest
content 1
FILE1
content 2
FILE2
COPY <<X <<Y /dest
Y
X
X
Y
RUN <<COMPLEX python3
print('hello world')
COMPLEX
RUN <<eo'f'
echo foo
eof
RUN <<eo\\'f
echo foo
eo'f
RUN <<'one two'
echo bar
one two
RUN <<$EOF
$EOF
RUN <<  EOF  > foo
EOF
RUN ["<<EOF"]
ONBUILD RUN <<EOT
echo trigger
EOT
"""

# (name, content, expand, chomp, fd) per heredoc of each instruction after FROM
HEREDOC_EXPECTED = [
    [("EMPTY", "", True, False, 0)],
    [("EMPTY2", "", True, False, 3)],
    [],
    [("INDENT", "\tfoo\n\tbar\n", True, False, 0)],
    [("UNINDENT", "\tbaz\n\tquux\n", True, True, 0)],
    [("NOEXPAND", "\tdon't expand $NAME\n", False, True, 0)],
    [("COMMENT", "# internal comment\necho foo bar # trailing comment\n", True, False, 0)],
    [("MOUNT", "echo hello\n", True, False, 0)],
    [("FILE1", "content 1\n", True, False, 0), ("FILE2", "content 2\n", True, False, 0)],
    [("X", "Y\n", True, False, 0), ("Y", "X\n", True, False, 0)],
    [("COMPLEX", "print('hello world')\n", True, False, 0)],
    [("eof", "echo foo\n", False, False, 0)],
    [("eo'f", "echo foo\n", True, False, 0)],
    [("one two", "echo bar\n", False, False, 0)],
    [("$EOF", "", True, False, 0)],
    [("EOF", "", True, False, 0)],
    [],
    [("EOT", "echo trigger\n", True, False, 0)],
]


@pytest.mark.parametrize("index", range(len(HEREDOC_EXPECTED)))
def test_heredocs(index: int) -> None:
    instr = parse(HEREDOC_TEXT).stages[0].instructions[index]
    if isinstance(instr, ins.Onbuild):
        instr = instr.trigger
    docs = instr.heredocs if isinstance(instr, ins.Run) else []
    if isinstance(instr, ins.Copy):
        got = [(c.path, c.data, c.expand) for c in instr.contents]
        assert got == [(n, c, e) for n, c, e, _, _ in HEREDOC_EXPECTED[index]]
        return
    assert [(d.name, d.content, d.expand, d.chomp, d.fd) for d in docs] == HEREDOC_EXPECTED[index]


def test_heredoc_script_and_chomp() -> None:
    df = parse("FROM x\nRUN <<-EOF\n\techo a\n\techo b\n\tEOF\nRUN cat <<A <<B\none\nA\ntwo\nB\n")
    single, double = df.stages[0].instructions
    assert isinstance(single, ins.Run) and isinstance(double, ins.Run)
    assert single.script() == ["echo a\necho b\n"]
    assert double.script() == ["cat <<A <<B\none\nA\ntwo\nB"]


def test_onbuild_expression_keeps_heredoc() -> None:
    (onb,) = parse("FROM x\nONBUILD RUN <<EOT\necho t\nEOT\n").stages[0].instructions
    assert isinstance(onb, ins.Onbuild)
    assert onb.expression == "RUN <<EOT\necho t\nEOT"


def test_line_numbers_after_heredoc() -> None:
    df = parse("FROM x\nRUN <<EOF\na\nb\nEOF\nRUN c\n")
    first, second = df.stages[0].instructions
    assert (first.line, first.end_line, second.line) == (2, 5, 6)


# (Dockerfile text, expected error message)
ERRORS = [
    ("", "Dockerfile:1: the Dockerfile cannot be empty"),
    ("# Hello\n# only comments\n\n", "Dockerfile:3: file with no instructions"),
    ("FROM busybox\n\nENV PATH\n", "Dockerfile:3: ENV must have two arguments"),
    ("FROM x\nENV =value\n", "Dockerfile:2: ENV names can not be blank"),
    ("FROM x\nLABEL a=b c\n", "Dockerfile:2: Syntax error - can't find = in \"c\""),
    ('FROM x\nCMD [ "echo", [ "nested json" ] ]\n', "Dockerfile:2: when using JSON array syntax, arrays must be"),
    ("FROM x\n\n\n\n\n\nFRM y\n", "Dockerfile:7: unknown instruction: FRM (did you mean from?)"),
    ("FROM x\nRUN <<EOF\necho\n", "Dockerfile:2: unterminated heredoc EOF"),
    ("RUN x\nFROM y\n", "Dockerfile:1: no build stage in current context"),
    ("ARG A=1\n", "Dockerfile:1: dockerfile contains no stages to build"),
    ("FROM a b\n", "Dockerfile:1: FROM requires either one or three arguments"),
    ("FROM a AS 1x\n", "Dockerfile:1: invalid name for build stage: \"1x\""),
    ("FROM --plat=x a\n", "Dockerfile:1: unknown flag: --plat"),
    ("FROM x\nCOPY --from=a --from=b s d\n", "Dockerfile:2: duplicate flag specified: --from"),
    ("FROM x\nCOPY --from s d\n", "Dockerfile:2: missing a value on flag: --from"),
    ("FROM x\nCOPY --link=maybe s d\n", "Dockerfile:2: expecting boolean value for flag --link, not: maybe"),
    ("FROM x\nCOPY onlyone\n", "Dockerfile:2: COPY requires at least two arguments"),
    ("FROM x\nCOPY <<EOF <<EOF2\nEOF\nEOF2\n", "Dockerfile:2: COPY cannot accept a heredoc as a destination"),
    ("FROM x\nENV --foo=1 a=b\n", "Dockerfile:2: unknown flag: --foo"),
    ("FROM x\nWORKDIR\n", "Dockerfile:2: WORKDIR requires exactly one argument"),
    ("FROM x\nUSER\n", "Dockerfile:2: USER requires exactly one argument"),
    ("FROM x\nEXPOSE\n", "Dockerfile:2: EXPOSE requires at least one argument"),
    ("FROM x\nVOLUME []\n", "Dockerfile:2: VOLUME requires at least one argument"),
    ("FROM x\nVOLUME [\"\"]\n", "Dockerfile:2: VOLUME specified can not be an empty string"),
    ("FROM x\nSHELL /bin/sh -c\n", "Dockerfile:2: SHELL requires the arguments to be in JSON form"),
    ("FROM x\nARG =x\n", "Dockerfile:2: ARG names can not be blank"),
    ("FROM x\nARG\n", "Dockerfile:2: ARG requires at least one argument"),
    ("FROM x\nHEALTHCHECK NONE x\n", "Dockerfile:2: HEALTHCHECK NONE takes no arguments"),
    ("FROM x\nHEALTHCHECK CONNECT TCP 7000\n", 'Dockerfile:2: Unknown type "CONNECT" in HEALTHCHECK (try CMD)'),
    ("FROM x\nHEALTHCHECK CMD\n", "Dockerfile:2: Missing command after HEALTHCHECK CMD"),
    ("FROM x\nHEALTHCHECK --interval=1us CMD a\n", 'Dockerfile:2: Interval "interval" cannot be less than 1ms'),
    ("FROM x\nHEALTHCHECK --interval=5 CMD a\n", "Dockerfile:2: time: missing unit in duration \"5\""),
    ("FROM x\nHEALTHCHECK --retries=-1 CMD a\n", "Dockerfile:2: --retries cannot be negative (-1)"),
    ("FROM x\nONBUILD ONBUILD RUN x\n", "Dockerfile:2: Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"),
    ("FROM x\nONBUILD FROM y\n", "Dockerfile:2: FROM isn't allowed as an ONBUILD trigger"),
    ("FROM x\nONBUILD FOO y\n", "Dockerfile:2: unknown instruction: FOO"),
    ("FROM x\nRUN --network=bridge true\n", 'Dockerfile:2: invalid network mode "bridge"'),
    ("FROM x\nRUN --mount=type=nfs,target=/x true\n", 'Dockerfile:2: unsupported mount type "nfs"'),
    ("FROM x\nRUN --mount=type=bind,target=/x,mode=0700 true\n", 'mode not allowed for "bind" type mounts'),
    ("FROM x\nRUN --mount=type=secret true\n", "invalid secret mount. one of source, target required"),
    ("FROM x\nRUN --mount=type=cache,from=$X,target=/x true\n", "'from' doesn't support variable expansion"),
    ("FROM x\nRUN --mount=type=cache,foo=bar true\n", "unexpected key 'foo' in 'foo=bar'"),
    ("# escape=x\nFROM y\n", "Dockerfile:1: invalid escape token 'x' does not match ` or \\"),
    ("# escape=`\n# escape=\\\nFROM y\n", "Dockerfile:2: only one escape parser directive can be used"),
    # an opener with an unbalanced quote is no heredoc (as in docker), so its terminator is read as an instruction
    ("FROM x\nRUN <<'EOF\nEOF\n", "Dockerfile:3: unknown instruction: EOF"),
    ("FROM x\nSTOPSIGNAL\n", "Dockerfile:2: STOPSIGNAL requires exactly one argument"),
    ("FROM x\nMAINTAINER\n", "Dockerfile:2: MAINTAINER requires exactly one argument"),
]


@pytest.mark.parametrize(("text", "message"), ERRORS, ids=[e[1][:60] for e in ERRORS])
def test_errors(text: str, message: str) -> None:
    with pytest.raises(DockerfileError) as info:
        parse(text)
    assert message in str(info.value)


def test_error_carries_line_and_file() -> None:
    with pytest.raises(DockerfileError) as info:
        parse("FROM x\nBAD y\n", "sub/Dockerfile.dev")
    assert (info.value.filename, info.value.line) == ("sub/Dockerfile.dev", 2)
    assert str(info.value).startswith("sub/Dockerfile.dev:2: unknown instruction: BAD")


def test_empty_continuation_warning() -> None:
    df = parse("FROM x\nRUN a \\\n\nb\n")
    assert df.warnings and "empty continuation line" in df.warnings[0]


def test_directives_recorded() -> None:
    df = parse("# syntax=docker/dockerfile:1.7\n# escape=`\nFROM x\n")
    assert df.syntax == "docker/dockerfile:1.7" and df.escape == "`"


def test_stages_grouping() -> None:
    df = parse("ARG V=1\nFROM a AS one\nRUN x\nFROM one\nRUN y\nRUN z\n")
    assert [a.args[0].name for a in df.meta_args] == ["V"]
    assert [(s.index, s.name, len(s.instructions)) for s in df.stages] == [(0, "one", 1), (1, None, 2)]
    assert df.stage_by_name("ONE") is df.stages[0]
