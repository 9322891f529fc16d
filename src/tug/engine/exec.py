"""`tug exec`: a new process in a running container, through the runtime's `exec --process`.

The process document starts from the container's own `process` in its config.json (environment, capabilities,
rlimits, user, no_new_privileges, AppArmor/SELinux labels), then docker's exec flags change it: `-e`, `-w`, `-u`,
`-t`, `--privileged`. The runtime joins the container's namespaces and cgroup. With `-t` the runtime sends the pty
master over a console socket and this process relays it to the caller's terminal.
"""

from __future__ import annotations

import copy
import json
import os
import socket
import subprocess
from dataclasses import dataclass, field
from typing import Any

from tug.engine import lifecycle
from tug.engine.containers import Container, bundle_dir
from tug.engine.engine import Engine
from tug.errors import Conflict, Invalid


@dataclass
class ExecOptions:
    command: list[str]
    interactive: bool = False
    tty: bool = False
    detach: bool = False
    env: list[str] = field(default_factory=list)
    workdir: str | None = None
    user: str | None = None
    privileged: bool = False


def process_document(base: dict[str, Any], args: list[str], env: list[str] = (),  # type: ignore[assignment]
                     workdir: str | None = None, user: dict[str, Any] | None = None, tty: bool = False,
                     all_caps: list[str] | None = None) -> dict[str, Any]:
    """The container's process with exec's changes (pure)."""
    p = copy.deepcopy(base)
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


def _user(ctr: Container, spec_user: str) -> dict[str, Any]:
    from tug.spec.user import resolve_user

    pid = int(ctr.state.get("Pid") or 0)
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


def prepare(eng: Engine, ctr: Container, opts: ExecOptions) -> dict[str, Any]:
    lifecycle.refresh(eng, ctr)
    if ctr.status == "paused":
        raise Conflict(f"container {ctr.id} is paused, unpause the container before exec")
    if ctr.status != "running":
        raise Conflict(f"container {ctr.id} is not running")
    if not opts.command:
        raise Invalid("exec needs a command to run")
    if opts.workdir and not os.path.isabs(opts.workdir):
        raise Invalid(f"the working directory '{opts.workdir}' is invalid, it needs to be an absolute path")
    spec = json.loads((bundle_dir(eng, ctr.id) / "config.json").read_text())
    from tug.spec.env import resolve_cli_env

    env = resolve_cli_env(opts.env, eng.env) if opts.env else []
    return process_document(spec["process"], opts.command, env, opts.workdir,
                            _user(ctr, opts.user) if opts.user else None, opts.tty,
                            _all_caps() if opts.privileged else None)


def run(eng: Engine, ctr: Container, opts: ExecOptions) -> int:
    """Run the process; its exit code (or 0 at once with `detach`)."""
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
            return _run_tty(argv, ctr.id, rd, opts.interactive, fd)
        return _run_plain([*argv, ctr.id], opts.interactive, fd)
    finally:
        os.close(fd)


def _run_plain(argv: list[str], interactive: bool, keep_fd: int) -> int:
    """The runtime's exec with our stdout, and stderr relayed so that a runtime failure (the command cannot be
    started) becomes docker's message and exit code (126/127) instead of the runtime's own log line."""
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


def _run_tty(argv: list[str], ctr_id: str, rd: str, interactive: bool, keep_fd: int) -> int:
    """runtime exec --detach -t with a console socket. This process becomes a child subreaper, so the exec'd process
    is reparented to it when the runtime exits and its exit status can be reaped; meanwhile the received pty master
    is relayed to our stdio."""
    from tug.engine.attach import relay_pty
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

        relay_pty(master, interactive, ended)
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
