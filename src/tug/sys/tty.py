"""Pseudo-terminals: a new pty pair from a devpts ptmx, controlling terminal, window size, raw mode."""

from __future__ import annotations

import fcntl
import os
import struct
import termios

TIOCGPTN = 0x80045430
TIOCSPTLCK = 0x40045431
TIOCGPTPEER = 0x5441
TIOCSCTTY = 0x540E
TIOCGWINSZ = 0x5413
TIOCSWINSZ = 0x5414


def open_pty(ptmx: str = "/dev/ptmx") -> tuple[int, int, str]:
    """(master fd, slave fd, slave path) from the devpts instance behind `ptmx`; both fds are CLOEXEC."""
    master = os.open(ptmx, os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
    try:
        fcntl.ioctl(master, TIOCSPTLCK, struct.pack("i", 0))
        n = struct.unpack("I", fcntl.ioctl(master, TIOCGPTN, b"\0\0\0\0"))[0]
        slave = fcntl.ioctl(master, TIOCGPTPEER, os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
    except BaseException:
        os.close(master)
        raise
    return master, slave, f"/dev/pts/{n}"


def make_controlling(fd: int) -> None:
    """The caller must already be a session leader (setsid)."""
    fcntl.ioctl(fd, TIOCSCTTY, 0)


def get_winsize(fd: int) -> bytes:
    return fcntl.ioctl(fd, TIOCGWINSZ, b"\0" * 8)


def set_winsize(fd: int, ws: bytes) -> None:
    fcntl.ioctl(fd, TIOCSWINSZ, ws)


def copy_winsize(src: int, dst: int) -> None:
    try:
        set_winsize(dst, get_winsize(src))
    except OSError:
        pass


def get_attrs(fd: int) -> list:
    return termios.tcgetattr(fd)


def set_attrs(fd: int, attrs: list) -> None:
    termios.tcsetattr(fd, termios.TCSANOW, attrs)


def set_raw(fd: int) -> None:
    """cfmakeraw on `fd` (what `tty.setraw` does, without importing `tty`)."""
    mode = termios.tcgetattr(fd)
    mode[0] &= ~(termios.IGNBRK | termios.BRKINT | termios.PARMRK | termios.ISTRIP | termios.INLCR | termios.IGNCR
                 | termios.ICRNL | termios.IXON)
    mode[1] &= ~termios.OPOST
    mode[3] &= ~(termios.ECHO | termios.ECHONL | termios.ICANON | termios.ISIG | termios.IEXTEN)
    mode[2] &= ~(termios.CSIZE | termios.PARENB)
    mode[2] |= termios.CS8
    mode[6][termios.VMIN] = 1
    mode[6][termios.VTIME] = 0
    termios.tcsetattr(fd, termios.TCSAFLUSH, mode)
