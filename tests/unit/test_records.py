"""tug.records: the record-class maker that stands in for dataclasses (same behaviour for what tug uses)."""

from __future__ import annotations

import subprocess
import sys
from typing import ClassVar

import pytest

from tug import records
from tug.records import FrozenInstanceError, field, record


@record
class Point:
    x: int
    y: int = 0
    tags: list[str] = field(default_factory=list)
    note: str = field(default="", compare=False, repr=False)


@record(frozen=True, order=True)
class Version:
    major: int
    minor: int = 0


@record(kw_only=True)
class Base:
    kind: ClassVar[str] = "base"
    name: str
    size: int = 1


@record(kw_only=True)
class Child(Base):
    kind: ClassVar[str] = "child"
    extra: list[int] = field(default_factory=list)
    size: int = 2


@record
class Checked:
    n: int
    double: int = 0

    def __post_init__(self) -> None:
        self.double = self.n * 2


def test_init_positional_keyword_defaults_and_factories_are_fresh():
    a, b = Point(1), Point(1, y=2, tags=["t"])
    assert (a.x, a.y, a.tags, a.note) == (1, 0, [], "")
    assert (b.x, b.y, b.tags) == (1, 2, ["t"])
    a.tags.append("mine")
    assert Point(1).tags == []  # the factory runs per instance


@pytest.mark.parametrize("call, message", [
    (lambda: Point(), "missing required argument: 'x'"),
    (lambda: Point(1, 2, [], "n", 5), "takes 4 positional arguments"),
    (lambda: Point(1, x=2), "multiple values for argument 'x'"),
    (lambda: Point(1, z=2), "unexpected keyword argument 'z'"),
    (lambda: Base("n"), "takes 0 positional arguments"),
])
def test_init_refuses_bad_arguments_like_dataclasses(call, message):
    with pytest.raises(TypeError, match=message):
        call()


def test_repr_eq_and_hash():
    assert repr(Point(1, 2)) == "Point(x=1, y=2, tags=[])"  # note has repr=False
    assert Point(1, note="a") == Point(1, note="b")  # note has compare=False
    assert Point(1) != Point(2)
    assert Point(1) != (1, 0, [])
    with pytest.raises(TypeError):
        hash(Point(1))  # mutable records are unhashable, as dataclasses make them
    assert {Version(1, 2), Version(1, 2)} == {Version(1, 2)}


def test_frozen_refuses_assignment_and_order_compares_fields_in_order():
    v = Version(1, 2)
    with pytest.raises(FrozenInstanceError):
        v.major = 3  # type: ignore[misc]
    with pytest.raises(AttributeError):
        del v.minor  # type: ignore[misc]
    assert sorted([Version(2), Version(1, 5), Version(1, 2)]) == [Version(1, 2), Version(1, 5), Version(2)]
    with pytest.raises(TypeError):
        _ = Version(1) < (1, 0)  # type: ignore[operator]


def test_inheritance_classvars_and_kw_only():
    c = Child(name="c")
    # the base's fields first; one the child redeclares keeps its place
    assert [f.name for f in records.fields(Child)] == ["name", "size", "extra"]
    assert (c.name, c.size, c.extra, c.kind, Child.kind) == ("c", 2, [], "child", "child")
    assert Base(name="b").size == 1


def test_post_init_runs_and_replace_runs_it_again():
    c = Checked(3)
    assert c.double == 6
    assert records.replace(c, n=5).double == 10
    with pytest.raises(TypeError, match="unexpected keyword argument 'nope'"):
        records.replace(c, nope=1)


def test_asdict_recurses_and_copies():
    @record
    class Outer:
        inner: Point
        points: list[Point]
        by_name: dict[str, Point]

    p = Point(1, tags=["a"])
    d = records.asdict(Outer(p, [p], {"p": p}))
    assert d == {"inner": {"x": 1, "y": 0, "tags": ["a"], "note": ""}, "points": [d["inner"]],
                 "by_name": {"p": d["inner"]}}
    d["inner"]["tags"].append("b")
    assert p.tags == ["a"]


def test_definition_errors():
    with pytest.raises(ValueError, match="mutable default list"):
        @record
        class Bad:
            items: list[int] = []  # noqa: RUF012

    with pytest.raises(TypeError, match="non-default argument 'b' follows default argument 'a'"):
        @record
        class Order:
            a: int = 1
            b: int

    with pytest.raises(ValueError, match="both default and default_factory"):
        field(default=1, default_factory=int)
    with pytest.raises(TypeError, match="not a record"):
        records.fields(object())


def test_importing_records_brings_no_dataclasses_or_typing():
    """The point of the module: none of the heavy modules come with it."""
    out = subprocess.run(
        [sys.executable, "-c",
         "import sys, tug.records; print(' '.join(sorted(m for m in ('dataclasses', 'inspect', 'typing', 'ast') "
         "if m in sys.modules)))"],
        capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
