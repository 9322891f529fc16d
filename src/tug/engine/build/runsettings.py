"""The build containers' resources and settings (`docker build -m/--ulimit/--add-host/--security-opt ...`): checked
once before the build starts, then given to every RUN step's container as the RunOptions fields `tug run` fills
from the same flags, so the same spec generator applies them the same way."""

from __future__ import annotations

import os
from typing import Any

from tug.engine.build.options import BuildOptions
from tug.errors import Invalid
from tug.spec.options import RunOptions


def run_options(opts: BuildOptions) -> dict[str, Any]:
    """RunOptions keyword arguments for a build container (fresh lists: a step never changes the options)."""
    return {k: list(v) if isinstance(v, list | tuple) else v for k, v in opts.run_settings.items()}


def check(opts: BuildOptions) -> None:
    """Refuse a setting the spec generator would refuse, before any step runs (and before the cache is asked: a
    fully cached build must fail on a bad value as the first build did)."""
    if not opts.run_settings:
        return
    from tug.engine.bundle import extra_host_line
    from tug.engine.isolation import cgroups_path, seccomp_file
    from tug.spec import resources, rlimits, security
    from tug.spec.sizes import ram_in_bytes

    ro = RunOptions(image="build", **run_options(opts))
    resources.memory_resources(ro)
    resources.cpu_resources(ro, os.cpu_count())
    for u in ro.ulimits:
        rlimits.parse_ulimit(u)
    if ro.shm_size and ram_in_bytes(ro.shm_size, "--shm-size") <= 0:
        raise Invalid("SHM size can not be less than 0")
    security.parse_security_opts(ro.security_opt)
    seccomp_file(ro)
    for h in ro.add_hosts:
        extra_host_line(h)
    cgroups_path(ro, "0" * 64)
