"""`tug exec`: a new process in a running container.

The process document starts from the container's own `process` in its config.json (environment, capabilities,
rlimits, user, no_new_privileges, AppArmor/SELinux labels), then docker's exec flags change it: `-e`, `-w`, `-u`,
`-t`, `--privileged`. The runtime's exec joins the container's namespaces and cgroup and applies the document.

Two ways to get there:
  - through the container's monitor (tug's own runtime, the usual case): the document and our stdin/stdout/stderr
    go over the monitor's socket, the monitor forks the runtime's exec in-process and answers with the exit code
    (`tug.engine.monitor_exec`). No interpreter starts, and this side imports no engine machinery: the container is
    looked up with one read-only query (`tug.engine.lookup`);
  - otherwise (runc, crun, a monitor that cannot, anything unusual): the runtime's `exec --process` as a program.
With `-t` the runtime sends the pty master over a console socket and this process relays it to the caller's
terminal.
"""

from __future__ import annotations

import _signal
import os
import struct

from tug import jsontext
from tug.engine import runstate, streams
from tug.errors import Conflict, Invalid

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from tug.engine.containers import Container
    from tug.engine.engine import Engine


class ExecOptions:
    """docker exec's flags (a plain class: dataclasses would cost exec's start-up several ms)."""

    def __init__(self, command: list[str], interactive: bool = False, tty: bool = False, detach: bool = False,
                 env: list[str] | None = None, workdir: str | None = None, user: str | None = None,
                 privileged: bool = False, detach_keys: bytes | None = None) -> None:
        self.command = command
        self.interactive = interactive
        self.tty = tty
        self.detach = detach
        self.env = list(env or [])
        self.workdir = workdir
        self.user = user
        self.privileged = privileged
        self.detach_keys = detach_keys  # None: ctrl-p ctrl-q


def process_document(base: dict[str, Any], args: list[str], env: list[str] = (),  # type: ignore[assignment]
                     workdir: str | None = None, user: dict[str, Any] | None = None, tty: bool = False,
                     all_caps: list[str] | None = None) -> dict[str, Any]:
    """The container's process with exec's changes (pure: only top-level keys are replaced, so a shallow copy
    leaves `base` as it was)."""
    p = dict(base)
    p["args"] = list(args)
    p["terminal"] = tty
    p.pop("consoleSize", None)
    if env:
        merged = {e.split("=", 1)[0]: e for e in p.get("env") or []}
        for e in env:
            merged[e.split("=", 1)[0]] = e
        p["env"] = list(merged.values())
    if workdir:
        p["cwd"] = workdir
    if user is not None:
        p["user"] = user
    if all_caps is not None:
        caps = list(all_caps)
        p["capabilities"] = {"bounding": caps, "effective": caps, "permitted": caps}
    return p


