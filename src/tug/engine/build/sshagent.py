"""`RUN --mount=type=ssh`: the client's SSH agent, forwarded into one build step through a socket of its own.

`tug build --ssh default` names `$SSH_AUTH_SOCK` (`--ssh ID=PATH` another socket). For a step that mounts it, a
forked proxy listens on a fresh socket in the build's scratch directory with the mount's `uid`, `gid` and `mode`
(0:0, 0600 by default) and relays every connection to the agent; that socket is bound at the target
(`/run/buildkit/ssh_agent.N`) and `SSH_AUTH_SOCK` points there for that step only. The host's agent socket itself
is never mounted, so the step sees no other path of the host. The proxy dies with the step (and with the builder,
by PR_SET_PDEATHSIG). Only agent sockets are forwarded; key files are refused.
"""

from __future__ import annotations

import os
import select
import signal
import socket
import stat
from collections.abc import Mapping
from pathlib import Path

from tug.errors import Invalid, NotFound
from tug.records import record

DEFAULT_TARGET = "/run/buildkit/ssh_agent.{n}"


def parse_ssh_flags(values: list[str] | tuple[str, ...], env: Mapping[str, str]) -> dict[str, str]:
    """`--ssh default`, `--ssh default=PATH`, `--ssh ID=PATH[,PATH]` as id -> agent socket path."""
    out: dict[str, str] = {}
    for v in values:
        ident, eq, paths = v.partition("=")
        if not ident:
            raise Invalid(f"--ssh {v!r}: ID[=SOCKET] is expected")
        if not eq:
            sock = env.get("SSH_AUTH_SOCK", "")
            if not sock:
                raise Invalid(f"--ssh {ident}: SSH_AUTH_SOCK is not set (start an agent or give ID=SOCKET)")
        else:
            sock = paths.split(",")[0]
        out[ident] = os.path.abspath(sock)
    return out


def check_agent(path: str, ident: str) -> Path:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise NotFound(f"ssh agent socket {path} for --ssh {ident} does not exist") from None
    if not stat.S_ISSOCK(st.st_mode):
        raise Invalid(f"--ssh {ident}={path}: only agent sockets can be forwarded (this is not a socket)")
    return Path(path)


@record
class Proxy:
    pid: int
    path: Path

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


def start_proxy(agent: Path, listen: Path, uid: int, gid: int, mode: int, close_fds: tuple[int, ...] = ()) -> Proxy:
    """Fork a relay from a new socket at `listen` (owned uid:gid, `mode`) to the agent; returns once it listens."""
    r, w = os.pipe2(os.O_CLOEXEC)
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the relay process
        code = 1
        try:
            os.close(r)
            for fd in close_fds:  # e.g. the build's scratch lock: a relay never keeps a dead build's directory
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
            _relay(server, str(agent))
            code = 0
        except BaseException as e:  # noqa: BLE001 - the relay must never return into the builder
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
        raise Invalid(f"cannot forward the ssh agent {agent}: the relay did not start ({ok.decode(errors='replace')})")
    return Proxy(pid, listen)


def _relay(server: socket.socket, agent: str) -> None:  # pragma: no cover - runs in the relay process
    peers: dict[socket.socket, socket.socket] = {}
    while True:
        readable, _, _ = select.select([server, *peers], [], [])
        for s in readable:
            if s is server:
                client, _ = server.accept()
                upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                try:
                    upstream.connect(agent)
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
