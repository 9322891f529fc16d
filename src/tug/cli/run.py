"""`tug run` and `tug create`: docker's flags decoded into `RunOptions`, then one engine call."""

from __future__ import annotations

from collections.abc import Callable

from tug.cli import flags
from tug.cli.common import engine, roots, store_options
from tug.spec.options import RunOptions

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

SETTINGS = {"allow_interspersed_args": False, "help_option_names": ["--help"]}


HELP = {
    "--name": "Assign a name to the container", "--rm": "Remove the container when it exits",
    "--interactive": "Keep STDIN open even if not attached", "--tty": "Allocate a pseudo-TTY",
    "--env": "Set environment variables", "--env-file": "Read in a file of environment variables",
    "--workdir": "Working directory inside the container",
    "--user": "Username or UID (format: <name|uid>[:<group|gid>])",
    "--entrypoint": "Overwrite the default ENTRYPOINT of the image", "--hostname": "Container host name",
    "--domainname": "Container NIS domain name", "--network": "Connect a container to a network",
    "--volume": "Bind mount a volume", "--mount": "Attach a filesystem mount to the container",
    "--tmpfs": "Mount a tmpfs directory", "--rootfs": "Run a directory as the root filesystem, instead of an image",
    "--label": "Set meta data on a container", "--label-file": "Read in a line delimited file of labels",
    "--publish": "Publish a container's port(s) to the host",
    "--publish-all": "Publish all exposed ports to random ports", "--expose": "Expose a port or a range of ports",
    "--dns": "Set custom DNS servers", "--dns-search": "Set custom DNS search domains",
    "--dns-option": "Set DNS options", "--add-host": "Add a custom host-to-IP mapping (host:ip)",
    "--ip": "IPv4 address (e.g., 172.30.100.104)", "--mac-address": "Container MAC address",
    "--network-alias": "Add network-scoped alias for the container",
    "--volumes-from": "Mount volumes from the specified container(s)",
    "--privileged": "Give extended privileges to this container", "--cap-add": "Add Linux capabilities",
    "--cap-drop": "Drop Linux capabilities", "--security-opt": "Security Options",
    "--read-only": "Mount the container's root filesystem as read only",
    "--group-add": "Add additional groups to join", "--device": "Add a host device to the container",
    "--sysctl": "Sysctl options", "--ulimit": "Ulimit options",
    "--init": "Run an init inside the container that forwards signals and reaps processes",
    "--shm-size": "Size of /dev/shm", "--memory": "Memory limit",
    "--memory-swap": "Swap limit equal to memory plus swap: '-1' to enable unlimited swap",
    "--memory-reservation": "Memory soft limit", "--cpus": "Number of CPUs",
    "--cpu-shares": "CPU shares (relative weight)", "--cpuset-cpus": "CPUs in which to allow execution (0-3, 0,1)",
    "--cpuset-mems": "MEMs in which to allow execution (0-3, 0,1)",
    "--cpu-period": "Limit CPU CFS (Completely Fair Scheduler) period",
    "--cpu-quota": "Limit CPU CFS (Completely Fair Scheduler) quota",
    "--cpu-rt-period": "Limit CPU real-time period in microseconds (cgroup v1)",
    "--cpu-rt-runtime": "Limit CPU real-time runtime in microseconds (cgroup v1)",
    "--pids-limit": "Tune container pids limit (set -1 for unlimited)",
    "--cgroup-parent": "Optional parent cgroup for the container",
    "--blkio-weight": "Block IO (relative weight), between 10 and 1000",
    "--blkio-weight-device": "Block IO weight (relative device weight), PATH:WEIGHT",
    "--device-read-bps": "Limit read rate (bytes per second) from a device",
    "--device-write-bps": "Limit write rate (bytes per second) to a device",
    "--device-read-iops": "Limit read rate (IO per second) from a device",
    "--device-write-iops": "Limit write rate (IO per second) to a device",
    "--device-cgroup-rule": "Add a rule to the cgroup allowed devices list",
    "--oom-score-adj": "Tune host's OOM preferences (-1000 to 1000)",
    "--memory-swappiness": "Tune container memory swappiness (0 to 100, cgroup v1)",
    "--oom-kill-disable": "Disable OOM Killer (cgroup v1)",
    "--pull": "Pull image before running (\"always\", \"missing\", \"never\")",
    "--restart": "Restart policy to apply when a container exits",
    "--stop-signal": "Signal to stop the container", "--stop-timeout": "Timeout (in seconds) to stop a container",
    "--log-driver": "Logging driver for the container (json-file)", "--log-opt": "Log driver options",
    "--health-cmd": "Command to run to check health", "--no-healthcheck": "Disable any container-specified HEALTHCHECK",
    "--health-interval": "Time between running the check (ms|s|m|h)",
    "--health-timeout": "Maximum time to allow one check to run (ms|s|m|h)",
    "--health-retries": "Consecutive failures needed to report unhealthy",
    "--health-start-period": "Start period for the container to initialize before counting retries",
    "--health-start-interval": "Time between running the check during the start period",
    "--platform": "Set platform if the image is multi-platform",
    "--runtime": "Runtime to use for this container (tug, or a runc-compatible binary)",
    "--userns": "User namespace to use (host, auto[:size=N], keep-id)",
    "--attach": "Attach to STDIN, STDOUT or STDERR", "--cidfile": "Write the container ID to the file",
    "--pid": "PID namespace to use", "--ipc": "IPC mode to use", "--uts": "UTS namespace to use",
    "--cgroupns": "Cgroup namespace to use (host|private)",
    "--quiet": "Suppress the pull output",
}


