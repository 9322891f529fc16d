"""Starting, stopping, signalling and reconciling containers, each through its monitor.

`start` spawns the container's monitor (`pending.spawn_monitor_process`: its own session, a fresh small interpreter)
and waits on a sync pipe until the runtime has started the container or failed. Later commands talk to the monitor
on its attach socket (stop, kill, wait) and read its `state.json`; `refresh` reconciles the database with what the
monitor (or, if the monitor was killed, the container's init process itself) says, so no container stays "running"
by mistake.
"""

from __future__ import annotations

# `signal` and `socket` are imported where they are used: `tug run` imports this module, and their enums and
# selectors would cost ~2 ms of its start-up
import _signal
import json
import os
import time

from tug import jsontext
from tug.engine import runstate
from tug.engine.containers import Container, bundle_dir, image_chain, save_state
from tug.engine.engine import Engine
from tug.engine.pending import PendingMonitor, monitor_argv, spawn_monitor_process
from tug.errors import CannotInvoke, CommandNotFound, Conflict, Invalid, SystemFailure
from tug.oci.times import now_rfc3339

TYPE_CHECKING = False
if TYPE_CHECKING:
    import socket
    from typing import Any

ACTIVE = ("running", "paused", "restarting")


def runtime_cmd(eng: Engine, *args: str, runtime: str = "tug") -> list[str]:
    """The argv of an OCI runtime verb: tug-runtime by default, or a runc-compatible binary by name or path."""
    if runtime in ("", "tug", "tug-runtime"):
        from tug.runtime.launch import runtime_argv

        return [*runtime_argv(), "--root", str(eng.runtime_root), *args]
    import shutil

    path = shutil.which(runtime)
    if path is None:
        from tug.errors import NotFound

        raise NotFound(f"unknown or invalid runtime name: {runtime}")
    return [path, "--root", str(eng.runroot / os.path.basename(runtime)), *args]


def run_dir(eng: Engine, ctr: Container) -> str:
    return runstate.run_dir(str(eng.runroot), ctr.id)


def signal_number(sig: str | int | None, default: int = _signal.SIGTERM) -> int:
    if sig is None or sig == "":
        return int(default)
    if isinstance(sig, int) or str(sig).isdigit():
        return int(sig)
    name = str(sig).upper()
    if not name.startswith("SIG"):
        name = "SIG" + name
    try:
        import signal

        return int(signal.Signals[name])
    except KeyError:
        raise Invalid(f"invalid signal: {sig}") from None


# --- start ---------------------------------------------------------------------------------------------------


def _cgroup_paths(spec: dict[str, Any]) -> list[str]:
    path = (spec.get("linux") or {}).get("cgroupsPath") or ""
    if not path or ":" in path:
        return []
    rel = path.lstrip("/")
    if os.path.exists("/sys/fs/cgroup/cgroup.controllers"):
        return [f"/sys/fs/cgroup/{rel}"]
    return [f"/sys/fs/cgroup/memory/{rel}"]


def _overlay_volatile() -> bool:
    """overlayfs takes `volatile` from Linux 5.10 on."""
    try:
        major, minor = (int(x) for x in os.uname().release.split(".")[:2])
    except ValueError:
        return False
    return (major, minor) >= (5, 10)


