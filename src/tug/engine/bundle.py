"""A container's directory and OCI bundle: upper/work dirs, hostname/hosts/resolv.conf, and config.json.

The impure facts (host limits, the image's /etc/passwd, the caller's environment, env files) are gathered here and
handed to the pure `tug.spec.generate`.
"""

from __future__ import annotations

import json
import os
import resource
from pathlib import Path

from tug.engine import userdb
from tug.engine.engine import Engine
from tug.errors import Invalid, NotFound
from tug.oci.image_config import ImageConfig

TYPE_CHECKING = False
if TYPE_CHECKING:
    from tug.engine.containers import Container

# Linux resource numbers (the resource module lacks some, e.g. RLIMIT_LOCKS)
RLIMITS = {
    "RLIMIT_CPU": 0, "RLIMIT_FSIZE": 1, "RLIMIT_DATA": 2, "RLIMIT_STACK": 3, "RLIMIT_CORE": 4, "RLIMIT_RSS": 5,
    "RLIMIT_NPROC": 6, "RLIMIT_NOFILE": 7, "RLIMIT_MEMLOCK": 8, "RLIMIT_AS": 9, "RLIMIT_LOCKS": 10,
    "RLIMIT_SIGPENDING": 11, "RLIMIT_MSGQUEUE": 12, "RLIMIT_NICE": 13, "RLIMIT_RTPRIO": 14, "RLIMIT_RTTIME": 15,
}

HOSTS_BASE = (
    "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\n"
    "ff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n"
)


def _write(path: Path, data: str | bytes, mode: int = 0o644) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def hard_limits() -> dict[str, int]:
    out = {}
    for name, res in RLIMITS.items():
        hard = resource.getrlimit(res)[1]
        out[name] = hard if hard != resource.RLIM_INFINITY else 2**64 - 1
    return out


def host_resolv_conf(network: str) -> str:
    try:
        text = Path("/etc/resolv.conf").read_text()
    except OSError:
        text = ""
    if network == "host":
        return text
    # like docker on a bridge: loopback resolvers of the host are unreachable from the container
    lines = [ln for ln in text.splitlines()
             if not (ln.startswith("nameserver") and (" 127." in ln or " ::1" in ln))]
    return "\n".join(lines) + "\n" if lines else ""


def resolv_with(base: str, dns: list[str], search: list[str], options: list[str]) -> str:
    """resolv.conf with `--dns`, `--dns-search` and `--dns-option` each replacing the base's lines of that kind, as
    docker does (`--dns-search .` leaves no search line)."""
    kinds = {"nameserver": [f"nameserver {s}" for s in dns],
             "search": [f"search {' '.join(d for d in search if d != '.')}"] if search else [],
             "options": [f"options {' '.join(options)}"] if options else []}
    kinds["search"] = [ln for ln in kinds["search"] if ln != "search "]
    replaced = {k for k, given in (("nameserver", dns), ("search", search), ("options", options)) if given}
    kept = [ln for ln in base.splitlines() if ln.split(None, 1)[:1] not in ([k] for k in replaced)]
    lines = kinds["nameserver"] + kinds["search"] + kinds["options"] + kept
    return "".join(ln + "\n" for ln in lines)


def extra_host_line(spec: str) -> str:
    """`--add-host name:ip` (or `name=ip`) as a hosts(5) line."""
    name, sep, ip = spec.partition("=") if "=" in spec else spec.partition(":")
    if not sep or not name or not ip:
        raise Invalid(f"invalid argument {spec!r} for --add-host: expected NAME:IP")
    return f"{ip.strip('[]')}\t{name}\n"


def _env_file_lines(files: list[str]) -> list[str]:
    lines: list[str] = []
    for f in files:
        try:
            lines.extend(Path(f).read_text().splitlines())
        except OSError as e:
            raise NotFound(f"open {f}: {e.strerror}") from None
    return lines


def _last_cap() -> int:
    try:
        return int(Path("/proc/sys/kernel/cap_last_cap").read_text())
    except (OSError, ValueError):
        return 40


def _console_size() -> tuple[int, int] | None:
    try:
        size = os.get_terminal_size(0)
    except OSError:
        return None
    return (size.lines, size.columns)


