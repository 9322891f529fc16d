"""The container's terminal.

In the init: a pty from the container's own devpts (after pivot_root), made the controlling terminal and stdio,
its master sent over a unix socket with SCM_RIGHTS (runc's --console-socket protocol).
In a foreground `run`/`exec` without --console-socket: the runtime receives the master itself and copies bytes
between it and its own stdio, with the host terminal in raw mode (restored on every exit path).
"""

from __future__ import annotations

import _signal
import errno
import os
import select
import socket

from tug.sys import mount as m
from tug.sys import tty


def connect(path: str) -> int:
    """Connect to a --console-socket; returns a CLOEXEC fd the init inherits."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(path)
    except OSError:
        s.close()
        raise
    return s.detach()


def pair() -> tuple[int, int]:
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    return a.detach(), b.detach()


def setup_in_container(sock_fd: int, dev_console: bool = True) -> None:
    """In the init, after pivot_root (or in an exec'd process): new pty from the container's devpts, bound on
    /dev/console (init only), controlling tty, stdio, master sent to the caller."""
    master, slave, name = tty.open_pty("/dev/ptmx")
    if dev_console:
        try:
            if not os.path.exists("/dev/console"):
                os.close(os.open("/dev/console", os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o600))
            m.mount(name, "/dev/console", None, m.MS_BIND, where="/dev/console")
        except OSError:
            pass  # /dev/console is a convenience; a read-only /dev must not stop the container
    tty.make_controlling(slave)
    for fd in (0, 1, 2):
        os.dup2(slave, fd)
    os.close(slave)
    sock = socket.socket(fileno=sock_fd)
    try:
        socket.send_fds(sock, [name.encode()], [master])
    finally:
        sock.close()
        os.close(master)


def receive_master(sock_fd: int) -> int:
    sock = socket.socket(fileno=sock_fd)
    try:
        _, fds, _, _ = socket.recv_fds(sock, 4096, 1)
    finally:
        sock.close()
    if not fds:
        raise OSError(errno.EPROTO, "no terminal received from the container")
    return fds[0]


def _write_all(fd: int, data: bytes) -> None:
    while data:
        n = os.write(fd, data)
        data = data[n:]


def proxy(master: int, pid: int, forward: tuple[int, ...]) -> int:
    """Copy stdin -> master and master -> stdout until `pid` exits; return its wait status."""
    stdin_tty = os.isatty(0)
    saved = tty.get_attrs(0) if stdin_tty else None
    wake_r, wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    old_wakeup = _signal.set_wakeup_fd(wake_w)
    handlers = {}
    try:
        if stdin_tty:
            tty.set_raw(0)
            tty.copy_winsize(0, master)
        handlers[_signal.SIGCHLD] = _signal.signal(_signal.SIGCHLD, lambda *_: None)
        handlers[_signal.SIGWINCH] = _signal.signal(
            _signal.SIGWINCH, lambda *_: tty.copy_winsize(0, master) if stdin_tty else None)
        for sig in forward:
            handlers[sig] = _signal.signal(sig, lambda s, _f: _kill(pid, s))
        return _loop(master, pid, wake_r)
    finally:
        if saved is not None:
            tty.set_attrs(0, saved)
        for sig, h in handlers.items():
            _signal.signal(sig, h)
        _signal.set_wakeup_fd(old_wakeup)
        os.close(wake_r)
        os.close(wake_w)


def _kill(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _loop(master: int, pid: int, wake_r: int) -> int:
    watch = [master, 0, wake_r]
    master_open = True
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            if master_open:
                _drain(master)
            return status
        try:
            ready, _, _ = select.select(watch, [], [], 1.0)
        except InterruptedError:
            continue
        if wake_r in ready:
            try:
                os.read(wake_r, 512)
            except BlockingIOError:
                pass
        if master in ready:
            try:
                data = os.read(master, 65536)
            except OSError as e:
                if e.errno != errno.EIO:
                    raise
                data = b""
            if data:
                _write_all(1, data)
            else:
                master_open = False
                watch.remove(master)
        if 0 in ready:
            data = os.read(0, 65536)
            if data:
                _write_all(master, data)
            else:
                watch.remove(0)


def _drain(master: int) -> None:
    while True:
        ready, _, _ = select.select([master], [], [], 0)
        if not ready:
            return
        try:
            data = os.read(master, 65536)
        except OSError:
            return
        if not data:
            return
        _write_all(1, data)
