"""`tug build` (docker's classic builder lines) and `tug builder prune`."""

from __future__ import annotations

import os
import sys

from tug.cli import flags
from tug.cli.common import engine, store_options


def _pairs(values: tuple[str, ...], what: str, from_env: bool) -> dict[str, str]:
    out: dict[str, str] = {}
    for v in values:
        key, sep, val = v.partition("=")
        if not key:
            raise flags.BadParameter(f"invalid {what}: {v!r}")
        if not sep and from_env:
            if key not in os.environ:
                continue
            val = os.environ[key]
        out[key] = val
    return out


def _secrets(values: tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for v in values:
        fields = dict(f.partition("=")[::2] for f in v.split(","))
        ident = fields.get("id", "")
        src = fields.get("src") or fields.get("source") or ""
        if not ident or not src:
            raise flags.BadParameter(f"--secret {v!r}: id=ID,src=PATH is expected")
        out[ident] = os.path.abspath(src)
    return out


def store_root(ctx: flags.Context, root: str | None) -> str:
    """The store root as Engine.from_env finds it, without importing the engine (a replayed build needs no more)."""
    from tug.cli.common import roots

    return roots(ctx, root)[0]


def _ssh(values: tuple[str, ...]) -> dict[str, str]:
    if not values:
        return {}
    from tug.engine.build.sshagent import parse_ssh_flags
    from tug.errors import Invalid

    try:
        return parse_ssh_flags(values, os.environ)
    except Invalid as e:
        raise flags.BadParameter(e.message) from None


def _bytes(text: str) -> str:
    """A `bytes` flag (-m, --shm-size): a size as docker's flag parser reads it."""
    from tug.errors import Invalid
    from tug.spec.sizes import ram_in_bytes

    try:
        ram_in_bytes(text)
    except Invalid:
        raise ValueError(f"invalid size: '{text}'") from None
    return text


def _swap(text: str) -> str:
    """--memory-swap: a size, or -1 for unlimited swap."""
    return text if text.strip() == "-1" else _bytes(text)


def _ulimit(text: str) -> str:
    from tug.errors import Invalid
    from tug.spec.rlimits import parse_ulimit

    try:
        parse_ulimit(text)
    except Invalid as e:
        raise ValueError(e.message) from None
    return text


def _add_host(text: str) -> str:
    import ipaddress

    name, sep, ip = text.partition("=") if "=" in text else text.partition(":")
    if not sep or not name:
        raise ValueError(f'bad format for add-host: "{text}"')
    try:
        ipaddress.ip_address(ip.strip("[]"))
    except ValueError:
        raise ValueError(f'invalid IP address in add-host: "{ip}"') from None
    return text


def _run_settings(add_hosts: tuple[str, ...], cgroup_parent: str | None, cpu_period: int | None,
                  cpu_quota: int | None, cpu_shares: int | None, cpuset_cpus: str | None, cpuset_mems: str | None,
                  memory: str | None, memory_swap: str | None, shm_size: str | None, ulimits: tuple[str, ...],
                  security_opt: tuple[str, ...]) -> dict[str, object]:
    """The build containers' RunOptions fields (engine/build/options.py RUN_SETTINGS), as `tug run` names them."""
    return {"add_hosts": list(add_hosts), "cgroup_parent": cgroup_parent, "cpu_period": cpu_period,
            "cpu_quota": cpu_quota, "cpu_shares": cpu_shares, "cpuset_cpus": cpuset_cpus, "cpuset_mems": cpuset_mems,
            "memory": memory, "memory_swap": memory_swap, "shm_size": shm_size, "ulimits": list(ulimits),
            "security_opt": [o for v in security_opt for o in _strings(v)]}


def _strings(value: str) -> list[str]:
    """A pflag `strings` value: comma-separated, each repeat adding more (`--security-opt a,b`)."""
    import csv

    return [v for row in csv.reader([value]) for v in row]


class Printer:
    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.out = sys.stdout

    def __call__(self, e) -> None:  # noqa: ANN001 - a BuildEvent
        if e.kind == "warning":
            flags.echo(e.text, err=True)
            return
        if self.quiet:
            return
        out = self.out
        if e.kind == "output":
            out.flush()
            sys.stdout.buffer.write(e.data)
            sys.stdout.buffer.flush()
            return
        line = {
            "step": e.text,
            "triggers": e.text,
            "base": f" ---> {e.text}",
            "cache": " ---> Using cache",
            "miss": f" ---> Cache miss: {e.text}",
            "running": f" ---> Running in {e.text}",
            "removing": f"Removing intermediate container {e.text}",
            "done": f" ---> {e.text}",
        }.get(e.kind, e.text)
        out.write(line + "\n")
        out.flush()


@flags.command("build")
@flags.option("-t", "--tag", "tags", multiple=True, help="Name and optionally a tag (name:tag); repeatable")
@flags.option("-f", "--file", "dockerfile", default=None, help="Name of the Dockerfile (default: PATH/Dockerfile)")
@flags.option("--build-arg", "build_args", multiple=True, help="Set build-time variables (K=V, or K from the env)")
@flags.option("--target", default=None, help="Set the target build stage to build")
@flags.option("--no-cache", is_flag=True, help="Do not use the cache when building the image")
@flags.option("--pull", is_flag=True, help="Always attempt to pull a newer version of the base images")
@flags.option("--network", default="default", help="Networking mode for RUN instructions: default, none, host")
@flags.option("--label", "labels", multiple=True, help="Set metadata for the image (K=V)")
@flags.option("-q", "--quiet", is_flag=True, help="Suppress the build output and print the image ID on success")
@flags.option("--iidfile", default=None, help="Write the image ID to the file")
@flags.option("--squash", is_flag=True, help="Squash the layers this build adds into one")
@flags.option("--squash-all", is_flag=True, help="Squash all the image's layers into one")
@flags.option("--explain", is_flag=True, help="Say, for every step that misses the cache, what changed")
@flags.option("--secret", "secrets", multiple=True, help="A secret for RUN --mount=type=secret: id=ID,src=PATH")
@flags.option("--platform", default=None, help="Set the target platform (os/arch[/variant])")
@flags.option("--ssh", "ssh", multiple=True, help="An SSH agent for RUN --mount=type=ssh: default or ID=SOCKET")
@flags.option("--add-host", "add_hosts", multiple=True, type=_add_host, metavar="list",
              help='Add a custom host-to-IP mapping ("host:ip") to the RUN containers')
@flags.option("--cgroup-parent", default=None, help='Set the parent cgroup for the "RUN" instructions during build')
@flags.option("--cpu-period", type=int, default=None, help="Limit the CPU CFS (Completely Fair Scheduler) period")
@flags.option("--cpu-quota", type=int, default=None, help="Limit the CPU CFS (Completely Fair Scheduler) quota")
@flags.option("-c", "--cpu-shares", type=int, default=None, help="CPU shares (relative weight)")
@flags.option("--cpuset-cpus", default=None, help="CPUs in which to allow execution (0-3, 0,1)")
@flags.option("--cpuset-mems", default=None, help="MEMs in which to allow execution (0-3, 0,1)")
@flags.option("-m", "--memory", type=_bytes, default=None, metavar="bytes", help="Memory limit")
@flags.option("--memory-swap", type=_swap, default=None, metavar="bytes",
              help="Swap limit equal to memory plus swap: -1 to enable unlimited swap")
@flags.option("--shm-size", type=_bytes, default=None, metavar="bytes", help='Size of "/dev/shm"')
@flags.option("--ulimit", "ulimits", multiple=True, type=_ulimit, metavar="ulimit", help="Ulimit options")
@flags.option("--security-opt", multiple=True, metavar="strings", help="Security options")
@flags.argument("context")
@store_options
@flags.pass_context
def build(ctx, tags, dockerfile, build_args, target, no_cache, pull, network, labels, quiet, iidfile, squash,
          squash_all, explain, secrets, platform, ssh, add_hosts, cgroup_parent, cpu_period, cpu_quota, cpu_shares,
          cpuset_cpus, cpuset_mems, memory, memory_swap, shm_size, ulimits, security_opt, context, root_,
          runroot_) -> int:
    """Build an image from a Dockerfile."""
    from tug.engine.build.memo import Memo
    from tug.engine.build.options import BuildOptions

    opts = BuildOptions(context=context, dockerfile=dockerfile, tags=list(tags),
                        build_args=_pairs(build_args, "--build-arg", True), target=target, no_cache=no_cache,
                        pull=pull, network=network, labels=_pairs(labels, "--label", False), squash=squash,
                        squash_all=squash_all, explain=explain, secrets=_secrets(secrets), platform=platform,
                        ssh=_ssh(ssh),
                        run_settings=_run_settings(add_hosts, cgroup_parent, cpu_period, cpu_quota, cpu_shares,
                                                   cpuset_cpus, cpuset_mems, memory, memory_swap, shm_size, ulimits,
                                                   security_opt))
    printer = Printer(quiet)
    memo = Memo(store_root(ctx, root_), opts, os.environ)
    image_id = memo.replay(opts.tags, printer)  # nothing changed since a fully cached build: its lines again
    if image_id is None:
        from tug.engine.build.executor import build as do_build

        image_id, _stats = do_build(engine(ctx, root_, runroot_), opts, printer, stdin=sys.stdin.buffer, memo=memo)
    if iidfile:
        with open(iidfile, "w") as f:
            f.write(image_id)
    if quiet:
        flags.echo(image_id)
        return 0
    flags.echo(f"Successfully built {image_id.removeprefix('sha256:')[:12]}")
    if memo.familiar:
        names = memo.familiar
    else:
        from tug.oci import reference

        names = [reference.parse(t).familiar for t in tags]
    for name in names:
        flags.echo(f"Successfully tagged {name}")
    return 0


@flags.group("builder")
def builder() -> None:
    """Manage the build cache."""


@builder.command("prune")
@flags.option("-a", "--all", "all_", is_flag=True, help="Also remove RUN --mount=type=cache directories")
@flags.option("-f", "--force", is_flag=True, help="Do not prompt for confirmation")
@store_options
@flags.pass_context
def prune(ctx, all_, force, root_, runroot_) -> int:
    """Remove the build cache (and, with -a, the cache mounts), then unreferenced blobs and snapshots."""
    from tug.engine import gc
    from tug.engine.build.cache import BuildCache
    from tug.engine.build.workdir import remove_stale

    eng = engine(ctx, root_, runroot_)
    killed = remove_stale(eng)
    n, m = BuildCache(eng.root).prune(mounts=all_)
    blobs, snaps = gc.collect(eng)
    flags.echo(f"Deleted build cache entries: {n}, cache mounts: {m}; blobs: {blobs}, snapshots: {snaps}"
               + (f"; left by killed builds: {len(killed)}" if killed else ""))
    return 0
