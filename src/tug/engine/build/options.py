"""What `tug build` is asked (BuildOptions) and what it tells (BuildEvent): light, so the CLI and the replay of a
fully cached build (memo.py) need nothing else of the builder."""

from __future__ import annotations

from collections.abc import Callable


class BuildEvent:
    """One line of progress: kind is step | base | cache | miss | running | output | removing | done | warning |
    triggers; `data` holds a build container's output."""

    __slots__ = ("kind", "text", "data")

    def __init__(self, kind: str, text: str = "", data: bytes = b"") -> None:
        self.kind = kind
        self.text = text
        self.data = data

    def __repr__(self) -> str:
        return f"BuildEvent({self.kind!r}, {self.text!r})"


OnEvent = Callable[[BuildEvent], None]


class BuildOptions:
    """Every `tug build` option (a plain class: the replay path imports no dataclasses)."""

    def __init__(self, context: str = ".", dockerfile: str | None = None, tags: list[str] | None = None,
                 build_args: dict[str, str] | None = None, target: str | None = None, no_cache: bool = False,
                 pull: bool = False, network: str = "default", labels: dict[str, str] | None = None,
                 squash: bool = False, squash_all: bool = False, explain: bool = False,
                 secrets: dict[str, str] | None = None, platform: str | None = None,
                 ssh: dict[str, str] | None = None, run_settings: dict[str, object] | None = None) -> None:
        self.context = context
        self.dockerfile = dockerfile
        self.tags = list(tags or [])
        self.build_args = dict(build_args or {})
        self.target = target
        self.no_cache = no_cache
        self.pull = pull
        self.network = network
        self.labels = dict(labels or {})
        self.squash = squash
        self.squash_all = squash_all
        self.explain = explain
        self.secrets = dict(secrets or {})  # id -> host file (RUN --mount=type=secret)
        self.platform = platform
        self.ssh = dict(ssh or {})  # id -> agent socket path (RUN --mount=type=ssh)
        # RunOptions fields every RUN step's build container gets (RUN_SETTINGS: --memory, --ulimit, --add-host...)
        self.run_settings = {k: v for k, v in (run_settings or {}).items() if v not in (None, (), [])}
        unknown = set(self.run_settings) - set(RUN_SETTINGS)
        if unknown:
            raise TypeError(f"not a build container setting: {', '.join(sorted(unknown))}")


# `docker build`'s flags for the build containers, as the RunOptions fields `tug run` fills from the same flags.
# Like docker's classic builder, they are no part of a step's cache key (a step cached under other limits is used).
RUN_SETTINGS = ("add_hosts", "cgroup_parent", "cpu_period", "cpu_quota", "cpu_shares", "cpuset_cpus", "cpuset_mems",
                "memory", "memory_swap", "shm_size", "ulimits", "security_opt")