def monitor_config(eng: Engine, ctr: Container, attach: dict[str, Any] | None) -> dict[str, Any]:
    from tug.engine.logs import log_options, log_path

    o = ctr.options
    d = eng.container_dir(ctr.id)
    bundle = bundle_dir(eng, ctr.id)
    spec = json.loads((bundle / "config.json").read_text())
    mount = None
    chains = image_chain(ctr)
    if chains and not o.rootfs:
        m = eng.snapshots.overlay_mount(chains, d / "upper", d / "work", bundle / "rootfs")
        # a --rm container's upper dir is thrown away: `volatile` spares the syncs of the upper filesystem (the
        # unmount at the end otherwise waits for them); a crash leaves only a dir that removal deletes anyway
        data = m.data + ",volatile" if o.rm and _overlay_volatile() else m.data
        mount = {"source": m.source, "target": str(m.target), "fstype": m.fstype, "data": data,
                 "cwd": str(m.cwd) if m.cwd else None}
        if o.userns:  # issue 7: layers and the container's dir idmapped first (tug.engine.userns)
            from tug.engine.userns import idmap_request

            mount["idmap"] = idmap_request(spec, [eng.snapshots.path(c) for c in chains], d, eng.root)
    max_size, max_files = log_options(o.log_opts)
    rd = run_dir(eng, ctr)
    health = ctr.extra.get("health")
    if health:
        from tug.engine.exec import process_document
        from tug.engine.health import probe_args

        probe = process_document(spec["process"], probe_args(health["test"]))
        jsontext.write_file(os.path.join(rd, "probe.json"), probe)
    return {
        "id": ctr.id, "name": ctr.name, "root": str(eng.root), "runroot": str(eng.runroot),
        "runtime": runtime_cmd(eng, runtime=o.runtime), "inproc": o.runtime in ("", "tug", "tug-runtime", None),
        "bundle": str(bundle), "mount": mount,
        "tty": o.tty, "interactive": o.interactive, "rm": o.rm,
        "log": {"path": log_path(str(d), ctr.id), "max_size": max_size, "max_files": max_files},
        "restart": ctr.extra.get("restart_policy") or {"Name": "no", "MaximumRetryCount": 0},
        "health": health, "probe_process": os.path.join(rd, "probe.json"),
        "cgroup_paths": _cgroup_paths(spec), "attach": attach,
        "winsize": attach.get("resize") if attach else None,
    }


def spawn_monitor(eng: Engine, ctr: Container, attach: dict[str, Any] | None,
                  pending: PendingMonitor | None = None) -> tuple[dict[str, Any], socket.socket | None]:
    """Start the container's monitor, detached (or hand its run directory to one started ahead); wait for its
    report. Returns (report, attached socket)."""
    rd = run_dir(eng, ctr)
    os.makedirs(rd, mode=0o700, exist_ok=True)
    for stale in ("state.json", "attach.sock", "init.pid"):
        try:
            os.unlink(os.path.join(rd, stale))
        except FileNotFoundError:
            pass
    eng.runtime_root.mkdir(parents=True, exist_ok=True)
    cfg = monitor_config(eng, ctr, attach)
    jsontext.write_file(os.path.join(rd, "monitor.json"), cfg)
    if pending is not None and (attach is not None) == (pending.ours is not None):
        sync_r, ours = pending.go(rd)
    else:
        if pending is not None:
            pending.cancel()
        sync_r, sync_w = os.pipe2(os.O_CLOEXEC)
        ours = theirs = None
        if attach is not None:
            import socket

            ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            spawn_monitor_process([*monitor_argv(), rd], sync_w, theirs, os.path.join(rd, "monitor.log"))
        finally:
            os.close(sync_w)
            if theirs is not None:
                theirs.close()
    data = bytearray()
    while chunk := os.read(sync_r, 65536):
        data.extend(chunk)
    os.close(sync_r)
    try:
        report = json.loads(data) if data else {}
    except ValueError:
        report = {}
    if not report:
        report = {"ok": False, "code": 125, "error": "the container's monitor ended before starting it: "
                  + _tail(os.path.join(rd, "monitor.log"))}
    if not report.get("ok") and ours is not None:
        ours.close()
        ours = None
    return report, ours


def _tail(path: str) -> str:
    try:
        with open(path, errors="replace") as f:
            lines = [ln for ln in f.read().splitlines() if ln.strip()]
        return lines[-1] if lines else "no message"
    except OSError:
        return "no message"


