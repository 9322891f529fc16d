"""attach's reading of the monitor's socket, shared by the stdio relay and the exec pty relay."""

from __future__ import annotations

import os
import socket

from tug.engine import attach, streams


def _pipe() -> tuple[int, int]:
    r, w = os.pipe()
    os.set_blocking(r, False)
    return r, w


def _drain(fd: int) -> bytes:
    try:
        return os.read(fd, 65536)
    except BlockingIOError:
        return b""


def test_output_frames_are_written_and_exit_ends_the_session() -> None:
    a, b = socket.socketpair()
    (out_r, out_w), (err_r, err_w) = _pipe(), _pipe()
    try:
        dec = streams.Decoder()
        data = streams.frame(streams.STDOUT, b"hello ") + streams.frame(streams.STDERR, b"oops")
        exit_frame = streams.frame(streams.EXIT, b"3")
        b.sendall(data + exit_frame[:2])  # the exit frame split across two reads
        assert attach._from_monitor(a, dec, out_w, err_w) == (False, None)
        assert _drain(out_r) == b"hello " and _drain(err_r) == b"oops"
        b.sendall(exit_frame[2:] + streams.frame(streams.STDOUT, b"after the exit"))
        assert attach._from_monitor(a, dec, out_w, err_w) == (True, 3)
        assert _drain(out_r) == b""
    finally:
        for fd in (out_r, out_w, err_r, err_w):
            os.close(fd)
        a.close()
        b.close()


def test_pty_session_drops_output_frames_and_a_closed_socket_has_no_code() -> None:
    a, b = socket.socketpair()
    try:
        dec = streams.Decoder()
        b.sendall(streams.frame(streams.STDOUT, b"x"))
        assert attach._from_monitor(a, dec, None, None) == (False, None)
        b.close()
        assert attach._from_monitor(a, dec, None, None) == (True, None)
    finally:
        a.close()
