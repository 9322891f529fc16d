"""Build plans: stage selection, bases, dependencies, ARG scoping, ENV feeding expansion, RUN environments."""

from __future__ import annotations

import pytest

from tug.dockerfile import instructions as ins
from tug.dockerfile.document import parse
from tug.dockerfile.lexer import DockerfileError
from tug.dockerfile.plan import BuildPlan, Platform, build_plan, parse_trigger
from tug.errors import Invalid

AMD64 = Platform("linux", "amd64")
ARM = Platform("linux", "arm", "v7")


def plan(text: str, **kw: object) -> BuildPlan:
    return build_plan(parse(text), target_platform=kw.pop("target_platform", AMD64), **kw)  # type: ignore[arg-type]


def walk(p: BuildPlan, stage: int | str | None = None, base_env: tuple[str, ...] = ()) -> tuple[list, object]:
    st = p.target if stage is None else p.stage(stage)
    ev = p.evaluator(st, base_env=base_env)
    return [ev.apply(i) for i in st.instructions], ev


MULTI = """\
FROM alpine AS base
RUN echo base
FROM base AS build
RUN make
FROM golang AS unused
RUN go build
FROM scratch AS final
COPY --from=build /out /out
FROM busybox AS other
COPY --from=0 /x /x
COPY --from=nginx:1 /etc/nginx /etc/nginx
"""

# (target, expected stage names in the plan)
STAGE_CASES = [
    (None, ["base", "other"]),
    ("final", ["base", "build", "final"]),
    ("build", ["base", "build"]),
    ("unused", ["unused"]),
    ("FINAL", ["base", "build", "final"]),
]


@pytest.mark.parametrize(("target", "names"), STAGE_CASES)
def test_stage_selection(target: str | None, names: list[str]) -> None:
    p = plan(MULTI, target=target)
    assert [s.name for s in p.stages] == names
    assert p.target.name == names[-1]


def test_bases_and_dependencies() -> None:
    p = plan(MULTI, target="other")
    base, other = p.stages
    assert base.base.kind == "image" and base.base.ref == "alpine"
    assert other.depends_on == [0] and other.external_images == ["nginx:1"]
    full = plan(MULTI, target="final")
    assert full.stage("build").base.kind == "stage" and full.stage("build").base.stage == 0
    assert full.stage("final").base.kind == "scratch"
    assert full.stage("final").depends_on == [1]


def test_unknown_target() -> None:
    with pytest.raises(Invalid, match='target stage "nope" could not be found'):
        plan(MULTI, target="nope")


def test_run_mount_from_stage_is_a_dependency() -> None:
    p = plan("FROM a AS tools\nFROM b AS x\nFROM c\nRUN --mount=type=bind,from=tools,target=/t true\n")
    assert [s.index for s in p.stages] == [0, 2]


@pytest.mark.parametrize(("text", "message"), [
    ("FROM a\nCOPY --from=later /x /x\nFROM b AS later\n", 'cannot copy from stage "later"'),
    ("FROM a\nCOPY --from=5 /x /x\n", "invalid stage index 5"),
    ("FROM a\nCOPY --from=$X /x /x\n", "variable expansion is not supported for --from"),
    ("ARG IMG\nFROM $IMG\n", "base name ($IMG) should not be blank"),
    ("FROM --platform=$NOPE a\n", "empty platform value from expression $NOPE"),
    ("FROM a\nWORKDIR ${X:?need X}\n", "X: need X"),
])
def test_plan_errors(text: str, message: str) -> None:
    with pytest.raises(DockerfileError, match=None) as info:
        p = plan(text)
        walk(p)
    assert message in str(info.value)
    assert str(info.value).startswith("Dockerfile:")


