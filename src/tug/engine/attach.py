"""The caller's side of attaching: relay our stdio to a monitor's socket (or to an exec's pty master).

With a TTY the caller's terminal is put in raw mode (restored on every way out) and SIGWINCH becomes a resize; without
one, signals the caller receives are passed on to the container (docker's `--sig-proxy`). Ctrl-P Ctrl-Q detaches
from a `-it` session and leaves the container running.
"""

from __future__ import annotations

import os
import select
import signal
import socket
import struct
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from tug.engine import streams

PROXIED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2,
           signal.SIGALRM, signal.SIGCONT)
DETACH_KEYS = b"\x10\x11"  # ctrl-p ctrl-q


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
def _signals(handler: Callable[[int], None], sigs: tuple[signal.Signals, ...]) -> Iterator[None]:
    old = {s: signal.signal(s, lambda n, _f: handler(n)) for s in sigs}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def relay(sock: socket.socket, *, tty: bool, stdin: bool, sig_proxy: bool = True, stdout: int = 1,
          stderr: int = 2) -> int | None:
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

    sigs: list[signal.Signals] = []
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
        return _pump(sock, stdin, stdout, stderr, detachable=tty and stdin)


@contextmanager
def _nothing() -> Iterator[None]:
    yield


def _pump(sock: socket.socket, stdin: bool, out: int, err: int, detachable: bool) -> int | None:
    dec = streams.Decoder()
    poll = select.poll()
    poll.register(sock.fileno(), select.POLLIN)
    reading_stdin = stdin
    if reading_stdin:
        poll.register(0, select.POLLIN)
    pending = b""
    while True:
        try:
            events = poll.poll()
        except InterruptedError:
            continue
        for fd, _ev in events:
            if fd == 0:
                try:
                    data = os.read(0, 65536)
                except OSError:
                    data = b""
                if not data:
                    poll.unregister(0)
                    reading_stdin = False
                    _sendall(sock, streams.frame(streams.STDIN_EOF))
                    continue
                if detachable:
                    data = pending + data
                    if DETACH_KEYS in data:
                        before = data[:data.index(DETACH_KEYS)]
                        if before:
                            _sendall(sock, streams.frame(streams.STDIN, before))
                        return None
                    pending = b""
                    if data.endswith(DETACH_KEYS[:1]):
                        pending, data = data[-1:], data[:-1]
                if data:
                    _sendall(sock, streams.frame(streams.STDIN, data))
                continue
            try:
                chunk = sock.recv(65536)
            except OSError:
                chunk = b""
            if not chunk:
                return None
            for kind, payload in dec.feed(chunk):
                if kind == streams.STDOUT:
                    streams.write_all(out, payload)
                elif kind == streams.STDERR:
                    streams.write_all(err, payload)
                elif kind == streams.EXIT:
                    return int(payload)


def _sendall(sock: socket.socket, data: bytes) -> None:
    try:
        sock.sendall(data)
    except OSError:
        pass


def relay_pty(master: int, interactive: bool, ended: Callable[[], bool]) -> None:
    """Relay a pty master to our stdio (raw mode, resizes) until the other side closes."""
    def on_winch(_n: int) -> None:
        import fcntl
        import termios

        try:
            fcntl.ioctl(master, termios.TIOCSWINSZ, fcntl.ioctl(0, termios.TIOCGWINSZ, b"\0" * 8))
        except OSError:
            pass

    with raw_terminal(0) if interactive else _nothing(), _signals(on_winch, (signal.SIGWINCH,)):
        poll = select.poll()
        poll.register(master, select.POLLIN)
        if interactive:
            poll.register(0, select.POLLIN)
        while True:
            try:
                events = poll.poll(200)
            except InterruptedError:
                continue
            if not events and ended():
                return
            for fd, _ev in events:
                if fd == 0:
                    try:
                        data = os.read(0, 65536)
                    except OSError:
                        data = b""
                    if not data:
                        poll.unregister(0)
                        continue
                    try:
                        streams.write_all(master, data)
                    except OSError:
                        return
                    continue
                try:
                    data = os.read(master, 65536)
                except OSError:  # EIO: the last slave closed
                    data = b""
                if not data:
                    return
                streams.write_all(1, data)
