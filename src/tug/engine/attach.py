"""The caller's side of attaching: relay our stdio to a monitor's socket (or to an exec's pty master).

With a TTY the caller's terminal is put in raw mode (restored on every way out) and SIGWINCH becomes a resize; without
one, signals the caller receives are passed on to the container (docker's `--sig-proxy`). Ctrl-P Ctrl-Q detaches
from a `-it` session and leaves the container running.
"""

from __future__ import annotations

import _signal as signal
import os
import select
import struct
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from tug import jsontext
from tug.engine import streams

TYPE_CHECKING = False
if TYPE_CHECKING:
    import socket

PROXIED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2,
           signal.SIGALRM, signal.SIGCONT)
DETACH_KEYS = b"\x10\x11"  # ctrl-p ctrl-q
_CTRL = {**{f"ctrl-{chr(c)}": bytes([c - 96]) for c in range(ord("a"), ord("z") + 1)},
         "ctrl-@": b"\x00", "ctrl-[": b"\x1b", "ctrl-\\": b"\x1c", "ctrl-]": b"\x1d", "ctrl-^": b"\x1e",
         "ctrl-_": b"\x1f"}


def parse_detach_keys(text: str | None) -> bytes:
    """docker's `--detach-keys`: comma-separated keys, each one character or `ctrl-<value>` (a-z, @, [, \\, ], ^,
    _); None gives the default ctrl-p,ctrl-q."""
    from tug.errors import Invalid

    if text is None:
        return DETACH_KEYS
    out = bytearray()
    for key in text.split(","):
        if len(key) == 1:
            out += key.encode()
        elif key.lower() in _CTRL:
            out += _CTRL[key.lower()]
        else:
            raise Invalid(f"invalid detach keys ({text}): unknown character '{key}'",
                          hint="keys are letters or ctrl-<value>, comma-separated, e.g. ctrl-p,ctrl-q")
    if not out:
        raise Invalid(f"invalid detach keys ({text!r})")
    return bytes(out)


class DetachMatcher:
    """Finds the detach sequence in what the user types; bytes that might start it are held back until the next
    keystroke tells (then sent on, as docker's escape proxy does)."""

    def __init__(self, keys: bytes) -> None:
        self.keys = keys
        self.held = b""

    def feed(self, data: bytes) -> tuple[bytes, bool]:
        """(bytes to pass on, whether the sequence was typed)."""
        data = self.held + data
        self.held = b""
        at = data.find(self.keys)
        if at >= 0:
            return data[:at], True
        for n in range(min(len(self.keys) - 1, len(data)), 0, -1):
            if data.endswith(self.keys[:n]):
                self.held = data[-n:]
                return data[:-n], False
        return data, False


def terminal_size(fd: int = 1) -> tuple[int, int] | None:
    try:
        size = os.get_terminal_size(fd)
    except OSError:
        try:
            size = os.get_terminal_size(0)
        except OSError:
            return None
    return size.lines, size.columns


