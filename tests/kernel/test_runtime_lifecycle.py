"""tug-runtime create/start/state/kill/delete/list, and a real terminal (root, real kernel)."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import termios

import pytest
from runtime_support import RUNTIME, cleanup, make_bundle, rt, wait_for


@pytest.fixture
def root(tmp_path):
    r = tmp_path / "state"
    yield r
    cleanup(r)


def state_of(root, cid) -> dict:
    r = rt(root, "state", cid)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_create_start_state_kill_delete(tmp_path, busybox_rootfs, root):
    out = tmp_path / "out"
    script = "trap 'echo got-term; exit 0' TERM; echo started; while :; do sleep 0.05; done"
    b = make_bundle(tmp_path, busybox_rootfs, ["sh", "-c", script])
    pid_file = tmp_path / "pid"
    with open(out, "w") as f:
        r = rt(root, "create", "--bundle", str(b), "--pid-file", str(pid_file), "lc", stdout=f, stderr=f,
               capture_output=False)
    assert r.returncode == 0, out.read_text()
    st = state_of(root, "lc")
    assert st["status"] == "created" and st["id"] == "lc" and st["bundle"] == str(b)
    assert st["pid"] == int(pid_file.read_text()) > 0
    assert st["rootfs"] == str(b / "rootfs") and st["ociVersion"].startswith("1.")
    assert out.read_text() == ""  # nothing ran yet
    assert rt(root, "create", "--bundle", str(b), "lc").returncode == 125  # id taken
    listing = rt(root, "list", "-q")
    assert listing.stdout.split() == ["lc"]

    assert rt(root, "start", "lc").returncode == 0
    assert wait_for(lambda: "started" in out.read_text())
    assert state_of(root, "lc")["status"] == "running"
    assert rt(root, "start", "lc").returncode != 0
    r = rt(root, "delete", "lc")
    assert r.returncode != 0 and "not stopped" in r.stderr

    assert rt(root, "kill", "lc", "TERM").returncode == 0
    assert wait_for(lambda: state_of(root, "lc")["status"] == "stopped")
    assert "got-term" in out.read_text()
    assert rt(root, "kill", "lc", "KILL").returncode != 0  # not running any more
    assert rt(root, "delete", "lc").returncode == 0
    r = rt(root, "state", "lc")
    assert r.returncode != 0 and "does not exist" in r.stderr


def test_kill_created_then_force_delete(tmp_path, busybox_rootfs, root):
    b = make_bundle(tmp_path, busybox_rootfs, ["sleep", "60"])
    assert rt(root, "create", "--bundle", str(b), "fd1", stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
              capture_output=False).returncode == 0
    pid = state_of(root, "fd1")["pid"]
    assert rt(root, "kill", "fd1", "9").returncode == 0
    assert wait_for(lambda: state_of(root, "fd1")["status"] == "stopped")
    assert rt(root, "delete", "fd1").returncode == 0
    from tug.sys.proc import is_alive

    assert not is_alive(pid)


def test_delete_force_kills_running(tmp_path, busybox_rootfs, root):
    b = make_bundle(tmp_path, busybox_rootfs, ["sleep", "60"])
    assert rt(root, "run", "-d", "--bundle", str(b), "fd2", stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
              capture_output=False).returncode == 0
    assert state_of(root, "fd2")["status"] == "running"
    assert rt(root, "delete", "-f", "fd2").returncode == 0
    assert not (root / "fd2").exists()


def test_bad_oci_version_and_signal_are_clear_errors(tmp_path, busybox_rootfs, root):
    b = make_bundle(tmp_path, busybox_rootfs, ["true"], lambda s: s.update(ociVersion="2.0.0"))
    r = rt(root, "run", "--bundle", str(b), "v2")
    assert r.returncode == 125 and "unsupported ociVersion" in r.stderr
    r = rt(root, "kill", "nosuch", "SIGFOO")
    assert r.returncode == 125 and "SIGFOO" in r.stderr


def _read_until(fd: int, needle: bytes, timeout: float = 10.0) -> bytes:
    buf = b""
    import time

    deadline = time.monotonic() + timeout
    while needle not in buf and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            buf += chunk
    return buf


def test_terminal_run_through_a_real_pty(tmp_path, busybox_rootfs, root):
    def edit(spec):
        spec["process"]["terminal"] = True
        spec["process"]["env"].append("PS1=tugbox# ")

    b = make_bundle(tmp_path, busybox_rootfs, ["sh"], edit)
    master, slave = os.openpty()
    before = termios.tcgetattr(slave)
    p = subprocess.Popen([*RUNTIME, "--root", str(root), "run", "--bundle", str(b), "tty1"], stdin=slave,
                         stdout=slave, stderr=slave, start_new_session=True)
    try:
        assert b"tugbox# " in _read_until(master, b"tugbox# ")
        os.write(master, b"echo hello-$((40+2)); tty\n")
        out = _read_until(master, b"/dev/pts/0")
        assert b"hello-42" in out and b"/dev/pts/0" in out  # echo came back and stdin is the container's pty
        os.write(master, b"exit 5\n")
        assert p.wait(timeout=20) == 5
        assert termios.tcgetattr(slave) == before
    finally:
        if p.poll() is None:
            p.send_signal(signal.SIGKILL)
            p.wait()
        os.close(master)
        os.close(slave)


def test_console_socket_receives_the_master(tmp_path, busybox_rootfs, root):
    import socket

    def edit(spec):
        spec["process"]["terminal"] = True

    b = make_bundle(tmp_path, busybox_rootfs, ["sh", "-c", "tty; echo done"], edit)
    sock_path = str(tmp_path / "console.sock")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(sock_path)
    srv.listen(1)
    try:
        r = rt(root, "create", "--bundle", str(b), "--console-socket", sock_path, "cs1")
        assert r.returncode == 0, r.stderr
        conn, _ = srv.accept()
        msg, fds, _, _ = socket.recv_fds(conn, 1024, 1)
        conn.close()
        assert len(fds) == 1 and msg.startswith(b"/dev/pts/")
        assert rt(root, "start", "cs1").returncode == 0
        out = _read_until(fds[0], b"done")
        assert b"/dev/pts/0" in out and b"done" in out
        os.close(fds[0])
    finally:
        srv.close()