def _container_file(ctr_pid: int, rel: str) -> str | None:
    """A small file of the running container's root, resolved inside it (symlinks cannot leave the root)."""
    from tug.sys.inroot import open_path

    try:
        root = os.open(f"/proc/{ctr_pid}/root", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        fd = open_path(root, rel, os.O_RDONLY | os.O_CLOEXEC)
        with os.fdopen(fd, "rb") as f:
            return f.read(4 << 20).decode("utf-8", "replace")
    except Exception:  # noqa: BLE001 - a missing file reads as absent
        return None
    finally:
        os.close(root)


def _user(pid: int, spec_user: str) -> dict[str, Any]:
    from tug.spec.user import resolve_user

    ru = resolve_user(spec_user, _container_file(pid, "etc/passwd"), _container_file(pid, "etc/group"))
    return {"uid": ru.uid, "gid": ru.gid, "additionalGids": list(ru.additional_gids) or [ru.gid]}


def _all_caps() -> list[str]:
    from tug.spec.security import available_caps

    try:
        with open("/proc/sys/kernel/cap_last_cap") as f:
            last = int(f.read())
    except (OSError, ValueError):
        last = 40
    bounding = (1 << (last + 1)) - 1
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("CapBnd:"):
                    bounding = int(line.split()[1], 16)
    except OSError:
        pass
    return [c for i, c in enumerate(available_caps(last)) if bounding >> i & 1]  # what we hold, as docker gets


def _check(opts: ExecOptions) -> None:
    if not opts.command:
        raise Invalid("exec needs a command to run")
    if opts.workdir and not os.path.isabs(opts.workdir):
        raise Invalid(f"the working directory '{opts.workdir}' is invalid, it needs to be an absolute path")


def _document(base: dict[str, Any], opts: ExecOptions, pid: int, env: dict[str, str]) -> dict[str, Any]:
    cli_env: list[str] = []
    if opts.env:
        from tug.spec.env import resolve_cli_env

        cli_env = resolve_cli_env(opts.env, env)
    return process_document(base, opts.command, cli_env, opts.workdir, _user(pid, opts.user) if opts.user else None,
                            opts.tty, _all_caps() if opts.privileged else None)


def prepare(eng: Engine, ctr: Container, opts: ExecOptions) -> dict[str, Any]:
    import json

    from tug.engine import lifecycle
    from tug.engine.containers import bundle_dir

    lifecycle.refresh(eng, ctr)
    if ctr.status == "paused":
        raise Conflict(f"container {ctr.id} is paused, unpause the container before exec")
    if ctr.status != "running":
        raise Conflict(f"container {ctr.id} is not running")
    _check(opts)
    spec = json.loads((bundle_dir(eng, ctr.id) / "config.json").read_text())
    return _document(spec["process"], opts, int(ctr.state.get("Pid") or 0), eng.env)


def exec_named(root: str | None, runroot: str | None, name: str, opts: ExecOptions) -> int:
    """`tug exec NAME ...`: through the container's monitor when it can, else through the runtime's program."""

    from tug.engine.roots import store_paths

    root, runroot = store_paths(root, runroot)
    code = _through_monitor(root, runroot, name, opts)
    if code is not None:
        return code
    from pathlib import Path

    from tug.engine import containers
    from tug.engine.engine import Engine

    eng = Engine(Path(root), Path(runroot))
    return run(eng, containers.find(eng, name), opts)


def _through_monitor(root: str, runroot: str, name: str, opts: ExecOptions) -> int | None:
    """The exec done by the container's monitor (see the module's docstring); None when that is not possible (the
    caller takes the full path, which also words every error)."""
    from tug.engine import lookup

    row = lookup.find_container(root, name)
    if row is None:
        return None
    try:
        if jsontext.loads(row["state"] or "{}").get("Status") != "running":  # paused, restarting, exited...
            return None
    except ValueError:
        return None
    cid = row["id"]
    st = runstate.read_state(runroot, cid)
    if not st or st.get("Final") or st.get("Status") != "running" or not st.get("Exec") or not st.get("Pid"):
        return None
    _check(opts)
    try:
        with open(os.path.join(root, "containers", cid, "bundle", "config.json")) as f:
            spec = jsontext.loads(f.read())
    except (OSError, ValueError):
        return None
    process = _document(spec["process"], opts, int(st["Pid"]), dict(os.environ))
    rd = runstate.run_dir(runroot, cid)
    sock = _connect(rd)
    if sock is None:
        return None
    try:
        if opts.tty:
            from tug.engine import attach

            return attach.relay_exec_tty(sock, rd, jsontext.dumps(process).encode(), opts.interactive,
                                         attach.DETACH_KEYS if opts.detach_keys is None else opts.detach_keys,
                                         opts.detach)
        head = {"detach": opts.detach, "console": None}
        fds = [] if opts.detach else _stdio(opts.interactive)
        try:
            _send_exec(sock, head, process, fds)
        finally:
            for fd in fds[3:]:
                os.close(fd)
        return wait_exec(sock, proxy_signals=not opts.detach)
    finally:
        sock.close()


PROXIED = (_signal.SIGINT, _signal.SIGTERM, _signal.SIGHUP, _signal.SIGQUIT, _signal.SIGUSR1, _signal.SIGUSR2,
           _signal.SIGALRM, _signal.SIGCONT)  # as `tug attach` passes them on


def wait_exec(sock: Any, proxy_signals: bool) -> int:
    """Wait for the monitor's answer to an exec: the process's exit code (an ERROR first is printed as docker
    words a failed exec). Signals we get meanwhile are passed on to the process."""
    def forward(n: int, _frame: object) -> None:
        try:
            sock.sendall(streams.frame(streams.SIGNAL, str(n).encode()))
        except OSError:
            pass

    if proxy_signals:
        for sig in PROXIED:
            _signal.signal(sig, forward)
    dec = streams.Decoder()
    while True:
        try:
            chunk = sock.recv(65536)
        except OSError:
            chunk = b""
        if not chunk:
            streams.write_all(2, b"tug: the container's monitor went away during the exec\n")
            return 137
        for kind, payload in dec.feed(chunk):
            if kind == streams.ERROR:
                streams.write_all(2, f"OCI runtime exec failed: {payload.decode('utf-8', 'replace')}: unknown\n"
                                  .encode())
            elif kind == streams.EXIT:
                return int(payload)


def _connect(rd: str) -> Any:
    import _socket

    try:
        path, dfd = runstate.connect_path(rd, "attach.sock")
    except OSError:
        return None
    s = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM | _socket.SOCK_CLOEXEC)
    try:
        s.connect(path)
    except OSError:
        s.close()
        return None
    finally:
        os.close(dfd)
    return s