def start(eng: Engine, ctr: Container, attach: dict[str, Any] | None = None,
          pending: PendingMonitor | None = None) -> socket.socket | None:
    """Start a created or exited container under a new monitor (or `pending`, one started ahead). With `attach` (the
    streams wanted), return a socket already attached before the container's first output."""
    try:
        refresh(eng, ctr)
        if ctr.status in ("running", "restarting"):
            return connect(eng, ctr, attach) if attach is not None else None
        if ctr.status == "paused":
            raise Conflict(f"cannot start a paused container {ctr.name}, try unpause instead")
        from tug.engine import netattach  # issue 8: the network namespace is made and wired before the runtime runs

        netattach.attach(eng, ctr)
    except BaseException:
        if pending is not None:
            pending.cancel()
        raise
    report, sock = spawn_monitor(eng, ctr, attach, pending)
    if not report.get("ok"):
        msg = report.get("error") or "unknown error"
        code = int(report.get("code") or 125)
        save_state(eng, ctr, Status="created" if ctr.status == "created" else "exited", ExitCode=code, Error=msg,
                   Pid=0, MonitorPid=0)
        release(eng, ctr)
        text = f"failed to start container {ctr.short_id}: {msg}"
        if code == 127:
            raise CommandNotFound(text)
        if code == 126:
            raise CannotInvoke(text)
        raise SystemFailure(text)
    save_state(eng, ctr, Status="running", Pid=int(report["pid"]), StartedAt=report["started_at"], ExitCode=0,
               Error="", OOMKilled=False, FinishedAt=ctr.state.get("FinishedAt", ""),
               MonitorPid=int(report["monitor_pid"]), MonitorStart=report.get("monitor_start"), Health=None,
               RestartCount=0)
    return sock


# --- talking to a running monitor ----------------------------------------------------------------------------


def connect(eng: Engine, ctr: Container, hello: dict[str, Any] | None = None) -> socket.socket:
    """A socket attached to the container's monitor (HELLO sent). Raises Conflict when there is no monitor."""
    from tug.engine import streams

    rd = run_dir(eng, ctr)
    try:
        path, dfd = runstate.connect_path(rd, "attach.sock")
    except OSError:
        raise Conflict(f"container {ctr.name} is not running") from None
    import socket

    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(path)
    except OSError:
        s.close()
        raise Conflict(f"container {ctr.name} is not running") from None
    finally:
        os.close(dfd)
    s.sendall(streams.frame(streams.HELLO, json.dumps(hello or {}).encode()))
    return s


def _send_and_wait(s: socket.socket, frames: bytes, timeout: float | None) -> int | None:
    """Send control frames; wait for EXIT (its code) or the monitor closing the socket (None)."""
    from tug.engine import streams

    dec = streams.Decoder()
    if frames:
        s.sendall(frames)
    s.settimeout(timeout)
    try:
        while data := s.recv(65536):
            for kind, payload in dec.feed(data):
                if kind == streams.EXIT:
                    return int(payload)
    except (TimeoutError, OSError):
        return None
    finally:
        s.close()
    return None


def _wait_monitor_gone(ctr: Container, timeout: float = 30) -> None:
    pid, ticks = int(ctr.state.get("MonitorPid") or 0), ctr.state.get("MonitorStart")
    end = time.monotonic() + timeout
    while runstate.same_process(pid, ticks) and time.monotonic() < end:
        time.sleep(0.01)


def monitor_alive(ctr: Container) -> bool:
    return runstate.same_process(int(ctr.state.get("MonitorPid") or 0), ctr.state.get("MonitorStart"))


def stop(eng: Engine, ctr: Container, timeout: int | None = None) -> None:
    """docker stop: the stop signal, then SIGKILL after `timeout` seconds (default the container's, or 10)."""
    from tug.engine import streams

    refresh(eng, ctr)
    if ctr.status not in ACTIVE:
        return
    t = timeout if timeout is not None else (ctr.options.stop_timeout if ctr.options.stop_timeout is not None
                                              else 10)
    sig = signal_number(ctr.extra.get("stop_signal") or ctr.options.stop_signal)
    if ctr.status == "paused":
        unpause(eng, ctr)
    if monitor_alive(ctr):
        try:
            s = connect(eng, ctr)
        except Conflict:
            s = None
        if s is not None:
            _send_and_wait(s, streams.frame(streams.STOP, f"{max(t, 0)} {sig}".encode()),
                           None if t < 0 else t + 30)
            _wait_monitor_gone(ctr)
            refresh(eng, ctr)
            return
    _stop_orphan(eng, ctr, t, sig)