@contextmanager
def raw_terminal(fd: int) -> Iterator[None]:
    """Raw mode on `fd` when it is a terminal; the previous mode comes back however the block ends."""
    from tug.sys import tty

    if not os.isatty(fd):
        yield
        return
    saved = tty.get_attrs(fd)
    handlers = {}

    def restore_and_exit(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    for s in (signal.SIGTERM, signal.SIGHUP):
        handlers[s] = signal.signal(s, restore_and_exit)
    try:
        tty.set_raw(fd)
        yield
    finally:
        tty.set_attrs(fd, saved)
        for s, h in handlers.items():
            signal.signal(s, h)


@contextmanager
def _signals(handler: Callable[[int], None], sigs: tuple[int, ...]) -> Iterator[None]:
    old = {s: signal.signal(s, lambda n, _f: handler(n)) for s in sigs}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def relay(sock: socket.socket, *, tty: bool, stdin: bool, sig_proxy: bool = True, stdout: int = 1,
          stderr: int = 2, detach_keys: bytes | None = None) -> int | None:
    """Pump between our stdio and an attached monitor socket until the container's process ends.

    Returns its exit code, or None when the monitor went away (or we detached) without one.
    """
    def send(kind: int, payload: bytes = b"") -> None:
        try:
            sock.sendall(streams.frame(kind, payload))
        except OSError:
            pass

    def on_winch(_n: int) -> None:
        size = terminal_size()
        if size:
            send(streams.RESIZE, struct.pack("!HH", *size))

    sigs: list[int] = []
    handler: Callable[[int], None] = on_winch
    if tty:
        sigs = [signal.SIGWINCH]
    elif sig_proxy:
        sigs = list(PROXIED)

        def handler(n: int) -> None:
            send(streams.SIGNAL, str(n).encode())

    raw = raw_terminal(0) if tty and stdin else _nothing()
    with raw, _signals(handler, tuple(sigs)):
        if tty:
            on_winch(0)
        return _pump(sock, stdin, stdout, stderr, DetachMatcher(detach_keys or DETACH_KEYS) if tty and stdin else None)


@contextmanager
def _nothing() -> Iterator[None]:
    yield


def _pump(sock: socket.socket, stdin: bool, out: int, err: int, detach: DetachMatcher | None) -> int | None:
    dec = streams.Decoder()
    poll = select.poll()
    poll.register(sock.fileno(), select.POLLIN)
    if stdin:
        poll.register(0, select.POLLIN)
    while True:
        try:
            events = poll.poll()
        except InterruptedError:
            continue
        for fd, _ev in events:
            if fd == 0:
                typed = _read_stdin(detach)
                if typed is None:
                    poll.unregister(0)
                    _sendall(sock, streams.frame(streams.STDIN_EOF))
                    continue
                data, detached = typed
                if data:
                    _sendall(sock, streams.frame(streams.STDIN, data))
                if detached:
                    return None
                continue
            done, code = _from_monitor(sock, dec, out, err)
            if done:
                return code


def _read_stdin(detach: DetachMatcher | None) -> tuple[bytes, bool] | None:
    """One read of what the user types: (the bytes to pass on, whether the detach keys were typed), or None at the
    end of our stdin (or when reading it fails)."""
    try:
        data = os.read(0, 65536)
    except OSError:
        data = b""
    if not data:
        return None
    if detach is None:
        return data, False
    return detach.feed(data)


def _from_monitor(sock: socket.socket, dec: streams.Decoder, out: int | None,
                  err: int | None) -> tuple[bool, int | None]:
    """One read from the monitor's socket, its complete frames acted on: STDOUT and STDERR payloads written to `out`
    and `err` (dropped where None: a pty carries the output), EXIT ends the session. (done, exit code): done with
    None when the socket closed (or failed) before an EXIT frame came."""
    try:
        chunk = sock.recv(65536)
    except OSError:
        chunk = b""
    if not chunk:
        return True, None
    for kind, payload in dec.feed(chunk):
        if kind == streams.STDOUT:
            if out is not None:
                streams.write_all(out, payload)
        elif kind == streams.STDERR:
            if err is not None:
                streams.write_all(err, payload)
        elif kind == streams.EXIT:
            return True, int(payload)
    return False, None


def _sendall(sock: socket.socket, data: bytes) -> None:
    try:
        sock.sendall(data)
    except OSError:
        pass


def _copy_winsize(master: int) -> None:
    import fcntl
    import termios

    for fd in (0, 1):
        try:
            fcntl.ioctl(master, termios.TIOCSWINSZ, fcntl.ioctl(fd, termios.TIOCGWINSZ, b"\0" * 8))
            return
        except OSError:
            continue


def relay_pty(master: int, interactive: bool, ended: Callable[[], bool],
              detach_keys: bytes = DETACH_KEYS) -> bool:
    """Relay a pty master to our stdio (raw mode, resizes) until the other side closes (False) or the user types
    the detach keys (True)."""
    return _pty_loop(master, interactive, detach_keys, None, ended) is _DETACHED


_DETACHED = -1


def _pty_loop(master: int, interactive: bool, detach_keys: bytes, sock: socket.socket | None,
              ended: Callable[[], bool] | None) -> int | None:
    """The pty relay. With `sock` (the monitor's exec), it also watches the socket for EXIT and returns that code
    once the pty's output is drained; otherwise `ended()` is polled. _DETACHED when the detach keys were typed."""
    detach = DetachMatcher(detach_keys) if interactive else None
    with raw_terminal(0) if interactive else _nothing(), \
            _signals(lambda _n: _copy_winsize(master), (signal.SIGWINCH,)):
        poll = select.poll()
        poll.register(master, select.POLLIN)
        if interactive:
            poll.register(0, select.POLLIN)
        dec = streams.Decoder()
        if sock is not None:
            poll.register(sock.fileno(), select.POLLIN)
        master_open = True
        while True:
            try:
                events = poll.poll(200 if ended is not None else -1)
            except InterruptedError:
                continue
            if not events and ended is not None and ended():
                return None
            for fd, _ev in events:
                if fd == 0:
                    typed = _read_stdin(detach)
                    if typed is None:
                        poll.unregister(0)
                        continue
                    data, detached = typed
                    try:
                        streams.write_all(master, data)
                    except OSError:
                        pass
                    if detached:
                        return _DETACHED
                    continue
                if sock is not None and fd == sock.fileno():
                    done, code = _from_monitor(sock, dec, None, None)  # the output comes through the pty
                    if done:
                        if code is not None and master_open:
                            _drain_pty(master)
                        return code
                    continue
                try:
                    data = os.read(master, 65536)
                except OSError:  # EIO: the last slave closed
                    data = b""
                if not data:
                    if sock is None:
                        return None
                    poll.unregister(master)  # the exit code is still to come from the monitor
                    master_open = False
                    continue
                streams.write_all(1, data)


def _drain_pty(master: int) -> None:
    """What the process wrote just before it ended, without waiting for a slave some other process keeps open."""
    os.set_blocking(master, False)
    try:
        while data := os.read(master, 65536):
            streams.write_all(1, data)
    except OSError:  # EAGAIN: nothing more now; EIO: no slave left
        pass


def relay_exec_tty(sock: socket.socket, rundir: str, process: bytes, interactive: bool, detach_keys: bytes,
                   detach: bool = False) -> int:
    """`exec -t` through the monitor: a console socket for the runtime to send the pty master on, the request, then
    the relay until the monitor reports the exit code. Detaching (or `-d`) hands the pty to the monitor, returns 0
    and leaves the process running."""
    import _socket

    tag = f"exec-{os.getpid()}.sock"
    dfd = os.open(rundir, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    path = f"/proc/{os.getpid()}/fd/{dfd}/{tag}"
    srv = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM | _socket.SOCK_CLOEXEC)
    master = -1
    try:
        srv.bind(path)
        srv.listen(1)
        head = jsontext.dumps({"detach": False, "console": path}).encode()
        sock.sendall(streams.frame(streams.EXEC, head + b"\n" + process))
        poll = select.poll()
        poll.register(srv.fileno(), select.POLLIN)
        poll.register(sock.fileno(), select.POLLIN)
        while master < 0:
            for fd, _ev in poll.poll():
                if fd == sock.fileno():  # the monitor answers before the pty came: the exec failed
                    from tug.engine.exec import wait_exec

                    return wait_exec(sock, proxy_signals=False)
                conn_fd, _ = srv._accept()
                conn = _socket.socket(fileno=conn_fd)
                try:
                    conn.settimeout(30)
                    fds = streams.recv_fds(conn)
                finally:
                    conn.close()
                if fds:
                    master = fds[0]
                    for extra in fds[1:]:
                        os.close(extra)
        _copy_winsize(master)
        code = _DETACHED if detach else _pty_loop(master, interactive, detach_keys, sock, None)
        if code == _DETACHED:  # the monitor keeps the pty from now on, so the process runs on
            anc = [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, struct.pack("i", master))]
            try:
                sock.sendmsg([streams.frame(streams.PTY)], anc)
            except OSError:
                pass
            return 0
        if code is None:
            streams.write_all(2, b"tug: the container's monitor went away during the exec\n")
            return 137
        return code
    finally:
        if master >= 0:
            os.close(master)
        srv.close()
        try:
            os.unlink(tag, dir_fd=dfd)
        except FileNotFoundError:
            pass
        os.close(dfd)


