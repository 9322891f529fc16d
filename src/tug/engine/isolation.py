"""The host facts spec generation needs for isolation (issue 7): where the container's cgroup goes, the host's
devices (for --privileged and --device), a seccomp profile file, and the init binary for --init.

Gathered here, impurely, so `tug.spec` stays a pure function of options and facts.
"""

from __future__ import annotations

import json
import os
import stat
import sys

from tug.errors import Invalid, NotFound
from tug.spec.options import RunOptions
from tug.spec.security import parse_security_opts

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

INIT_NAME = "tug-init"
# dirs a privileged container does not get from the host's /dev (docker skips the same)
_SKIP_DEV = ("/dev/pts", "/dev/mqueue", "/dev/shm", "/dev/console")


DEFAULT_CGROUP_PARENT = "/tug"


def cgroups_path(opts: RunOptions, cid: str, default_parent: str = DEFAULT_CGROUP_PARENT) -> str:
    """linux.cgroupsPath: `<--cgroup-parent>/<id>` (relative parents stay relative, as docker's cgroupfs driver
    does), `<default_parent>/<id>` otherwise (`/tug`, or $TUG_CGROUP_PARENT, as the test session sets its own).
    A systemd-style `x.slice` parent becomes `x.slice:tug:<id>`."""
    parent = (opts.cgroup_parent or "").strip()
    if not parent:
        return f"{default_parent.rstrip('/')}/{cid}"
    if ".." in parent.split("/") or "\n" in parent:
        raise Invalid(f"invalid --cgroup-parent {parent!r}")
    if parent.endswith(".slice") and "/" not in parent:
        return f"{parent}:tug:{cid}"
    return parent.rstrip("/") + "/" + cid


def find_init(env: dict[str, str]) -> str | None:
    """The static init binary: $TUG_INIT, <prefix>/libexec/tug/tug-init (scripts/setup.sh builds it there), then
    system places, then docker's init (tini) if installed."""
    cands = [env.get("TUG_INIT", "")]
    cands += [os.path.join(p, "libexec", "tug", INIT_NAME) for p in (sys.prefix, "/usr/local", "/usr")]
    cands += ["/usr/bin/docker-init", "/usr/bin/tini-static"]
    for c in cands:
        if c and os.path.isfile(c) and os.access(c, os.X_OK):
            return os.path.realpath(c)
    return None


def device_entry(path: str) -> dict[str, Any] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    if stat.S_ISCHR(st.st_mode):
        kind = "c"
    elif stat.S_ISBLK(st.st_mode):
        kind = "b"
    else:
        return None
    return {"path": path, "type": kind, "major": os.major(st.st_rdev), "minor": os.minor(st.st_rdev),
            "fileMode": stat.S_IMODE(st.st_mode), "uid": st.st_uid, "gid": st.st_gid}


def host_devices(root: str = "/dev") -> list[dict[str, Any]]:
    """Every device node under /dev, for --privileged (as docker's privileged containers see them)."""
    out: list[dict[str, Any]] = []
    for d, dirs, files in os.walk(root):
        dirs[:] = sorted(x for x in dirs if os.path.join(d, x) not in _SKIP_DEV)
        for name in sorted(files):
            p = os.path.join(d, name)
            if p in _SKIP_DEV or os.path.islink(p):
                continue
            e = device_entry(p)
            if e is not None:
                out.append(e)
    return out


def device_info(flags: list[str]) -> dict[str, tuple[str, int, int, int, int, int]]:
    """host path -> (type, major, minor, mode, uid, gid) for each `--device SRC[:DST[:PERMS]]`."""
    out: dict[str, tuple[str, int, int, int, int, int]] = {}
    for spec in flags:
        src = spec.split(":", 1)[0]  # --device SRC[:...] and the throttles' PATH:RATE alike
        e = device_entry(src)
        if e is not None:
            out[src] = (e["type"], e["major"], e["minor"], e["fileMode"], e["uid"], e["gid"])
    return out


def seccomp_file(opts: RunOptions) -> dict[str, Any] | None:
    """The Docker-format profile of `--security-opt seccomp=FILE`, or None for default/unconfined."""
    choice = parse_security_opts(opts.security_opt).seccomp
    if choice in ("default", "builtin", "unconfined") or opts.privileged:
        return None
    try:
        with open(choice) as f:
            profile = json.load(f)
    except FileNotFoundError:
        raise NotFound(f"opening seccomp profile ({choice}) failed: no such file", where=choice) from None
    except (OSError, ValueError) as e:
        raise Invalid(f"decoding seccomp profile ({choice}) failed: {e}", where=choice) from None
    if not isinstance(profile, dict):
        raise Invalid(f"decoding seccomp profile ({choice}) failed: not a JSON object", where=choice)
    return profile


def host_facts(opts: RunOptions, cid: str, env: dict[str, str]) -> dict[str, Any]:
    """Keyword arguments for `HostFacts` covering isolation."""
    facts: dict[str, Any] = {
        "cgroups_path": cgroups_path(opts, cid, env.get("TUG_CGROUP_PARENT") or DEFAULT_CGROUP_PARENT),
        "device_info": device_info([*opts.devices, *opts.device_read_bps, *opts.device_write_bps,
                                    *opts.device_read_iops, *opts.device_write_iops, *opts.blkio_weight_device]),
        "seccomp_profile": seccomp_file(opts),
    }
    if opts.userns:
        from tug.engine import userns

        facts["id_mappings"] = userns.mappings_for(opts)
    if opts.privileged:
        facts["host_devices"] = host_devices()
    if opts.init:
        path = find_init(env)
        if path is None:
            raise NotFound("--init: no init binary found", where=os.path.join(sys.prefix, "libexec/tug", INIT_NAME),
                           hint="run scripts/setup.sh (it builds tug-init with gcc -static) or set TUG_INIT")
        facts["init_path"] = path
    return facts