def _stop_orphan(eng: Engine, ctr: Container, t: int, sig: int) -> None:
    """The monitor is gone but the container runs: signal its init directly, then record what we know."""
    pid, ticks = int(ctr.state.get("Pid") or 0), ctr.state.get("PidStart")
    sent = sig
    if runstate.same_process(pid, ticks):
        _kill(pid, sig)
        end = time.monotonic() + max(t, 0)
        while runstate.same_process(pid, ticks) and time.monotonic() < end:
            time.sleep(0.02)
        if runstate.same_process(pid, ticks):
            sent = _signal.SIGKILL
            _kill(pid, _signal.SIGKILL)
            end = time.monotonic() + 10
            while runstate.same_process(pid, ticks) and time.monotonic() < end:
                time.sleep(0.02)
    save_state(eng, ctr, LastSignal=int(sent))
    refresh(eng, ctr)


def kill(eng: Engine, ctr: Container, sig: str | int = "SIGKILL", wait: bool = False) -> None:
    """docker kill: send a signal; the container is not restarted by its policy afterwards."""
    from tug.engine import streams

    refresh(eng, ctr)
    if ctr.status not in ACTIVE:
        raise Conflict(f"Cannot kill container: {ctr.name}: container {ctr.id} is not running")
    num = signal_number(sig, _signal.SIGKILL)
    if ctr.status == "paused" and num == _signal.SIGKILL:
        _thaw_after_kill = True
    else:
        _thaw_after_kill = False
    if monitor_alive(ctr):
        try:
            s = connect(eng, ctr)
            if wait or num == _signal.SIGKILL:
                s.sendall(streams.frame(streams.KILL, str(num).encode()))
                if _thaw_after_kill:
                    _freeze(eng, ctr, False)
                _send_and_wait(s, b"", 30)
                _wait_monitor_gone(ctr)
            else:
                s.sendall(streams.frame(streams.KILL, str(num).encode()))
                s.close()
            refresh(eng, ctr)
            return
        except Conflict:
            pass
    pid, ticks = int(ctr.state.get("Pid") or 0), ctr.state.get("PidStart")
    if runstate.same_process(pid, ticks):
        _kill(pid, num)
        if _thaw_after_kill:
            _freeze(eng, ctr, False)
        if wait or num == _signal.SIGKILL:
            end = time.monotonic() + 10
            while runstate.same_process(pid, ticks) and time.monotonic() < end:
                time.sleep(0.02)
    save_state(eng, ctr, LastSignal=num)
    refresh(eng, ctr)


def wait(eng: Engine, ctr: Container) -> int:
    """docker wait: block until the container stops; its exit code."""
    refresh(eng, ctr)
    if ctr.status in ACTIVE:
        code = None
        if monitor_alive(ctr):
            try:
                code = _send_and_wait(connect(eng, ctr), b"", None)
            except Conflict:
                code = None
            if code is not None and ctr.options.restart in ("", "no", None):
                _wait_monitor_gone(ctr)
        else:
            pid, ticks = int(ctr.state.get("Pid") or 0), ctr.state.get("PidStart")
            while runstate.same_process(pid, ticks):
                time.sleep(0.05)
        refresh(eng, ctr)
        if code is not None:
            return code
    return int(ctr.state.get("ExitCode") or 0)


