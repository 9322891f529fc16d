"""History `created_by` strings as docker's classic builder writes them, and Go duration formatting."""

from __future__ import annotations

import pytest

from tug.dockerfile.document import parse
from tug.dockerfile.flags import format_duration, parse_duration
from tug.dockerfile.history import created_by
from tug.dockerfile.plan import build_plan

# (instruction after FROM, keyword arguments, expected created_by)
CASES = [
    ('CMD ["sh"]', {}, '/bin/sh -c #(nop)  CMD ["sh"]'),
    ("CMD echo hi", {}, '/bin/sh -c #(nop)  CMD ["/bin/sh" "-c" "echo hi"]'),
    ('CMD ["nginx", "-g", "daemon off;"]', {}, '/bin/sh -c #(nop)  CMD ["nginx" "-g" "daemon off;"]'),
    ('ENTRYPOINT ["/docker-entrypoint.sh"]', {}, '/bin/sh -c #(nop)  ENTRYPOINT ["/docker-entrypoint.sh"]'),
    ("ENV A=1 B=\"x y\"", {}, "/bin/sh -c #(nop)  ENV A=1 B=x y"),
    ("ENV PATH /usr/bin", {}, "/bin/sh -c #(nop)  ENV PATH=/usr/bin"),
    ("LABEL maintainer=me", {}, "/bin/sh -c #(nop)  LABEL maintainer=me"),
    ("EXPOSE 80/tcp 443", {}, "/bin/sh -c #(nop)  EXPOSE 443 80/tcp"),
    ('VOLUME ["/data", "/logs"]', {}, "/bin/sh -c #(nop)  VOLUME [/data /logs]"),
    ("USER nobody", {}, "/bin/sh -c #(nop)  USER nobody"),
    ("STOPSIGNAL SIGQUIT", {}, "/bin/sh -c #(nop)  STOPSIGNAL SIGQUIT"),
    ("ARG A=1 B", {}, "/bin/sh -c #(nop)  ARG A=1 B"),
    ('SHELL ["/bin/bash", "-c"]', {}, "/bin/sh -c #(nop)  SHELL [/bin/bash -c]"),
    ("MAINTAINER Jane <j@x>", {}, "/bin/sh -c #(nop)  MAINTAINER Jane <j@x>"),
    ("ONBUILD RUN make", {}, "/bin/sh -c #(nop)  ONBUILD RUN make"),
    ("WORKDIR /app", {}, "/bin/sh -c #(nop) WORKDIR /app"),
    ("WORKDIR sub", {"workdir": "/app/sub"}, "/bin/sh -c #(nop) WORKDIR /app/sub"),
    ("COPY a /dst/", {"source": "file:abc"}, "/bin/sh -c #(nop) COPY file:abc in /dst/ "),
    ("ADD dir /dst", {"source": "dir:def"}, "/bin/sh -c #(nop) ADD dir:def in /dst "),
    ("RUN apt-get update", {}, "/bin/sh -c apt-get update"),
    ('RUN ["echo", "hi"]', {}, "echo hi"),
    ("RUN make", {"build_args": ["B=2", "A=1"]}, "|2 A=1 B=2 /bin/sh -c make"),
    ("RUN make", {"shell": ["/bin/bash", "-c"]}, "/bin/bash -c make"),
    ("CMD x", {"shell": ["/bin/bash", "-c"]}, '/bin/bash -c #(nop)  CMD ["/bin/bash" "-c" "x"]'),
    ("HEALTHCHECK --interval=5m --timeout=3s --retries=3 CMD curl -f http://localhost/ || exit 1", {},
     '/bin/sh -c #(nop)  HEALTHCHECK &{["CMD-SHELL" "curl -f http://localhost/ || exit 1"] "5m0s" "3s" "0s" "0s" '
     "'\\x03'}"),
    ("HEALTHCHECK NONE", {}, '/bin/sh -c #(nop)  HEALTHCHECK &{["NONE"] "0s" "0s" "0s" "0s" \'\\x00\'}'),
]


@pytest.mark.parametrize(("line", "kw", "expected"), CASES, ids=[c[0] for c in CASES])
def test_created_by(line: str, kw: dict, expected: str) -> None:
    p = build_plan(parse("FROM x\n" + line + "\n"))
    ev = p.evaluator(p.target)
    (instr,) = [ev.apply(i) for i in p.target.instructions]
    assert created_by(instr, **kw) == expected


def test_from_has_no_history() -> None:
    df = parse("FROM x\n")
    assert created_by(df.stages[0].from_) is None


@pytest.mark.parametrize(("text", "ns", "formatted"), [
    ("5m", 300_000_000_000, "5m0s"), ("1h", 3_600_000_000_000, "1h0m0s"), ("1.5s", 1_500_000_000, "1.5s"),
    ("300ms", 300_000_000, "300ms"), ("1m30s", 90_000_000_000, "1m30s"), ("2us", 2_000, "2µs"),
    ("0", 0, "0s"), ("1h2m3.25s", 3_723_250_000_000, "1h2m3.25s"), ("10ns", 10, "10ns"),
])
def test_durations(text: str, ns: int, formatted: str) -> None:
    assert parse_duration(text) == ns
    assert format_duration(ns) == formatted