def write(eng: Engine, ctr: Container, cfg: ImageConfig) -> dict:
    from tug.spec.generate import generate
    from tug.spec.host import HostFacts

    opts = ctr.options
    d = eng.container_dir(ctr.id)
    bundle = d / "bundle"
    for sub in ("upper", "work", "bundle/rootfs"):
        (d / sub).mkdir(parents=True, exist_ok=True)
    hostname = opts.hostname or ctr.id[:12]
    network = opts.network or "bridge"
    # --- networks and volumes (issue 8: engine/netattach.py, engine/volumes.py) ---
    from tug.engine import netattach, volumes
    from tug.spec.mount_flags import requested_mounts

    ctr.extra["hostname"] = opts.hostname or ctr.id[:12]
    netattach.validate(eng, ctr)
    gen_opts = volumes.expand_volumes_from(eng, opts)
    named_paths, anon_paths = volumes.prepare(eng, ctr, requested_mounts(gen_opts, cfg, os.getcwd()))
    ns_paths = {"network": "/proc/self/ns/net"} if network.startswith("container:") else {}  # set at start
    # --- end issue 8 ---
    if network == "host":
        hosts = Path("/etc/hosts").read_text() if os.path.exists("/etc/hosts") else HOSTS_BASE
        hostname_text = os.uname().nodename
    else:
        hosts = HOSTS_BASE + "".join(extra_host_line(h) for h in opts.add_hosts)
        hostname_text = hostname
    _write(d / "hostname", hostname_text + "\n")
    _write(d / "hosts", hosts)
    if netattach.is_slirp(network):  # issue 7: rootless networking answers DNS at its own address
        from tug.network.slirp import DNS

        resolv = f"nameserver {DNS}\n"
    else:
        resolv = host_resolv_conf(network)
    _write(d / "resolv.conf", resolv_with(resolv, opts.dns, opts.dns_search, opts.dns_options))
    if opts.rootfs:
        rootfs = str(Path(opts.rootfs).resolve())
        lookup_dirs = [Path(rootfs)]
    else:
        rootfs = "rootfs"
        from tug.engine.containers import image_chain

        lookup_dirs = [d / "upper", *[eng.snapshots.path(c) for c in reversed(image_chain(ctr))]]
    from tug.engine import isolation  # issue 7

    host = HostFacts(
        container_id=ctr.id,
        rootfs=rootfs,
        hostname_default=hostname,
        container_dir=str(d),
        rlimits_hard=hard_limits(),
        caller_env=dict(eng.env),
        env_file_lines=_env_file_lines(opts.env_files),
        passwd=userdb.read_file(lookup_dirs, "etc/passwd"),
        group=userdb.read_file(lookup_dirs, "etc/group"),
        cgroup_version=2 if os.path.exists("/sys/fs/cgroup/cgroup.controllers") else 1,
        kernel_release=os.uname().release,
        host_hostname=os.uname().nodename,
        cpu_count=os.cpu_count(),
        last_cap=_last_cap(),
        caller_cwd=os.getcwd(),
        console_size=_console_size() if opts.tty else None,
        volume_paths=named_paths,
        anonymous_volume_paths=anon_paths,
        namespace_paths=ns_paths,
        **isolation.host_facts(gen_opts, ctr.id, eng.env),  # issue 7: cgroup parent, devices, seccomp file, init
    )
    spec = generate(cfg, gen_opts, host)
    if os.geteuid() != 0 or eng.env.get("TUG_ROOTLESS"):  # issue 7: no cgroups; /sys bound with the host's network
        from tug.engine import rootless

        rootless.adjust_spec(spec)
    volumes.prefill(eng, ctr)  # issue 8: empty volumes get what the image has at their mount point
    ctr.extra.update({"args": spec["process"]["args"], "hostname": spec.get("hostname", hostname),
                      "rootfs": rootfs})
    # compact, as runc writes it: with `indent`, json falls back from its C encoder to Python (~1.5 ms here)
    _write(bundle / "config.json", json.dumps(spec, separators=(",", ":")), 0o600)
    return spec