def _kill(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


# --- pause -----------------------------------------------------------------------------------------------------


def _freeze(eng: Engine, ctr: Container, frozen: bool) -> None:
    """Through the cgroups room: v1 freezer or v2 cgroup.freeze, waited for, a stuck FREEZING nudged."""
    from tug.engine.containers import cgroup_of
    from tug.errors import TugError

    try:
        cg = cgroup_of(eng, ctr)
        cg.freeze() if frozen else cg.thaw()
    except TugError as e:
        raise SystemFailure(f"cannot {'freeze' if frozen else 'thaw'} container {ctr.name}: {e.one_line()}") \
            from None


def pause(eng: Engine, ctr: Container) -> None:
    refresh(eng, ctr)
    if ctr.status == "paused":
        raise Conflict(f"Container {ctr.id} is already paused")
    if ctr.status != "running":
        raise Conflict(f"Container {ctr.id} is not running")
    _freeze(eng, ctr, True)
    save_state(eng, ctr, Status="paused")


def unpause(eng: Engine, ctr: Container) -> None:
    refresh(eng, ctr)
    if ctr.status != "paused":
        raise Conflict(f"Container {ctr.id} is not paused")
    _freeze(eng, ctr, False)
    save_state(eng, ctr, Status="running")


# --- reconciling -----------------------------------------------------------------------------------------------

VOLATILE = ("Pid", "PidStart", "StartedAt", "Health", "RestartCount", "ExitCode", "FinishedAt", "OOMKilled")


def refresh(eng: Engine, ctr: Container) -> None:
    """Bring `ctr.state` up to date with its monitor's state file; record an end nobody recorded."""
    if ctr.status not in ACTIVE:
        return
    st = runstate.read_state(str(eng.runroot), ctr.id) or {}
    if st.get("Final"):
        _record_end(eng, ctr, st)
        return
    if monitor_alive(ctr):
        for k in VOLATILE:
            if k in st:
                ctr.state[k] = st[k]
        if st.get("Status") == "restarting":
            ctr.state["Status"] = "restarting"
        elif st.get("Status") == "running" and ctr.state.get("Status") == "restarting":
            ctr.state["Status"] = "running"
        return
    # the monitor is gone (killed): trust the container's init process, identified by pid and start time
    pid = int(st.get("Pid") or ctr.state.get("Pid") or 0)
    ticks = st.get("PidStart") if "PidStart" in st else ctr.state.get("PidStart")
    if pid and runstate.same_process(pid, ticks):
        ctr.state["Pid"] = pid
        ctr.state["PidStart"] = ticks
        return
    last = int(ctr.state.get("LastSignal") or 0)
    _record_end(eng, ctr, {"ExitCode": 128 + last if last else 255, "FinishedAt": now_rfc3339(), "Pid": 0,
                           "OOMKilled": False, "Error": "" if last else "the container's monitor was killed"})


def _record_end(eng: Engine, ctr: Container, st: dict[str, Any]) -> None:
    fields = {k: st[k] for k in ("ExitCode", "FinishedAt", "OOMKilled", "Error", "RestartCount", "Health",
                                 "StartedAt") if k in st}
    if ctr.extra.get("health") and fields.get("Health"):
        fields["Health"] = dict(fields["Health"], Status="unhealthy") if False else fields["Health"]
    save_state(eng, ctr, Status="exited", Pid=0, MonitorPid=0, LastSignal=0, **fields)
    release(eng, ctr)


def release(eng: Engine, ctr: Container) -> None:
    """Remove what the runtime and the monitor keep for a container that no longer runs; idempotent."""
    o = ctr.options
    state_dir = (eng.runtime_root if o.runtime in ("", "tug", "tug-runtime")
                 else eng.runroot / os.path.basename(o.runtime)) / ctr.id
    if state_dir.exists():
        import subprocess

        subprocess.run(runtime_cmd(eng, "delete", "--force", ctr.id, runtime=o.runtime), capture_output=True,
                       timeout=30)
    from tug.network.attachment import release  # issue 8: addresses, veths, nft rules, hosts entries, netns holder

    release(eng.runroot, ctr.id)
    rd = run_dir(eng, ctr)
    if os.path.isdir(rd) and not monitor_alive(ctr):
        import shutil

        shutil.rmtree(rd, ignore_errors=True)
