"""The per-container monitor: a small detached process that runs one container from start to end.

Started by `tug start`/`tug run` (double fork, setsid, a fresh interpreter with `-I -S` run from a sealed copy of
the executable; `tug run` starts it ahead, while it creates the container, and hands it the run directory later), it
  - becomes a child subreaper and enters a private mount namespace where it mounts the container's overlay root
    (the host's mount table never sees it);
  - runs the OCI runtime's `create` (with a console socket for `-t`, receiving the pty master; otherwise pipes for
    stdio) and `start`, and reports the outcome on a sync pipe to the command that started it. tug-runtime's verbs
    are forked from the monitor itself (`runtime_fork`; `run -d` in one step instead of create and start, and
    `delete` in-process), runc or crun are executed;
  - copies the container's output to the json-file log (with rotation) and to attached clients on a unix socket
    (`attach.sock` in the run directory), and their input to the container;
  - reaps the container's init, records the exit code, OOM kill and finish time in `state.json`, runs healthchecks,
    applies the restart policy, and on the end deletes the runtime state (and the cgroup with it), unmounts, and
    removes the container when `--rm` was given.

It imports nothing heavier than `json`, `socket` and `select` (no click, no sqlite while the container runs), so its
memory stays below containerd-shim's. It never talks to the store database, except to honour `--rm` at the very end.
"""

from __future__ import annotations

import _signal as signal
import _socket as socket
import os
import select
import struct
import sys
import time

from tug.engine import streams as fr
from tug.engine.health import HealthState
from tug.engine.logs import JsonFileWriter
from tug.engine.probe import ProbeMixin
from tug.engine.restart import Policy, next_delay, should_restart
from tug.engine.runstate import start_ticks
from tug.jsontext import dumps, loads, write_file
from tug.oci.times import now_rfc3339

TYPE_CHECKING = False
if TYPE_CHECKING:
    from tug.runtime.cgroup import Warmer

READ = select.POLLIN | select.POLLHUP | select.POLLERR
FDS_SPACE = socket.CMSG_SPACE(8 * 4)  # room for the fds a client may send (an exec's three)
CHUNK = 65536
CLIENT_BUFFER_LIMIT = 8 * 1024 * 1024


class StartFailed(Exception):
    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = failure_code(message) if code is None else code


def failure_code(message: str) -> int:
    """docker's exit codes for a process that could not be started: 127 not found, 126 not executable."""
    low = message.lower()
    if "not found" in low or "no such file" in low:
        return 127
    if "permission denied" in low or "not executable" in low or "exec format error" in low:
        return 126
    return 125


def runtime_message(raw: bytes) -> str:
    """The useful part of a runtime's error output (runc writes logfmt `msg="..."`)."""
    lines = [ln for ln in raw.decode("utf-8", "replace").splitlines() if ln.strip()]
    if not lines:
        return ""
    last = lines[-1]
    if 'msg="' in last:
        msg = last.split('msg="', 1)[1]
        msg = msg.rsplit('"', 1)[0] if '"' in msg else msg
        return msg.replace('\\"', '"')
    if last.startswith("{"):
        try:
            return str(loads(last).get("msg") or last)
        except ValueError:
            pass
    return last


class Client:
    def __init__(self, sock: socket.socket, wants: dict[str, bool] | None = None) -> None:
        self.sock = sock
        self.dec = fr.Decoder()
        self.wants = wants
        self.out = bytearray()
        self.closing = False
        self.fds: list[int] = []  # received with SCM_RIGHTS (an exec's stdio)
        self.exec_pid = 0  # the child serving this client's exec

    def send(self, kind: int, payload: bytes = b"") -> None:
        if len(self.out) < CLIENT_BUFFER_LIMIT:
            self.out.extend(fr.frame(kind, payload))