# ARG scoping: (Dockerfile, build args, expected FROM image of the target, expected WORKDIR of the last step)
ARG_CASES = [
    ("ARG V=1\nFROM img:$V\nWORKDIR /w$V\n", {}, "img:1", "/w"),
    ("ARG V=1\nFROM img:$V\nARG V\nWORKDIR /w$V\n", {}, "img:1", "/w1"),
    ("ARG V=1\nFROM img:$V\nARG V=2\nWORKDIR /w$V\n", {}, "img:1", "/w2"),
    ("ARG V=1\nFROM img:$V\nARG V\nWORKDIR /w$V\n", {"V": "9"}, "img:9", "/w9"),
    ("ARG V=1\nFROM img:$V\nARG V=2\nWORKDIR /w$V\n", {"V": "9"}, "img:9", "/w9"),
    ("ARG A=x\nARG B=${A}y\nFROM img:$B\nWORKDIR /$B\n", {}, "img:xy", "/"),
    ("ARG A=x\nARG B=${A}y\nFROM img:$B\n", {"A": "q"}, "img:qy", None),
    ("FROM img\nARG V\nWORKDIR /w${V:-default}\n", {}, "img", "/wdefault"),
    ("FROM img\nARG V=\"a b\"\nWORKDIR /$V\n", {}, "img", "/a b"),
    ("FROM img\nWORKDIR /w$V\nARG V=1\n", {}, "img", None),
    ("FROM img\nARG V=1\nENV V=env\nWORKDIR /$V\n", {}, "img", "/env"),
    ("FROM img\nENV V=env\nARG V=1\nWORKDIR /$V\n", {}, "img", "/env"),
    ("FROM --platform=$BUILDPLATFORM img\nARG TARGETARCH\nWORKDIR /$TARGETARCH\n", {}, "img", "/arm"),
    ("FROM img\nWORKDIR /$TARGETARCH\n", {}, "img", "/"),
    ("ARG TARGETOS\nFROM img:$TARGETOS\nARG TARGETPLATFORM\nWORKDIR /$TARGETPLATFORM\n", {}, "img:linux",
     "/linux/arm/v7"),
    ("FROM img AS Named\nARG TARGETSTAGE\nWORKDIR /$TARGETSTAGE\n", {}, "img", "/named"),
    ("ARG TAG=latest\nFROM img:${TAG:-x}\n", {"TAG": ""}, "img:x", None),
    ("ARG TAG=latest\nFROM img:${TAG-x}\n", {"TAG": ""}, "img:", None),
    ("ARG TAG\nFROM img:${TAG-x}\n", {}, "img:x", None),
]


@pytest.mark.parametrize(("text", "args", "image", "workdir"), ARG_CASES, ids=[c[0] for c in ARG_CASES])
def test_arg_scoping(text: str, args: dict[str, str], image: str, workdir: str | None) -> None:
    p = plan(text, build_args=args, target_platform=ARM, build_platform=AMD64)
    assert p.target.base.ref == image
    steps, _ = walk(p)
    workdirs = [s.path for s in steps if isinstance(s, ins.Workdir)]
    if workdir is not None:
        assert workdirs[-1] == workdir


def test_platform_from_build_platform() -> None:
    p = plan("FROM --platform=$BUILDPLATFORM golang AS b\nFROM alpine\nCOPY --from=b /x /x\n",
             target_platform=ARM, build_platform=AMD64)
    assert p.stage("b").platform == "linux/amd64"
    assert p.global_args["TARGETVARIANT"] == "v7"


# ENV feeding later expansions: (Dockerfile body after FROM, base env, expected values of the steps checked)
ENV_CASES = [
    ("ENV A=1\nENV B=${A}2\nWORKDIR /$B", (), "/12"),
    ("ENV A=1 B=$A\nWORKDIR /x$B", (), "/x"),
    ("ENV A 1 2\nWORKDIR /$A", (), "/1 2"),
    ("WORKDIR $GOPATH/src", ("GOPATH=/go",), "/go/src"),
    ("ENV GOPATH=/other\nWORKDIR $GOPATH/src", ("GOPATH=/go",), "/other/src"),
    ("ENV A=\"x y\" B='$A'\nWORKDIR /$A/$B", (), "/x y/$A"),
    ("ENV A=a\nWORKDIR /\\$A", (), "/$A"),
    ("ENV A=a\nWORKDIR \"/$A\"'$A'", (), "/a$A"),
]


