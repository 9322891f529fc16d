"""tug.network.relay: a forked relay from a fresh Unix socket to a target socket (what `RUN --mount=type=ssh` uses)."""

from __future__ import annotations

import os
import socket
import stat

import pytest

from tug.errors import Invalid
from tug.network import relay


def test_relay_joins_a_connection_to_the_target_and_stop_removes_its_socket(tmp_path):
    target = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    target.bind(str(tmp_path / "agent.sock"))
    target.listen(1)
    r = relay.start(tmp_path / "agent.sock", tmp_path / "fwd.sock", os.getuid(), os.getgid(), 0o640)
    try:
        st = os.stat(r.path)
        assert stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o640
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.settimeout(10)
            target.settimeout(10)
            client.connect(str(r.path))
            client.sendall(b"ping")
            conn, _ = target.accept()
            with conn:
                assert conn.recv(16) == b"ping"
                conn.sendall(b"pong")
                assert client.recv(16) == b"pong"
    finally:
        r.stop()
        target.close()
    assert r.pid == -1 and not r.path.exists()


def test_relay_that_cannot_listen_names_the_target(tmp_path):
    with pytest.raises(Invalid, match="cannot forward the agent: the relay did not start"):
        relay.start(tmp_path / "agent.sock", tmp_path / "missing-dir" / "fwd.sock", os.getuid(), os.getgid(), 0o600,
                    what="the agent")