class Monitor(ProbeMixin):
    def __init__(self, rundir: str, cfg: dict, sync_fd: int, attach_fd: int) -> None:
        self.rundir = rundir
        self.cfg = cfg
        self.sync_fd = sync_fd
        self.id = cfg["id"]
        self.tty = bool(cfg.get("tty"))
        rp = cfg.get("restart") or {}
        self.policy = Policy(rp.get("Name", "no"), rp.get("MaximumRetryCount", 0))
        self.state: dict = {"Status": "created", "Pid": 0, "ExitCode": 0, "Error": "", "OOMKilled": False,
                            "StartedAt": "", "FinishedAt": "", "RestartCount": int(cfg.get("restart_count", 0)),
                            "MonitorPid": os.getpid(), "MonitorStart": start_ticks(os.getpid()), "Final": False}
        self.inproc = bool(cfg.get("inproc")) and _sealed()
        if self.inproc:
            self.state["Exec"] = True  # `tug exec` may ask this monitor to fork the exec (monitor_exec)
        self.execs: dict[int, tuple[Client, int]] = {}  # pid of an exec's child -> (its client, its error fd)
        self.exec_ptys: dict[int, int] = {}  # pty master of a detached `exec -it` -> pid of the exec's child
        self.clients: dict[int, Client] = {}
        self.outputs: dict[int, str] = {}  # fd -> stream name
        self.stdin_fd = -1
        self.stdin_buf = bytearray()
        self.stdin_eof = False
        # docker's StdinOnce: a container started with its stdin attached (`run -i`, `start -a -i`) gets EOF on
        # stdin when a stdin-attached client goes away, so a process reading it ends instead of waiting forever
        self.stdin_once = bool(cfg.get("stdin_once", cfg.get("interactive") and (cfg.get("attach") or {}).get("stdin")))
        self.init_pid = 0
        self.started_mono = 0.0
        self.no_restart = False
        self.stop_deadline = 0.0
        self.restart_at = 0.0
        self.delay = 0.0
        self.health_cfg = cfg.get("health")
        self.health = HealthState(self.health_cfg["retries"]) if self.health_cfg else None
        self.probe: dict | None = None
        self.next_probe = 0.0
        log = cfg["log"]
        self.log = JsonFileWriter(log["path"], log["max_size"], log["max_files"])
        self.poll = select.poll()
        self.wake_r, self.wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self.listener = self._listen()
        if attach_fd >= 0:
            sock = socket.socket(fileno=attach_fd)
            self._add_client(sock, cfg.get("attach") or {"stdin": False, "stdout": True, "stderr": True})

    # --- setup -------------------------------------------------------------------------------------------------

    def _listen(self) -> socket.socket:
        dfd = os.open(self.rundir, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            path = f"/proc/self/fd/{dfd}/attach.sock"
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
            s.bind(path)
            os.chmod(path, 0o600)
        finally:
            os.close(dfd)
        s.listen(16)
        s.setblocking(False)
        self.poll.register(s.fileno(), select.POLLIN)
        return s

    def _add_client(self, sock: socket.socket, wants: dict[str, bool] | None) -> None:
        sock.setblocking(False)
        c = Client(sock, wants)
        self.clients[sock.fileno()] = c
        self.poll.register(sock.fileno(), READ)

    def mount_rootfs(self) -> None:
        m = self.cfg.get("mount")
        if not m:
            return
        from tug.sys.mountns import enter_private_mount_namespace, mount

        enter_private_mount_namespace()
        if m.get("idmap"):  # --userns (issue 7): idmapped layers, overlay mounted as the container's root
            from tug.engine.userns import mount_overlay

            return mount_overlay(m)
        if m.get("cwd"):
            os.chdir(m["cwd"])
        mount(m["source"], m["target"], m["fstype"], 0, m["data"])
        os.chdir("/")

    def unmount_rootfs(self) -> None:
        m = self.cfg.get("mount")
        if m:
            from tug.sys.mountns import MNT_DETACH, umount

            try:
                umount(m["target"], MNT_DETACH)
            except Exception:  # noqa: BLE001 - the namespace goes away with this process anyway
                pass
            for path in reversed((m.get("idmap") or {}).get("paths") or ()):  # --userns: the dirs are free again
                try:
                    umount(path, MNT_DETACH)
                except Exception:  # noqa: BLE001 - as above
                    pass

    # --- runtime calls -----------------------------------------------------------------------------------------

    def _spawn(self, args: list[str], stdin: int, stdout: int, stderr: int) -> int:
        if self.inproc:  # tug-runtime forked from this sealed monitor: no interpreter start-up per verb
            from tug.engine import runtime_fork

            return runtime_fork.spawn([*self.cfg["runtime"][5:], *args], stdin, stdout, stderr)
        from tug.runtime.sealed import sealed_argv  # issue 7: run tug-runtime from a sealed copy of the interpreter

        argv = sealed_argv([*self.cfg["runtime"], *args])
        acts = [(os.POSIX_SPAWN_DUP2, stdin, 0), (os.POSIX_SPAWN_DUP2, stdout, 1), (os.POSIX_SPAWN_DUP2, stderr, 2)]
        return os.posix_spawn(argv[0], argv, os.environ, file_actions=acts)

    def _wait(self, pid: int) -> int:
        _, status = os.waitpid(pid, 0)
        return os.waitstatus_to_exitcode(status)

    def _runtime(self, *args: str) -> tuple[int, bytes]:
        """Run a runtime verb to the end; (exit code, stderr). tug-runtime's `delete` runs in this process when the
        monitor is sealed (`inproc`): a few file operations, cheaper than a fork."""
        if self.inproc and args[0] == "delete":
            return self._delete_here(*args[1:])
        null = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
        r, w = os.pipe2(os.O_CLOEXEC)
        try:
            pid = self._spawn(list(args), null, null, w)
            os.close(w)
            w = -1
            err = bytearray()
            while chunk := os.read(r, CHUNK):
                err.extend(chunk)
            return self._wait(pid), bytes(err)
        finally:
            os.close(null)
            os.close(r)
            if w >= 0:
                os.close(w)

    def _delete_here(self, *args: str) -> tuple[int, bytes]:
        """tug-runtime's `delete [--force] ID`, called in-process; (exit code, its error line)."""
        from tug.engine.monitor_exec import runtime_root
        from tug.errors import TugError
        from tug.runtime import delete

        try:
            return delete.cmd_delete(runtime_root(self.cfg["runtime"]), args[-1], force="--force" in args), b""
        except TugError as e:
            code, text = e.exit_code, e.one_line()
        except OSError as e:
            code, text = 125, f"{e.filename + ': ' if e.filename else ''}{e.strerror or e}"
        except Exception as e:  # noqa: BLE001 - as the forked verb: one line, and the monitor goes on
            code, text = 125, f"internal error: {type(e).__name__}: {e}"
        return code, f"tug-runtime: {text}\n".encode()

    def start_container(self) -> None:
        """runtime create (stdio or console socket) then start, or tug-runtime's `run -d` for both; sets init_pid.
        Raises StartFailed."""
        pid_file = os.path.join(self.rundir, "init.pid")
        try:
            os.unlink(pid_file)
        except FileNotFoundError:
            pass
        null = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
        to_close = [null]
        console = None
        cdir = -1
        err_r = -1
        try:
            # tug-runtime forked here runs `run -d`: the init goes on to exec as soon as it is set up, without the
            # exec fifo's round trip through a `start` (create's exit code also says whether the exec happened)
            one_step = self.inproc
            args = ["run" if one_step else "create", "--bundle", self.cfg["bundle"], "--pid-file", pid_file]
            if one_step:
                args.append("--detach")
            if self.tty:
                cdir = os.open(self.rundir, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
                cpath = f"/proc/{os.getpid()}/fd/{cdir}/console.sock"
                try:
                    os.unlink(cpath)
                except FileNotFoundError:
                    pass
                console = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
                console.bind(cpath)
                console.listen(1)
                args += ["--console-socket", cpath]
                err_r, err_w = os.pipe2(os.O_CLOEXEC)
                to_close.append(err_w)
                stdio = (null, null, err_w)
            else:
                in_r = null
                if self.cfg.get("interactive"):
                    in_r, in_w = os.pipe2(os.O_CLOEXEC)
                    to_close.append(in_r)
                    self.stdin_fd = in_w
                out_r, out_w = os.pipe2(os.O_CLOEXEC)
                err_r, err_w = os.pipe2(os.O_CLOEXEC)
                to_close += [out_w, err_w]
                stdio = (in_r, out_w, err_w)
                self.outputs[out_r] = "stdout"
                self.outputs[err_r] = "stderr"
            pid = self._spawn([*args, self.id], *stdio)
            if self.cfg.get("rm"):  # loaded now, on this CPU, while the runtime works on the other
                import tug.store.forget  # noqa: F401
            for fd in to_close:
                os.close(fd)
            to_close = []
            master = self._receive_console(console, pid) if console is not None else -1
            code = self._wait(pid)
            if _WARMER is not None:
                _WARMER.stop()  # the init is in its cgroup: no more cgroup.procs writes on the way
            if code != 0:
                raise StartFailed(self._drain_error(err_r) or f"runtime create exited {code}")
            if master >= 0:
                self.stdin_fd = master
                self.outputs[master] = "stdout"
                if self.cfg.get("winsize"):
                    _set_winsize(master, *self.cfg["winsize"])
                os.close(err_r)
                err_r = -1
            with open(pid_file) as f:
                self.init_pid = int(f.read().strip())
            self.state["PidStart"] = start_ticks(self.init_pid)
            if not one_step:
                code, err = self._runtime("start", self.id)
                if code != 0:
                    raise StartFailed(runtime_message(err) or f"runtime start exited {code}")
        except StartFailed:
            self._close_stdio()
            self._runtime("delete", "--force", self.id)
            raise
        finally:
            for fd in to_close:
                os.close(fd)
            if console is not None:
                console.close()
                try:
                    os.unlink(os.path.join(self.rundir, "console.sock"))
                except FileNotFoundError:
                    pass
            if cdir >= 0:
                os.close(cdir)
            if self.tty and err_r >= 0:
                os.close(err_r)
        for fd in self.outputs:
            os.set_blocking(fd, False)
            self.poll.register(fd, READ)
        if self.stdin_fd >= 0 and not self.tty:
            os.set_blocking(self.stdin_fd, False)
        self.started_mono = time.monotonic()
        self.state.update(Status="running", Pid=self.init_pid, StartedAt=now_rfc3339(), Error="", ExitCode=0,
                          OOMKilled=False)
        if self.health:
            self.health.doc.update(Status="starting", FailingStreak=0)
            self.state["Health"] = self.health.doc
            self.next_probe = self.started_mono + self._probe_interval()
        self.save()

    def _receive_console(self, console: socket.socket, create_pid: int) -> int:
        console.settimeout(0.1)
        while True:
            try:
                fd, _ = console._accept()
                conn = socket.socket(fileno=fd)
                break
            except TimeoutError:
                done, _ = os.waitpid(create_pid, os.WNOHANG)
                if done:
                    raise StartFailed("runtime create exited without sending the console") from None
        try:
            conn.settimeout(30)
            fds = fr.recv_fds(conn)
        finally:
            conn.close()
        if not fds:
            raise StartFailed("the runtime sent no console file descriptor")
        for extra in fds[1:]:
            os.close(extra)
        os.set_inheritable(fds[0], False)
        return fds[0]

    def _drain_error(self, err_r: int) -> str:
        if err_r < 0:
            return ""
        os.set_blocking(err_r, False)
        data = bytearray()
        try:
            while chunk := os.read(err_r, CHUNK):
                data.extend(chunk)
        except BlockingIOError:
            pass
        return runtime_message(bytes(data))

    def _close_stdio(self) -> None:
        fds = set(self.outputs) | ({self.stdin_fd} if self.stdin_fd >= 0 else set())
        for fd in fds:
            try:
                self.poll.unregister(fd)
            except KeyError:
                pass
            os.close(fd)
        self.outputs.clear()
        self.stdin_fd = -1
        self.stdin_buf.clear()
        self.stdin_eof = False

    def save(self) -> None:
        write_file(os.path.join(self.rundir, "state.json"), self.state)

    # --- the loop ----------------------------------------------------------------------------------------------

    def run(self) -> int:
        self.poll.register(self.wake_r, select.POLLIN)
        while True:
            timeout = self._timeout()
            try:
                events = self.poll.poll(timeout)
            except InterruptedError:
                events = []
            for fd, ev in events:
                if fd == self.wake_r:
                    _drain(self.wake_r)
                elif fd == self.listener.fileno():
                    self._accept()
                elif fd in self.outputs:
                    self._read_output(fd)
                elif fd in self.clients:
                    self._client_event(self.clients[fd], ev)
                elif fd in self.exec_ptys:
                    self._drain_exec_pty(fd)
                elif fd == self.stdin_fd:
                    if ev & (select.POLLERR | select.POLLHUP):
                        self.stdin_buf.clear()
                        self.stdin_eof = True
                    self._flush_stdin()
                elif self.probe is not None and fd == self.probe["out"]:
                    self._read_probe()
            if self._reap():
                return 0
            self._timers()

    def _timeout(self) -> int:
        deadlines = [d for d in (self.stop_deadline, self.restart_at) if d]
        if self.health and self.init_pid:
            deadlines.append(self.probe["deadline"] if self.probe else self.next_probe)
        if not deadlines:
            return -1
        return max(0, int((min(deadlines) - time.monotonic()) * 1000) + 1)

    def _timers(self) -> None:
        now = time.monotonic()
        if self.stop_deadline and now >= self.stop_deadline and self.init_pid:
            _kill(self.init_pid, signal.SIGKILL)
            self.stop_deadline = 0.0
        if self.restart_at and now >= self.restart_at:
            self.restart_at = 0.0
            self._restart()
        if self.health and self.init_pid:
            if self.probe and now >= self.probe["deadline"]:
                self._probe_timeout()
            elif not self.probe and now >= self.next_probe:
                self._start_probe()

    def _reap(self) -> bool:
        """Reap every child; True when the monitor's work is over."""
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return False
            if pid == 0:
                return False
            code = os.waitstatus_to_exitcode(status)
            if code < 0:
                code = 128 - code
            if pid in self.execs:
                self._exec_done(pid, code)
            elif self.probe is not None and pid == self.probe["pid"]:
                self._probe_done(code)
            elif pid == self.init_pid and self._container_exited(code):
                return True

    # --- io ----------------------------------------------------------------------------------------------------

    def _accept(self) -> None:
        try:
            fd, _ = self.listener._accept()
        except BlockingIOError:
            return
        conn = socket.socket(fileno=fd)
        os.set_inheritable(fd, False)
        self._add_client(conn, None)

    def _read_output(self, fd: int) -> None:
        try:
            data = os.read(fd, CHUNK)
        except BlockingIOError:
            return
        except OSError:  # EIO from a pty master whose last slave closed
            data = b""
        if not data:
            self.poll.unregister(fd)
            del self.outputs[fd]
            if fd == self.stdin_fd:
                self.stdin_fd = -1
            os.close(fd)
            return
        self._deliver(self.outputs[fd], data)

    def _deliver(self, stream: str, data: bytes) -> None:
        self.log.write(stream, data)
        kind = fr.STDOUT if stream == "stdout" else fr.STDERR
        for c in list(self.clients.values()):
            if c.wants and c.wants.get(stream):
                c.send(kind, data)
                self._flush_client(c)

    def _client_event(self, c: Client, ev: int) -> None:
        fd = c.sock.fileno()
        if ev & select.POLLOUT:
            self._flush_client(c)
        if ev & (select.POLLIN | select.POLLHUP | select.POLLERR):
            try:
                data, anc, _flags, _addr = c.sock.recvmsg(CHUNK, FDS_SPACE, socket.MSG_CMSG_CLOEXEC)
            except BlockingIOError:
                return
            except OSError:
                data, anc = b"", []
            for level, kind, blob in anc:
                if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                    n = len(blob) // 4
                    c.fds.extend(struct.unpack(f"{n}i", blob[:n * 4]))
            if not data:
                self._drop(fd)
                return
            for kind, payload in c.dec.feed(data):
                self._handle(c, kind, payload)

    def _handle(self, c: Client, kind: int, payload: bytes) -> None:
        if kind == fr.HELLO:
            c.wants = loads(payload.decode() or "{}")
            if c.wants.get("resize") and self.tty and self.stdin_fd >= 0:
                _set_winsize(self.stdin_fd, *c.wants["resize"])
        elif kind == fr.STDIN and self.stdin_fd >= 0 and c.wants and c.wants.get("stdin"):
            self.stdin_buf.extend(payload)
            self._flush_stdin()
        elif kind == fr.STDIN_EOF and not self.tty and c.wants and c.wants.get("stdin"):
            self.stdin_eof = True
            self._flush_stdin()
        elif kind == fr.RESIZE and self.tty and self.stdin_fd >= 0:
            _set_winsize(self.stdin_fd, *struct.unpack("!HH", payload))
        elif kind == fr.SIGNAL and c.exec_pid:
            _kill(c.exec_pid, int(payload))  # the exec's child passes it on to the process
        elif kind == fr.SIGNAL and self.init_pid:
            _kill(self.init_pid, int(payload))
        elif kind == fr.EXEC:
            self._exec(c, payload)
        elif kind == fr.PTY:
            fds, c.fds = c.fds, []
            if c.exec_pid and fds:
                self.exec_ptys[fds[0]] = c.exec_pid
                os.set_blocking(fds[0], False)
                self.poll.register(fds[0], READ)
                fds = fds[1:]
            for fd in fds:
                os.close(fd)
        elif kind == fr.KILL:
            self.no_restart = True
            if self.init_pid:
                _kill(self.init_pid, int(payload))
            elif self.restart_at:
                self.restart_at = 0.0
                self._finish()
        elif kind == fr.STOP:
            timeout, sig = (int(x) for x in payload.split())
            self.no_restart = True
            if self.init_pid:
                _kill(self.init_pid, sig)
                self.stop_deadline = time.monotonic() + max(0, timeout)
            elif self.restart_at:
                self.restart_at = 0.0
                self._finish()

    def _flush_client(self, c: Client) -> None:
        fd = c.sock.fileno()
        if c.out:
            try:
                n = c.sock.send(c.out)
                del c.out[:n]
            except BlockingIOError:
                pass
            except OSError:
                self._drop(fd)
                return
        self.poll.modify(fd, READ | (select.POLLOUT if c.out else 0))
        if c.closing and not c.out:
            self._drop(fd)

    def _drop(self, fd: int) -> None:
        c = self.clients.pop(fd, None)
        if c is None:
            return
        try:
            self.poll.unregister(fd)
        except KeyError:
            pass
        c.sock.close()
        for extra in c.fds:
            os.close(extra)
        c.fds.clear()
        if self.stdin_once and not self.tty and not c.closing and c.wants and c.wants.get("stdin"):
            self.stdin_eof = True  # what it sent still goes in first, then the container's stdin is closed
            self._flush_stdin()

    def _flush_stdin(self) -> None:
        fd = self.stdin_fd
        if fd < 0:
            return
        if self.stdin_buf:
            try:
                n = os.write(fd, self.stdin_buf)
                del self.stdin_buf[:n]
            except BlockingIOError:
                pass
            except OSError:
                self.stdin_buf.clear()
        if fd in self.outputs:  # the pty master: also an output
            self.poll.modify(fd, READ | (select.POLLOUT if self.stdin_buf else 0))
            return
        if self.stdin_buf:
            try:
                self.poll.register(fd, select.POLLOUT)
            except OSError:
                pass
            return
        try:
            self.poll.unregister(fd)
        except KeyError:
            pass
        if self.stdin_eof:
            os.close(fd)
            self.stdin_fd = -1

    # --- exec ------------------------------------------------------------------------------------------------

    def _exec(self, c: Client, payload: bytes) -> None:
        """EXEC: the first line is JSON ({"detach": bool, "console": path or null}), the rest the process document;
        the client's stdin, stdout and stderr came with it. Forks the runtime's exec (monitor_exec)."""
        from tug.engine import monitor_exec

        fds, c.fds = c.fds, []
        try:
            head, _, process = payload.partition(b"\n")
            req = loads(head.decode())
            if not self.init_pid:
                raise StartFailed(f"container {self.id} is not running", 126)
            if not self.inproc or c.exec_pid:
                raise StartFailed("this monitor runs no execs" if not self.inproc else "one exec per connection", 126)
            if len(fds) != 3:
                null = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
                fds, extra = [null, null, null], fds
                for fd in extra:
                    os.close(fd)
            root = monitor_exec.runtime_root(self.cfg["runtime"])
            pid, err_r = monitor_exec.spawn(root, self.id, process, fds, bool(req.get("detach")), req.get("console"))
        except (StartFailed, OSError, ValueError) as e:
            c.send(fr.ERROR, str(e).encode())
            c.send(fr.EXIT, str(getattr(e, "code", 126)).encode())
            c.closing = True
            self._flush_client(c)
            return
        finally:
            for fd in set(fds):
                os.close(fd)
        c.exec_pid = pid
        self.execs[pid] = (c, err_r)

    def _drain_exec_pty(self, fd: int, closing: bool = False) -> None:
        """A detached exec's output goes nowhere (as docker's), but is read so that the process never blocks."""
        try:
            while os.read(fd, CHUNK):
                pass
        except BlockingIOError:
            if not closing:
                return
        except OSError:  # EIO: the process and everything it started closed the pty
            pass
        self.poll.unregister(fd)
        del self.exec_ptys[fd]
        os.close(fd)

    def _exec_done(self, pid: int, code: int) -> None:
        from tug.engine import monitor_exec

        for fd in [fd for fd, owner in self.exec_ptys.items() if owner == pid]:
            self._drain_exec_pty(fd, closing=True)
        c, err_r = self.execs.pop(pid)
        text = monitor_exec.read_error(err_r)
        if self.clients.get(c.sock.fileno()) is not c:
            return  # the client went away: the exec ran to its end all the same
        if text:
            c.send(fr.ERROR, text.encode())
        c.send(fr.EXIT, str(code).encode())
        c.exec_pid = 0
        c.closing = True
        self._flush_client(c)

    def _end_execs(self) -> None:
        """The container ended: its execs' processes died with its pid namespace; report them before leaving."""
        for pid in list(self.execs):
            try:
                _, status = os.waitpid(pid, 0)
                code = os.waitstatus_to_exitcode(status)
            except ChildProcessError:
                code = -9
            self._exec_done(pid, 128 - code if code < 0 else code)

    # --- the end of a run --------------------------------------------------------------------------------------

    def _container_exited(self, code: int) -> bool:
        for fd in list(self.outputs):  # what the container wrote before it ended
            while fd in self.outputs:
                before = len(self.outputs)
                self._read_output(fd)
                if len(self.outputs) == before and not _readable(fd):
                    break
        self.log.flush()
        self._close_stdio()
        self._end_probe()
        oom = _oom_killed(self.cfg.get("cgroup_paths") or [])
        self._runtime("delete", "--force", self.id)
        ran = time.monotonic() - self.started_mono
        self.init_pid = 0
        self.stop_deadline = 0.0
        self.state.update(Status="exited", Pid=0, ExitCode=code, OOMKilled=oom, FinishedAt=now_rfc3339())
        for c in list(self.clients.values()):
            if c.exec_pid:
                continue  # an exec's client gets its process's own exit code (_exec_done)
            c.send(fr.EXIT, str(code).encode())  # sent once the run is recorded (and, with --rm, removed)
            c.closing = True
        if should_restart(self.policy, code, self.state["RestartCount"], self.no_restart):
            for c in list(self.clients.values()):
                self._flush_client(c)
            self.delay = next_delay(self.delay, ran)
            self.restart_at = time.monotonic() + self.delay
            self.state["Status"] = "restarting"
            self.save()
            return False
        return self._finish()

    def _restart(self) -> None:
        try:
            self.start_container()
            self.state["RestartCount"] += 1
            self.save()
        except StartFailed as e:
            self.state.update(Status="exited", Error=str(e), ExitCode=e.code, FinishedAt=now_rfc3339())
            if should_restart(self.policy, e.code, self.state["RestartCount"], self.no_restart):
                self.state["RestartCount"] += 1
                self.delay = next_delay(self.delay, 0)
                self.restart_at = time.monotonic() + self.delay
                self.state["Status"] = "restarting"
                self.save()
            else:
                self._finish()

    def _finish(self) -> bool:
        """The end: record it, release the network (with --rm: the container's record, so its name is free and `ps
        -a` no longer lists it), tell the attached clients, then, with --rm, remove the container's files."""
        self._end_execs()
        rm = bool(self.cfg.get("rm"))
        if not rm:
            self.unmount_rootfs()
        self.state["Final"] = True
        self.state["Status"] = "exited"
        self.save()
        self.log.close()
        forgotten = False
        if rm:
            forgotten = remove_container(self.cfg)
        else:
            release_network(self.cfg, self.id)
        for c in list(self.clients.values()):
            c.sock.setblocking(True)
            try:
                c.sock.sendall(c.out)
            except OSError:
                pass
            self._drop(c.sock.fileno())
        if rm:
            # after the waiting `tug run` has its exit code; killed before the end, this leaves a container
            # directory without a record, which `tug check --repair` removes
            self.unmount_rootfs()
            if forgotten:
                remove_files(self.cfg, self.rundir)
                from tug.store.forget import release_held

                # our database connection is closed last, after the command that started us, if that is `tug
                # run` and it is still waiting: then the WAL checkpoint is ours to pay
                release_held(_STARTER if os.getppid() == _STARTER else None)
        raise SystemExit(0)

# --- helpers ---------------------------------------------------------------------------------------------------

def _sealed() -> bool:
    from tug.runtime.sealed import is_sealed

    return is_sealed()


def _kill(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _drain(fd: int) -> None:
    try:
        while os.read(fd, 4096):
            pass
    except BlockingIOError:
        pass


def _readable(fd: int) -> bool:
    try:
        r, _, _ = select.select([fd], [], [], 0)
    except (OSError, ValueError):
        return False
    return bool(r)


def _set_winsize(fd: int, rows: int, cols: int) -> None:
    import fcntl
    import termios

    try:
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    except OSError:
        pass


def _oom_killed(paths: list[str]) -> bool:
    """Did the kernel's OOM killer act in the container's memory cgroup (v2 memory.events, v1 oom_control)?"""
    for p in paths:
        for name in ("memory.events", "memory.oom_control"):
            try:
                with open(os.path.join(p, name)) as f:
                    for line in f:
                        key, _, value = line.partition(" ")
                        if key == "oom_kill" and int(value) > 0:
                            return True
            except (OSError, ValueError):
                continue
    return False


def release_network(cfg: dict, ctr_id: str) -> None:
    """Issue 8: addresses, veths, nft rules, hosts entries and the netns holder go when the container does."""
    if not os.path.exists(os.path.join(cfg["runroot"], "networks", ctr_id + ".json")):
        return  # nothing was attached (host, or none under tug-runtime)
    try:
        from tug.network.attachment import release

        release(cfg["runroot"], ctr_id)
    except Exception as e:  # noqa: BLE001 - `tug rm` retries; the monitor must still finish
        os.write(2, f"tug-monitor: releasing the network of {ctr_id[:12]}: {e}\n".encode())


def remove_container(cfg: dict) -> bool:
    """`--rm`: the network, the container's record and its anonymous volumes (as docker's `--rm`); True when the
    record is gone (its directory is then `remove_files`' to remove).

    Done with `tug.store.forget` rather than the engine, whose imports would cost the waiting `tug run` tens of ms.
    """
    ctr_id, root = cfg["id"], cfg["root"]
    try:
        release_network(cfg, ctr_id)
        from tug.store.forget import forget_record, remove_tree

        config = forget_record(root, ctr_id, monitor_pid=os.getpid(), hold=True)
        extra = (loads(config) if config else {}).get("extra") or {}
        for v in extra.get("anonymous_volumes") or []:
            remove_tree(os.path.join(root, "volumes", v))
        return True
    except Exception as e:  # noqa: BLE001 - reported in the monitor's log; the container stays listed
        os.write(2, f"tug-monitor: removing {ctr_id[:12]}: {e}\n".encode())
        return False


def remove_files(cfg: dict, rundir: str) -> None:
    """`--rm`, once the record is gone: the container's directory and this monitor's run directory."""
    from tug.store.forget import remove_tree

    for path in (os.path.join(cfg["root"], "containers", cfg["id"]), rundir):
        try:
            remove_tree(path)
        except OSError as e:
            os.write(2, f"tug-monitor: removing {path}: {e}\n".encode())


_WARMER: Warmer | None = None  # kept from the monitor's start until its container's create is done


_STARTER = 0  # the command that started a pending monitor (`tug run`, our parent until it exits)


def _await_rundir(go_fd: int) -> str:
    """A monitor started ahead of its container (`tug run`, while the container is being created) loads what it
    will need, then waits for the run directory; EOF without one means the command gave up: leave quietly."""
    from tug.engine import runtime_fork
    from tug.runtime import cgroup

    runtime_fork.preload()
    global _WARMER
    # the first cgroup.procs write after an idle spell waits for an RCU grace period: pay it now, while idle
    _WARMER = cgroup.Warmer(cgroup.own_procs())
    data = bytearray()
    while chunk := os.read(go_fd, CHUNK):
        data.extend(chunk)
    os.close(go_fd)
    if not data:
        _WARMER.stop()
        os._exit(0)
    rundir = data.decode()
    log = os.open(os.path.join(rundir, "monitor.log"), os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    return rundir


def main() -> None:
    rundir, sync_fd, attach_fd = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    for fd in (sync_fd, attach_fd):
        if fd >= 0:
            os.set_inheritable(fd, False)
    if rundir.startswith("--await:"):
        global _STARTER
        _STARTER = os.getppid()
        rundir = _await_rundir(int(sys.argv[4]))
    with open(os.path.join(rundir, "monitor.json")) as f:
        cfg = loads(f.read())
    for sig in (signal.SIGHUP, signal.SIGINT, signal.SIGPIPE, signal.SIGTTOU, signal.SIGTTIN):
        signal.signal(sig, signal.SIG_IGN)
    from tug.sys.prctl import set_child_subreaper

    set_child_subreaper(True)
    mon = Monitor(rundir, cfg, sync_fd, attach_fd)
    signal.set_wakeup_fd(mon.wake_w, warn_on_full_buffer=False)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    try:
        mon.mount_rootfs()
        mon.start_container()
    except Exception as e:  # noqa: BLE001 - every start failure is reported to the waiting command
        code = e.code if isinstance(e, StartFailed) else 125
        msg = str(e) or type(e).__name__
        mon.state.update(Status="exited", Error=msg, ExitCode=code, Final=True, FinishedAt=now_rfc3339())
        mon.save()
        mon.unmount_rootfs()
        _report(sync_fd, {"ok": False, "error": msg, "code": code})
        sys.exit(1)
    _report(sync_fd, {"ok": True, "pid": mon.init_pid, "started_at": mon.state["StartedAt"],
                      "monitor_pid": os.getpid(), "monitor_start": mon.state["MonitorStart"]})
    mon.run()
    os._exit(0)  # everything is written and closed; the interpreter's teardown would only cost time


def _report(fd: int, doc: dict) -> None:
    if fd < 0:
        return
    try:
        fr.write_all(fd, dumps(doc).encode())
    except OSError:
        pass
    os.close(fd)
