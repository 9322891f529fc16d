"""`tug images --filter`: docker's image filters (dangling, label, before, since, reference)."""

from __future__ import annotations

import fnmatch
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from tug.errors import Invalid

if TYPE_CHECKING:
    from tug.engine.engine import Engine
    from tug.engine.images import Image

KEYS = ("dangling", "label", "before", "since", "reference")


def parse(values: list[str] | tuple[str, ...]) -> dict[str, list[str]]:
    from tug.engine.listing import parse_filters

    out = parse_filters(values, KEYS)
    for val in out.get("dangling", []):
        if val.lower() not in ("true", "false", "1", "0"):
            raise Invalid(f"invalid filter 'dangling={val}'")
    return out


def _label_ok(labels: dict[str, str], wanted: list[str]) -> bool:
    for w in wanted:  # every label filter must hold (docker ANDs them)
        k, sep, v = w.partition("=")
        if k not in labels or (sep and labels[k] != v):
            return False
    return True


def _reference_ok(tags: tuple[str, ...], patterns: list[str]) -> bool:
    from tug.oci import reference

    for t in tags:
        ref = reference.parse(t)
        names = (ref.familiar_name, f"{ref.familiar_name}:{ref.tag}" if ref.tag else ref.familiar_name)
        if any(fnmatch.fnmatchcase(n, p) for n in names for p in patterns):
            return True
    return False


def select(eng: Engine, images: list[Image], filters: dict[str, list[str]]) -> list[Image]:
    """The images every filter keeps (values of one key are ORed, as docker does, except labels)."""
    if not filters:
        return images
    from tug.engine import images as eimages
    from tug.engine.humanize import parse_time

    def when(img: Image) -> datetime:
        return parse_time(img.created) or datetime.min.replace(tzinfo=UTC)

    bounds = {k: [when(eimages.find(eng, n)) for n in filters.get(k, [])] for k in ("before", "since")}
    out = []
    for img in images:
        if "dangling" in filters:
            want = {v.lower() in ("true", "1") for v in filters["dangling"]}
            if (not img.tags) not in want:
                continue
        if bounds["before"] and not all(when(img) < b for b in bounds["before"]):
            continue
        if bounds["since"] and not all(when(img) > b for b in bounds["since"]):
            continue
        if "reference" in filters and not _reference_ok(img.tags, filters["reference"]):
            continue
        if "label" in filters and not _label_ok(eimages.config(eng, img).labels, filters["label"]):
            continue
        out.append(img)
    return out