def _opt(*names: str, multiple: bool = False, flag: bool = False, **kw: Any) -> Callable[..., Any]:
    long = next((n for n in names if n.startswith("--")), "")
    kw.setdefault("help", HELP.get(long, ""))
    if flag:
        return flags.option(*names, is_flag=True, default=False, **kw)
    return flags.option(*names, multiple=multiple, default=() if multiple else None, **kw)


def _stream(value: str) -> str:
    if value.lower() not in ("stdin", "stdout", "stderr"):
        raise ValueError("valid streams are STDIN, STDOUT and STDERR")
    return value.lower()


RUN_FLAGS = [
    _opt("--name"), _opt("--rm", flag=True), _opt("-i", "--interactive", flag=True), _opt("-t", "--tty", flag=True),
    _opt("-e", "--env", multiple=True), _opt("--env-file", "env_files", multiple=True), _opt("-w", "--workdir"),
    _opt("-u", "--user"), _opt("--entrypoint"), _opt("-h", "--hostname"), _opt("--domainname"),
    _opt("--network", "--net", "network"), _opt("-v", "--volume", "volumes", multiple=True),
    _opt("--mount", "mounts", multiple=True), _opt("--tmpfs", multiple=True), _opt("--rootfs"),
    _opt("-l", "--label", "labels", multiple=True), _opt("-p", "--publish", multiple=True),
    _opt("-P", "--publish-all", flag=True), _opt("--expose", multiple=True), _opt("--dns", multiple=True),
    _opt("--add-host", "add_hosts", multiple=True),
    _opt("--ip"), _opt("--mac-address"), _opt("--network-alias", "network_aliases", multiple=True),  # issue 8
    _opt("--volumes-from", multiple=True), _opt("--privileged", flag=True),
    _opt("--cap-add", multiple=True), _opt("--cap-drop", multiple=True), _opt("--security-opt", multiple=True),
    _opt("--read-only", flag=True), _opt("--group-add", multiple=True), _opt("--device", "devices", multiple=True),
    _opt("--sysctl", "sysctls", multiple=True), _opt("--ulimit", "ulimits", multiple=True), _opt("--init", flag=True),
    _opt("--shm-size"), _opt("-m", "--memory"), _opt("--memory-swap"), _opt("--memory-reservation"), _opt("--cpus"),
    _opt("-c", "--cpu-shares", type=int), _opt("--cpuset-cpus"), _opt("--pids-limit", type=int),
    _opt("--cgroup-parent"), _opt("--blkio-weight", type=int), _opt("--cpuset-mems"),  # issue 7
    _opt("--device-read-bps", multiple=True), _opt("--device-write-bps", multiple=True),
    _opt("--device-read-iops", multiple=True), _opt("--device-write-iops", multiple=True),
    _opt("--oom-score-adj", type=int), _opt("--pull", type=flags.Choice(["missing", "always", "never"])),
    _opt("--restart"), _opt("--stop-signal"), _opt("--stop-timeout", type=int),
    _opt("--log-opt", "log_opts", multiple=True), _opt("--health-cmd"), _opt("--no-healthcheck", flag=True),
    _opt("--health-interval"), _opt("--health-timeout"), _opt("--health-retries", type=int),
    _opt("--health-start-period"), _opt("--health-start-interval"),
    _opt("--platform"), _opt("--runtime"), _opt("--userns"),
    _opt("-a", "--attach", multiple=True, type=_stream), _opt("--cidfile"), _opt("--label-file", multiple=True),
    _opt("--dns-search", multiple=True), _opt("--dns-option", "dns_options", multiple=True),
    _opt("--cpu-period", type=int), _opt("--cpu-quota", type=int), _opt("--cpu-rt-period", type=int),
    _opt("--cpu-rt-runtime", type=int), _opt("--memory-swappiness", type=int),
    _opt("--oom-kill-disable", flag=True), _opt("--pid"), _opt("--ipc"), _opt("--uts"), _opt("--cgroupns"),
    _opt("--log-driver", type=flags.Choice(["json-file"])), _opt("-q", "--quiet", flag=True),
    _opt("--blkio-weight-device", multiple=True), _opt("--device-cgroup-rule", "device_cgroup_rules", multiple=True),
]


