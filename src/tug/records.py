"""Record classes: fields declared as annotations, with `__init__`, `__repr__`, `__eq__` (and `__hash__` when
frozen, ordering when asked) made from them. This is the subset of `dataclasses` that tug uses, with its API names.

Why not `dataclasses`: every tug command pays for its classes at start-up, and `tug run`'s start-up is measured
against podman. `dataclasses` costs about 10 ms to import here (it brings `inspect`, `ast`, `dis`, `tokenize`) and
about 0.5 ms per class, because it writes each class's methods as source text and compiles them; `tug run`
defined 23 such classes before its container started (about 17 ms of a 90 ms command). Here every class shares the
same few functions, driven by a field table built without compiling anything (about 20 µs per class).

What it supports: `@record`, `@record(frozen=True, order=True, kw_only=True)`, inheritance (a base's fields come
first), `field(default=, default_factory=, repr=, compare=)`, `__post_init__`, `ClassVar` annotations (not fields),
`fields`, `replace`, `asdict`. Annotations are kept as written (tug's modules use `from __future__ import
annotations`); they are never evaluated. Frozen instances refuse assignment with `FrozenInstanceError`.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, TypeVar, dataclass_transform

    T = TypeVar("T")
else:
    def dataclass_transform(**_kw):  # type checkers read @record as a dataclass maker; at run time a no-op
        return lambda f: f


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


class FrozenInstanceError(AttributeError):
    """Assignment to a field of a frozen record."""


class Field:
    __slots__ = ("name", "type", "default", "default_factory", "repr", "compare", "kw_only")

    def __init__(self, default: Any, default_factory: Any, repr: bool, compare: bool) -> None:  # noqa: A002
        self.name = ""
        self.type: Any = None
        self.default = default
        self.default_factory = default_factory
        self.repr = repr
        self.compare = compare
        self.kw_only = False

    def __repr__(self) -> str:
        return f"Field(name={self.name!r}, default={self.default!r}, default_factory={self.default_factory!r})"


def field(*, default: Any = MISSING, default_factory: Callable[[], Any] | Any = MISSING, repr: bool = True,  # noqa: A002
          compare: bool = True) -> Any:
    if default is not MISSING and default_factory is not MISSING:
        raise ValueError("cannot specify both default and default_factory")
    return Field(default, default_factory, repr, compare)


@dataclass_transform(field_specifiers=(field,))
def record(cls: Any = None, /, *, frozen: bool = False, order: bool = False, kw_only: bool = False) -> Any:
    def wrap(c: type[T]) -> type[T]:
        return _build(c, frozen, order, kw_only)

    return wrap if cls is None else wrap(cls)


def _is_classvar(annotation: object) -> bool:
    text = annotation if isinstance(annotation, str) else repr(annotation)
    return text.removeprefix("typing.").startswith("ClassVar")


def _build(cls: Any, frozen: bool, order: bool, kw_only: bool) -> Any:
    table: dict[str, Field] = {}
    for base in reversed(cls.__mro__[1:]):
        for f in base.__dict__.get("__record_fields__", ()):
            table[f.name] = f
    for name, annotation in cls.__dict__.get("__annotations__", {}).items():
        if _is_classvar(annotation):
            continue
        value = cls.__dict__.get(name, MISSING)
        if isinstance(value, Field):
            f = value
            if f.default is MISSING:
                delattr(cls, name)
            else:
                setattr(cls, name, f.default)
        else:
            f = Field(value, MISSING, True, True)
        if f.default is not MISSING and type(f.default).__hash__ is None:
            raise ValueError(f"mutable default {type(f.default).__name__} for field {name} of {cls.__qualname__}: "
                             "use default_factory")
        f.name, f.type, f.kw_only = name, annotation, kw_only
        table[name] = f
    fields_ = tuple(table.values())
    positional = tuple(f.name for f in fields_ if not f.kw_only)
    seen_default = ""
    for f in fields_:
        if f.kw_only:
            continue
        if f.default is not MISSING or f.default_factory is not MISSING:
            seen_default = f.name
        elif seen_default:
            raise TypeError(f"non-default argument {f.name!r} follows default argument {seen_default!r} "
                            f"in {cls.__qualname__}")
    cls.__record_fields__ = fields_
    cls.__record_compare__ = tuple(f.name for f in fields_ if f.compare)
    cls.__match_args__ = positional
    cls.__init__ = _make_init(fields_, positional, getattr(cls, "__post_init__", None) is not None)
    own = cls.__dict__
    if "__repr__" not in own:
        cls.__repr__ = _repr
    explicit_hash = "__hash__" in own and not (own["__hash__"] is None and "__eq__" in own)
    if "__eq__" not in own:
        cls.__eq__ = _eq
    if not explicit_hash:
        cls.__hash__ = _hash if frozen else None
    if order:
        cls.__lt__, cls.__le__, cls.__gt__, cls.__ge__ = _lt, _le, _gt, _ge
    if frozen:
        cls.__setattr__ = _refuse_set
        cls.__delattr__ = _refuse_del
    return cls


def _make_init(fields_: tuple[Field, ...], positional: tuple[str, ...], post_init: bool) -> Callable[..., None]:
    npos = len(positional)

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        if args:
            if len(args) > npos:
                raise TypeError(f"{type(self).__name__}() takes {npos} positional arguments but {len(args)} "
                                "were given")
            for name, value in zip(positional, args, strict=False):
                if name in kwargs:
                    raise TypeError(f"{type(self).__name__}() got multiple values for argument {name!r}")
                kwargs[name] = value
        d = self.__dict__
        for f in fields_:
            value = kwargs.pop(f.name, MISSING)
            if value is MISSING:
                if f.default is not MISSING:
                    value = f.default
                elif f.default_factory is not MISSING:
                    value = f.default_factory()
                else:
                    raise TypeError(f"{type(self).__name__}() missing required argument: {f.name!r}")
            d[f.name] = value
        if kwargs:
            raise TypeError(f"{type(self).__name__}() got an unexpected keyword argument {next(iter(kwargs))!r}")
        if post_init:
            self.__post_init__()

    return __init__


def _key(self: Any) -> tuple[Any, ...]:
    return tuple([getattr(self, n) for n in self.__record_compare__])


def _repr(self: Any) -> str:
    inner = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in self.__record_fields__ if f.repr)
    return f"{type(self).__qualname__}({inner})"


def _eq(self: Any, other: Any) -> Any:
    if other.__class__ is not self.__class__:
        return NotImplemented
    return _key(self) == _key(other)


def _hash(self: Any) -> int:
    return hash(_key(self))


def _lt(self: Any, other: Any) -> Any:
    return _key(self) < _key(other) if other.__class__ is self.__class__ else NotImplemented


def _le(self: Any, other: Any) -> Any:
    return _key(self) <= _key(other) if other.__class__ is self.__class__ else NotImplemented


def _gt(self: Any, other: Any) -> Any:
    return _key(self) > _key(other) if other.__class__ is self.__class__ else NotImplemented


def _ge(self: Any, other: Any) -> Any:
    return _key(self) >= _key(other) if other.__class__ is self.__class__ else NotImplemented


def _refuse_set(self: Any, name: str, value: Any) -> None:
    raise FrozenInstanceError(f"cannot assign to field {name!r}")


def _refuse_del(self: Any, name: str) -> None:
    raise FrozenInstanceError(f"cannot delete field {name!r}")


def is_record(obj: object) -> bool:
    return hasattr(obj if isinstance(obj, type) else type(obj), "__record_fields__")


def fields(obj: Any) -> tuple[Field, ...]:
    """The fields of a record class or instance, in order."""
    try:
        return obj.__record_fields__
    except AttributeError:
        raise TypeError(f"{obj!r} is not a record class or instance") from None


def replace(obj: T, /, **changes: Any) -> T:
    """A copy of a record with some fields changed (through `__init__`, so `__post_init__` runs again)."""
    for f in fields(obj):
        if f.name not in changes:
            changes[f.name] = getattr(obj, f.name)
    return obj.__class__(**changes)


_PLAIN = (str, int, float, bool, type(None), bytes)


def asdict(obj: Any) -> dict[str, Any]:
    """A record as a dict, recursively through records, lists, tuples and dicts; other values are deep-copied."""
    return {f.name: _plain(getattr(obj, f.name)) for f in fields(obj)}


def _plain(value: Any) -> Any:
    if isinstance(value, _PLAIN):
        return value
    if hasattr(type(value), "__record_fields__"):
        return asdict(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, tuple):
        return type(value)(*[_plain(v) for v in value]) if hasattr(value, "_fields") else \
            tuple(_plain(v) for v in value)
    if isinstance(value, dict):
        return {_plain(k): _plain(v) for k, v in value.items()}
    import copy

    return copy.deepcopy(value)
