"""`tug run`: create, then start under a monitor, attached (relaying our stdio) or detached (`-d`)."""

from __future__ import annotations

from tug.engine import containers, lifecycle
from tug.engine.containers import Container
from tug.engine.engine import Engine
from tug.engine.pending import PendingMonitor
from tug.errors import TugError
from tug.spec.options import RunOptions

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def attach_request(opts: RunOptions) -> dict[str, object]:
    from tug.engine.attach import terminal_size

    wanted = {s.lower() for s in opts.attach} or {"stdout", "stderr"}  # -a: only those streams (docker's rule)
    return {"stdin": opts.interactive, "stdout": "stdout" in wanted, "stderr": "stderr" in wanted,
            "resize": terminal_size() if opts.tty else None}


def run(eng: Engine, opts: RunOptions, sig_proxy: bool = True, on_event: Any = None,
        detach_keys: bytes | None = None, on_created: Any = None,
        pending: PendingMonitor | None = None) -> tuple[Container, int]:
    """Returns the container and the exit code (0 for `-d`, once the container is running). `on_created(ctr)` is
    called between create and start (the CLI's --cidfile). `pending`: a monitor the caller started already (with
    `attach=not opts.detach`); one is started here otherwise."""
    # the monitor's interpreter starts on the other CPU while this one creates the container
    if pending is None:
        pending = PendingMonitor(str(eng.runroot), attach=not opts.detach)
    try:
        ctr = containers.create(eng, opts, on_event)
        if on_created is not None:
            on_created(ctr)
    except BaseException:
        pending.cancel()
        raise
    try:
        sock = lifecycle.start(eng, ctr, None if opts.detach else attach_request(opts), pending)
    except TugError:
        if opts.rm:
            containers.remove(eng, ctr.id, force=True)
        raise
    if sock is None:
        return ctr, 0
    return ctr, finish_attached(eng, ctr, sock, opts.tty, opts.interactive, sig_proxy, detach_keys)


def finish_attached(eng: Engine, ctr: Container, sock, tty: bool, stdin: bool, sig_proxy: bool,
                    detach_keys: bytes | None = None) -> int:
    """Relay until the container's process ends; its exit code. Detaching (ctrl-p ctrl-q) returns 0."""
    from tug.engine.attach import relay

    try:
        code = relay(sock, tty=tty, stdin=stdin, sig_proxy=sig_proxy, detach_keys=detach_keys)
    finally:
        sock.close()
    if code is None:  # detached, or the monitor went away: ask the store what happened
        try:
            fresh = containers.find(eng, ctr.id)
        except TugError:
            return 0
        lifecycle.refresh(eng, fresh)
        if fresh.status in lifecycle.ACTIVE:
            return 0
        code = int(fresh.state.get("ExitCode") or 0)
    if not ctr.options.rm:
        lifecycle._wait_monitor_gone(ctr, timeout=5) if ctr.options.restart in (None, "", "no") else None
        try:
            fresh = containers.find(eng, ctr.id)
            lifecycle.refresh(eng, fresh)
        except TugError:
            pass
    return code