def _stdio(interactive: bool) -> list[int]:
    """Our stdin (or /dev/null without -i), stdout and stderr, each replaced by /dev/null when closed; the fds
    opened here are appended after the three (the caller closes them)."""
    fds = [0 if interactive else -1, 1, 2]
    opened = []
    for i, fd in enumerate(fds):
        if fd >= 0:
            try:
                os.fstat(fd)
                continue
            except OSError:
                pass
        null = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
        opened.append(null)
        fds[i] = null
    return fds + opened


def _send_exec(sock: Any, head: dict[str, Any], process: dict[str, Any], fds: list[int]) -> None:
    import _socket

    frame = streams.frame(streams.EXEC, jsontext.dumps(head).encode() + b"\n" + jsontext.dumps(process).encode())
    anc = [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, struct.pack("3i", *fds[:3]))] if fds else []
    sent = sock.sendmsg([frame], anc)
    if sent < len(frame):
        sock.sendall(frame[sent:])


def run(eng: Engine, ctr: Container, opts: ExecOptions) -> int:
    """Run the process through the runtime's program; its exit code (or 0 at once with `detach`)."""
    import json
    import subprocess

    from tug.engine import lifecycle

    process = prepare(eng, ctr, opts)
    rd = lifecycle.run_dir(eng, ctr)
    # the process document goes to the runtime as /proc/self/fd/N of an inherited memfd: no file to clean up
    fd = os.memfd_create("process.json", 0)
    try:
        os.write(fd, json.dumps(process).encode())
        argv = lifecycle.runtime_cmd(eng, "exec", "--process", f"/proc/self/fd/{fd}", runtime=ctr.options.runtime)
        from tug.runtime.sealed import sealed_argv  # issue 7: the exec'd process never sees the host's interpreter

        argv = sealed_argv(argv)
        if opts.detach:
            r = subprocess.run([*argv, "--detach", ctr.id], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, pass_fds=(fd,))
            if r.returncode != 0:
                raise Conflict(f"exec failed: {r.stderr.decode(errors='replace').strip()}")
            return 0
        if opts.tty:
            return _run_tty(argv, ctr.id, rd, opts.interactive, fd, opts.detach_keys)
        return _run_plain([*argv, ctr.id], opts.interactive, fd)
    finally:
        os.close(fd)


