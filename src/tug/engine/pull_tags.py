"""`tug pull --all-tags`: every tag the registry lists for a repository, pulled one after another."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tug.engine import progress
from tug.errors import Invalid, NotFound

if TYPE_CHECKING:
    from tug.engine.engine import Engine
    from tug.engine.pull import PullResult


def pull_all_tags(eng: Engine, name: str, platform: str | None = None, on_event: progress.OnEvent = progress.ignore,
                  tls_verify: bool | None = None) -> list[PullResult]:
    """Pull `name:T` for each tag T of the repository `name` (which must carry no tag or digest), in tag order."""
    from tug.engine.pull import pull
    from tug.engine.registries import client as make_client
    from tug.oci import reference

    if "@" in name or ":" in name.rsplit("/", 1)[-1]:
        raise Invalid("tag can't be used with --all-tags/-a")
    ref = reference.parse(name)
    tags = sorted(set(make_client(eng, tls_verify, ref.registry).list_tags(ref)))
    if not tags:
        raise NotFound(f"repository {ref.name} has no tags")
    return [pull(eng, f"{ref.name}:{t}", platform, on_event, tls_verify) for t in tags]