def _pull_printer(quiet: bool = False) -> Callable[..., Any] | None:
    """Pull progress of `run`/`create` goes to stderr, as docker's does (none with -q)."""
    if quiet:
        return None
    printer = None

    def on_event(event: Any) -> None:  # the progress printer is loaded only if a pull happens
        nonlocal printer
        if printer is None:
            import sys

            from tug.cli.progress import Printer

            printer = Printer(out=sys.stderr)
        printer(event)

    return on_event


def _read_label_files(paths: tuple[str, ...]) -> list[str]:
    """--label-file: one KEY=VALUE per line; blank lines and lines starting with '#' are skipped (docker's rule)."""
    from tug.errors import Invalid

    out = []
    for path in paths:
        try:
            with open(path, encoding="utf-8") as f:
                lines = f.read().splitlines()
        except OSError as e:
            raise Invalid(f"--label-file {path}: {e.strerror}") from None
        out += [ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]
    return out


class _CidFile:
    """--cidfile: refused up front if the file exists (as docker), written once the container exists."""

    def __init__(self, path: str | None) -> None:
        import os

        from tug.errors import Conflict

        self.path = path
        if path and os.path.exists(path):
            raise Conflict(f"container ID file found, make sure the other container isn't running or delete {path}")

    def __call__(self, ctr: Any) -> None:
        if self.path:
            from tug.errors import Invalid

            try:
                with open(self.path, "x") as f:
                    f.write(ctr.id)
            except OSError as e:
                raise Invalid(f"failed to create the container ID file {self.path}: {e.strerror}") from None


def run_flags(f: Callable[..., Any]) -> Callable[..., Any]:
    for dec in reversed(RUN_FLAGS):
        f = dec(f)
    f = flags.argument("command", nargs=-1, type=flags.UNPROCESSED)(f)
    return flags.argument("image")(f)


def to_options(kw: dict[str, Any], detach: bool = False) -> RunOptions:
    opts = RunOptions()
    command = list(kw.pop("command", ()))
    image = kw.pop("image")
    if kw.get("label_file"):
        kw["labels"] = (*_read_label_files(kw["label_file"]), *kw.get("labels", ()))
    for key, value in kw.items():
        if value is None or not hasattr(opts, key):
            continue
        setattr(opts, key, list(value) if isinstance(value, tuple) else value)
    if kw.get("rootfs"):
        # `tug run --rootfs DIR CMD...`: the first positional is the command, not an image
        opts.rootfs = kw["rootfs"]
        command = [image, *command]
        image = ""
    opts.image = image
    opts.command = command
    opts.detach = detach
    if not kw.get("runtime"):
        import os

        opts.runtime = os.environ.get("TUG_RUNTIME") or opts.runtime
    return opts


@flags.command(context_settings=SETTINGS)
@run_flags
@flags.option("-d", "--detach", is_flag=True, default=False, help="Run in the background and print the container ID")
@flags.option("--sig-proxy", is_flag=True, default=True, help="Proxy received signals to the process (default true)")
@flags.option("--detach-keys", help="Override the key sequence for detaching a container")
@store_options
@flags.pass_context
def run(ctx: flags.Context, detach: bool, sig_proxy: bool, detach_keys: str | None, root_: str | None,
        runroot_: str | None, **kw: Any) -> int:
    """Create and run a new container from an image."""
    if detach and kw.get("attach"):
        raise flags.ArgumentError("Conflicting options: -a and -d", ctx)  # docker's CLI exits 1 for it
    from tug.engine.pending import PendingMonitor

    # first thing: the monitor's interpreter boots on the other CPU while this one imports the engine and creates
    pending = PendingMonitor(roots(ctx, root_, runroot_)[1], attach=not detach)
    try:
        eng = engine(ctx, root_, runroot_)
        from tug.engine import run as engine_run

        cidfile = _CidFile(kw.get("cidfile"))
        keys = None
        if detach_keys is not None:
            from tug.engine.attach import parse_detach_keys

            keys = parse_detach_keys(detach_keys)  # a bad sequence fails before anything is created
        opts = to_options(kw, detach)
    except BaseException:
        pending.cancel()
        raise
    ctr, code = engine_run.run(eng, opts, sig_proxy=sig_proxy, on_event=_pull_printer(kw.get("quiet", False)),
                               detach_keys=keys, on_created=cidfile, pending=pending)
    if detach:
        flags.echo(ctr.id)
    return code


@flags.command(context_settings=SETTINGS)
@run_flags
@store_options
@flags.pass_context
def create(ctx: flags.Context, root_: str | None, runroot_: str | None, **kw: Any) -> int:
    """Create a new container."""
    from tug.engine import containers

    cidfile = _CidFile(kw.get("cidfile"))
    ctr = containers.create(engine(ctx, root_, runroot_), to_options(kw), _pull_printer(kw.get("quiet", False)))
    cidfile(ctr)
    flags.echo(ctr.id)
    return 0