def _run_plain(argv: list[str], interactive: bool, keep_fd: int) -> int:
    """The runtime's exec with our stdout, and stderr relayed so that a runtime failure (the command cannot be
    started) becomes docker's message and exit code (126/127) instead of the runtime's own log line."""
    import subprocess
    import sys

    from tug.engine.monitor import failure_code, runtime_message

    proc = subprocess.Popen(argv, stdin=None if interactive else subprocess.DEVNULL, stderr=subprocess.PIPE,
                            pass_fds=(keep_fd,))
    held = b""
    assert proc.stderr is not None
    err = sys.stderr.buffer
    while chunk := proc.stderr.read1(65536):
        if held or (chunk.startswith(b"time=") and b"level=error" in chunk):
            held += chunk  # a runtime's error line: decided at the end
            continue
        err.write(chunk)
        err.flush()
    code = proc.wait()
    if held:
        msg = runtime_message(held)
        if code in (1, 255) and ("exec failed" in msg or "container process" in msg):
            raise_code = failure_code(msg)
            err.write(f"OCI runtime exec failed: {msg}: unknown\n".encode())
            err.flush()
            return raise_code if raise_code != 125 else 126
        err.write(held)
        err.flush()
    return code


def _run_tty(argv: list[str], ctr_id: str, rd: str, interactive: bool, keep_fd: int,
             detach_keys: bytes | None) -> int:
    """runtime exec --detach -t with a console socket. This process becomes a child subreaper, so the exec'd process
    is reparented to it when the runtime exits and its exit status can be reaped; meanwhile the received pty master
    is relayed to our stdio."""
    import socket
    import subprocess

    from tug.engine.attach import DETACH_KEYS, relay_pty
    from tug.sys.prctl import set_child_subreaper

    set_child_subreaper(True)
    dfd = os.open(rd, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    tag = f"exec-{os.getpid()}"
    path = f"/proc/{os.getpid()}/fd/{dfd}/{tag}.sock"
    pid_file = os.path.join(rd, f"{tag}.pid")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    master = -1
    try:
        srv.bind(path)
        srv.listen(1)
        size = _winsize()
        proc = subprocess.Popen([*argv, "--detach", "--tty", "--console-socket", path, "--pid-file", pid_file,
                                 ctr_id], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                pass_fds=(keep_fd,))
        srv.settimeout(0.1)
        while master < 0:
            try:
                conn, _ = srv.accept()
            except TimeoutError:
                if proc.poll() is not None:
                    err = proc.stderr.read().decode(errors="replace").strip() if proc.stderr else ""
                    raise Conflict(f"exec failed: {err or 'the runtime exited ' + str(proc.returncode)}") from None
                continue
            with conn:
                conn.settimeout(30)
                _m, fds, _f, _a = socket.recv_fds(conn, 4096, 4)
            if fds:
                master = fds[0]
                for extra in fds[1:]:
                    os.close(extra)
        if size:
            _set_winsize(master, size)
        if proc.wait() != 0:
            err = proc.stderr.read().decode(errors="replace").strip() if proc.stderr else ""
            raise Conflict(f"exec failed: {err}")
        with open(pid_file) as f:
            pid = int(f.read().strip())
        status: list[int] = []

        def ended() -> bool:
            if not status:
                try:
                    done, st = os.waitpid(pid, os.WNOHANG)
                except ChildProcessError:
                    done, st = pid, 255 << 8
                if done:
                    status.append(st)
            return bool(status)

        if relay_pty(master, interactive, ended, DETACH_KEYS if detach_keys is None else detach_keys):
            return 0  # detached: the process runs on
        while not ended():
            import time

            time.sleep(0.01)
        code = os.waitstatus_to_exitcode(status[0])
        return 128 - code if code < 0 else code
    finally:
        if master >= 0:
            os.close(master)
        srv.close()
        for name in (f"{tag}.sock", f"{tag}.pid"):
            try:
                os.unlink(os.path.join(rd, name))
            except FileNotFoundError:
                pass
        os.close(dfd)


def _winsize() -> bytes | None:
    import fcntl
    import termios

    for fd in (0, 1):
        try:
            return fcntl.ioctl(fd, termios.TIOCGWINSZ, b"\0" * 8)
        except OSError:
            continue
    return None


def _set_winsize(fd: int, ws: bytes) -> None:
    import fcntl
    import termios

    try:
        fcntl.ioctl(fd, termios.TIOCSWINSZ, ws)
    except OSError:
        pass
