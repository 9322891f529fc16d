"""Forwarding a Unix socket: a forked relay listens on a fresh socket and joins every connection to a target socket.

The listening socket gets the owner and mode asked for, so a container (a build step) can be given it by a bind
mount without seeing the target's path. The relay is killed by `Relay.stop` and dies with its parent
(PR_SET_PDEATHSIG); it never returns into the process that forked it. A connection the target refuses is closed.
Used for `RUN --mount=type=ssh` (tug.engine.build.sshagent).
"""

from __future__ import annotations

import os
import select
import signal
import socket
from pathlib import Path

from tug.errors import Invalid
from tug.records import record


@record
class Relay:
    pid: int
    path: Path  # the listening socket

    def stop(self) -> None:
        if self.pid > 0:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            os.waitpid(self.pid, 0)
            self.pid = -1
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass


def start(target: Path, listen: Path, uid: int, gid: int, mode: int, close_fds: tuple[int, ...] = (),
          what: str | None = None) -> Relay:
    """Fork a relay from a new socket at `listen` (owned uid:gid, `mode`) to `target`; returns once it listens.
    `close_fds` are closed in the relay; `what` names the target in errors."""
    r, w = os.pipe2(os.O_CLOEXEC)
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the relay process
        code = 1
        try:
            os.close(r)
            for fd in close_fds:  # e.g. a build's scratch lock: a relay never keeps a dead build's directory
                try:
                    os.close(fd)
                except OSError:
                    pass
            from tug.sys.prctl import set_pdeathsig

            set_pdeathsig(signal.SIGKILL)
            server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            os.chdir(listen.parent)  # a socket path is limited to 107 bytes: bind the name from its directory
            server.bind(listen.name)
            os.chown(listen, uid, gid)
            os.chmod(listen, mode)
            server.listen(16)
            os.write(w, b"ok")
            os.close(w)
            _relay(server, str(target))
            code = 0
        except BaseException as e:  # noqa: BLE001 - the relay must never return into its parent
            try:
                os.write(w, f"{type(e).__name__}: {e}".encode(errors="replace")[:500])
            except OSError:
                pass
        finally:
            os._exit(code)
    os.close(w)
    ok = os.read(r, 512)
    os.close(r)
    if ok != b"ok":
        os.waitpid(pid, 0)
        raise Invalid(f"cannot forward {what or target}: the relay did not start ({ok.decode(errors='replace')})")
    return Relay(pid, listen)


def _relay(server: socket.socket, target: str) -> None:  # pragma: no cover - runs in the relay process
    peers: dict[socket.socket, socket.socket] = {}
    while True:
        readable, _, _ = select.select([server, *peers], [], [])
        for s in readable:
            if s is server:
                client, _ = server.accept()
                upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                try:
                    upstream.connect(target)
                except OSError:
                    client.close()
                    upstream.close()
                    continue
                peers[client] = upstream
                peers[upstream] = client
                continue
            other = peers.get(s)
            if other is None:
                continue
            try:
                data = s.recv(65536)
            except OSError:
                data = b""
            if data:
                try:
                    other.sendall(data)
                    continue
                except OSError:
                    pass
            for x in (s, other):
                peers.pop(x, None)
                x.close()
