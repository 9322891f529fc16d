"""Lifecycle verbs: start, stop, kill, restart, wait, pause, unpause, rename, attach."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tug.cli import flags
from tug.cli.common import engine, store_options


def each(ctx: flags.Context, names: tuple[str, ...], act: Callable[[Any, Any], object], root_: str | None,
         runroot_: str | None, echo_name: bool = True) -> int:
    """Apply `act(engine, container)` to every name; print the name as given (docker does), errors on stderr."""
    from tug.engine import containers
    from tug.errors import TugError

    eng = engine(ctx, root_, runroot_)
    code = 0
    for n in names:
        try:
            out = act(eng, containers.find(eng, n))
            if echo_name:
                flags.echo(n)
            elif out is not None:
                flags.echo(str(out))
        except TugError as e:
            flags.echo(f"Error response from daemon: {e.one_line()}", err=True)
            code = 1
    return code


@flags.command("start")
@flags.option("-a", "--attach", is_flag=True, help="Attach STDOUT/STDERR and forward signals")
@flags.option("-i", "--interactive", is_flag=True, help="Attach container's STDIN")
@flags.option("--detach-keys", help="Override the key sequence for detaching a container")
@flags.argument("names", nargs=-1, required=True)
@store_options
@flags.pass_context
def start(ctx, attach, interactive, detach_keys, names, root_, runroot_) -> int:
    """Start one or more stopped containers."""
    from tug.engine import containers, lifecycle
    from tug.engine import run as erun

    if not (attach or interactive):
        return each(ctx, names, lambda eng, c: lifecycle.start(eng, c), root_, runroot_)
    keys = _detach_keys(detach_keys)
    if len(names) > 1:
        raise flags.UsageError("you cannot start and attach multiple containers at once")
    eng = engine(ctx, root_, runroot_)
    ctr = containers.find(eng, names[0])
    stdin = interactive and ctr.options.interactive
    wanted = erun.attach_request(ctr.options)  # the streams `create -a` chose (stdout and stderr by default)
    sock = lifecycle.start(eng, ctr, {**wanted, "stdin": stdin})
    assert sock is not None
    return erun.finish_attached(eng, ctr, sock, ctr.options.tty, stdin, True, keys)


@flags.command("stop")
@flags.option("-t", "--time", "--timeout", "timeout", type=int, default=None,
              help="Seconds to wait before killing the container")
@flags.option("-s", "--signal", "sig", default=None, help="Signal to send to the container")
@flags.argument("names", nargs=-1, required=True)
@store_options
@flags.pass_context
def stop(ctx, timeout, sig, names, root_, runroot_) -> int:
    """Stop one or more running containers."""
    from tug.engine import lifecycle

    def act(eng, c):
        if sig:
            c.extra["stop_signal"] = sig
        lifecycle.stop(eng, c, timeout)

    return each(ctx, names, act, root_, runroot_)


@flags.command("kill")
@flags.option("-s", "--signal", "sig", default="SIGKILL", help="Signal to send to the container")
@flags.argument("names", nargs=-1, required=True)
@store_options
@flags.pass_context
def kill(ctx, sig, names, root_, runroot_) -> int:
    """Kill one or more running containers."""
    from tug.engine import lifecycle

    lifecycle.signal_number(sig)  # a bad signal fails before anything is sent
    return each(ctx, names, lambda eng, c: lifecycle.kill(eng, c, sig), root_, runroot_)


@flags.command("restart")
@flags.option("-t", "--time", "--timeout", "timeout", type=int, default=None,
              help="Seconds to wait before killing the container")
@flags.option("-s", "--signal", "sig", default=None, help="Signal to send to the container")
@flags.argument("names", nargs=-1, required=True)
@store_options
@flags.pass_context
def restart(ctx, timeout, sig, names, root_, runroot_) -> int:
    """Restart one or more containers."""
    from tug.engine import containers, lifecycle

    def act(eng, c):
        if sig:
            c.extra["stop_signal"] = sig
        lifecycle.stop(eng, c, timeout)
        lifecycle.start(eng, containers.find(eng, c.id))

    return each(ctx, names, act, root_, runroot_)


@flags.command("wait")
@flags.argument("names", nargs=-1, required=True)
@store_options
@flags.pass_context
def wait(ctx, names, root_, runroot_) -> int:
    """Block until one or more containers stop, then print their exit codes."""
    from tug.engine import lifecycle

    return each(ctx, names, lambda eng, c: lifecycle.wait(eng, c), root_, runroot_, echo_name=False)


@flags.command("pause")
@flags.argument("names", nargs=-1, required=True)
@store_options
@flags.pass_context
def pause(ctx, names, root_, runroot_) -> int:
    """Pause all processes within one or more containers."""
    from tug.engine import lifecycle

    return each(ctx, names, lambda eng, c: lifecycle.pause(eng, c), root_, runroot_)


@flags.command("unpause")
@flags.argument("names", nargs=-1, required=True)
@store_options
@flags.pass_context
def unpause(ctx, names, root_, runroot_) -> int:
    """Unpause all processes within one or more containers."""
    from tug.engine import lifecycle

    return each(ctx, names, lambda eng, c: lifecycle.unpause(eng, c), root_, runroot_)


@flags.command("rename")
@flags.argument("old")
@flags.argument("new")
@store_options
@flags.pass_context
def rename(ctx, old, new, root_, runroot_) -> int:
    """Rename a container."""
    from tug.engine import containers

    containers.rename(engine(ctx, root_, runroot_), old, new)
    return 0


@flags.command("attach")
@flags.option("--no-stdin", is_flag=True, help="Do not attach STDIN")
@flags.option("--sig-proxy", is_flag=True, default=True, help="Proxy received signals to the process (default true)")
@flags.option("--detach-keys", help="Override the key sequence for detaching a container")
@flags.argument("name")
@store_options
@flags.pass_context
def attach(ctx, no_stdin, sig_proxy, detach_keys, name, root_, runroot_) -> int:
    """Attach local standard input, output, and error streams to a running container."""
    from tug.engine import containers, lifecycle
    from tug.engine import run as erun
    from tug.errors import Conflict

    keys = _detach_keys(detach_keys)
    eng = engine(ctx, root_, runroot_)
    ctr = containers.find(eng, name)
    lifecycle.refresh(eng, ctr)
    if ctr.status not in ("running", "restarting"):
        raise Conflict("You cannot attach to a stopped container, start it first" if ctr.status != "paused"
                       else "You cannot attach to a paused container, unpause it first")
    stdin = ctr.options.interactive and not no_stdin
    sock = lifecycle.connect(eng, ctr, {"stdin": stdin, "stdout": True, "stderr": True,
                                        "resize": erun.attach_request(ctr.options)["resize"]})
    return erun.finish_attached(eng, ctr, sock, ctr.options.tty, stdin, sig_proxy, keys)


def _detach_keys(text: str | None) -> bytes | None:
    """docker's `--detach-keys` (None: ctrl-p,ctrl-q), refused before anything is started."""
    if text is None:
        return None
    from tug.engine.attach import parse_detach_keys

    return parse_detach_keys(text)