@pytest.mark.parametrize(("body", "base_env", "expected"), ENV_CASES, ids=[c[0] for c in ENV_CASES])
def test_env_feeds_expansion(body: str, base_env: tuple[str, ...], expected: str) -> None:
    steps, _ = walk(plan("FROM img\n" + body + "\n"), base_env=base_env)
    assert [s.path for s in steps if isinstance(s, ins.Workdir)][-1] == expected


def test_expanded_instructions() -> None:
    text = ("FROM img\nARG U=app PORTS=\"80 443/udp\" D=/data\nENV HOME=/home/$U\nLABEL \"k$U\"=\"v $U\"\n"
            "USER $U:$U\nEXPOSE $PORTS 8000-8010\nVOLUME [\"$D\", \"/b\"]\nSTOPSIGNAL SIG${SIG:-TERM}\n"
            "COPY --chown=$U:$U --chmod=644 src-$U /dst/$U/\nADD --checksum=$D x /y\nRUN echo $U\nCMD [\"$U\"]\n"
            "RUN --mount=type=cache,target=$D,id=c-$U true\nCOPY <<EOF <<'RAW' /etc/\nhello $U \"q\"\nEOF\n$U\nRAW\n")
    steps, ev = walk(plan(text))
    by_kind = {type(s).__name__: s for s in steps}
    assert [(p.key, p.value) for p in by_kind["Env"].pairs] == [("HOME", "/home/app")]
    assert [(p.key, p.value) for p in by_kind["Label"].pairs] == [("kapp", "v app")]
    assert by_kind["User"].user == "app:app"
    assert by_kind["Expose"].ports == ["80", "443/udp", "8000-8010"]
    assert by_kind["Volume"].volumes == ["/data", "/b"]
    assert by_kind["StopSignal"].signal == "SIGTERM"
    copies = [s for s in steps if isinstance(s, ins.Copy)]
    assert (copies[0].chown, copies[0].sources, copies[0].dest) == ("app:app", ["src-app"], "/dst/app/")
    assert [(c.path, c.data) for c in copies[1].contents] == [("EOF", 'hello app "q"\n'), ("RAW", "$U\n")]
    assert by_kind["Add"].checksum == "/data"
    runs = [s for s in steps if isinstance(s, ins.Run)]
    assert runs[0].command == ["echo $U"]
    assert (runs[1].mounts[0].target, runs[1].mounts[0].id) == ("/data", "c-app")
    assert by_kind["Cmd"].command == ["$U"]


def test_run_environment() -> None:
    p = plan("FROM img\nARG A=1 B\nENV C=3\nARG C=ignored\nRUN true\n",
             build_args={"B": "2", "HTTP_PROXY": "http://p:3128", "UNUSED": "x"})
    st = p.target
    ev = p.evaluator(st, base_env=["PATH=/bin"])
    for i in st.instructions:
        ev.apply(i)
    assert ev.config_env() == ["PATH=/bin", "C=3"]
    assert ev.run_build_args() == ["A=1", "B=2"]
    assert ev.run_env() == ["PATH=/bin", "C=3", "A=1", "B=2", "HTTP_PROXY=http://p:3128"]
    assert p.unused_build_args == ["UNUSED"]


def test_run_environment_default_path() -> None:
    p = plan("FROM scratch\nRUN true\n")
    ev = p.evaluator(p.target)
    assert ev.run_env()[0].startswith("PATH=/usr/local/sbin")


def test_shell_tracked() -> None:
    p = plan('FROM img\nSHELL ["/bin/bash", "-eo", "pipefail", "-c"]\n')
    _, ev = walk(p)
    assert ev.shell == ["/bin/bash", "-eo", "pipefail", "-c"]


def test_arg_values_recorded() -> None:
    steps, ev = walk(plan("ARG G=g\nFROM img\nARG G X=${G}x Y\n"))
    (arg,) = steps
    assert [(a.name, a.default) for a in arg.args] == [("G", "g"), ("X", "gx"), ("Y", None)]


def test_onbuild_trigger_parses() -> None:
    trig = parse_trigger("COPY --from=build . /app", "Dockerfile", 3)
    assert isinstance(trig, ins.Copy) and trig.from_ == "build" and trig.line == 3
    with pytest.raises(DockerfileError, match="single expression"):
        parse_trigger("RUN a\nRUN b", "Dockerfile", 3)
