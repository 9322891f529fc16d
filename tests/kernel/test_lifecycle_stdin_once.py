"""docker's StdinOnce: a container started with its stdin attached (`run -i`, `start -a -i`) sees EOF on stdin when
that client goes away, so a process reading stdin ends; a `run -di` container's stdin outlives an `attach`."""

from __future__ import annotations

import signal
import subprocess
import time

from lifecycle_helpers import assert_no_leftovers, wait_until

from conftest import TUG


def _status(tug, name: str) -> str:
    return tug("inspect", "-f", "{{.State.Status}}", name, check=True).stdout.strip()


def _client(tug, *args: str) -> subprocess.Popen:
    return subprocess.Popen([TUG, *args], env=tug.env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL)


def test_run_i_client_with_a_broken_pipe_closes_stdin(busybox_tug):
    """`tug run -i busybox cat | head -1`: the client dies on its next write, our stdin pipe stays open."""
    p = _client(busybox_tug, "run", "-i", "--network", "none", "--name", "once", "busybox", "cat")
    try:
        p.stdin.write(b"one\n")
        p.stdin.flush()
        assert p.stdout.readline() == b"one\n"
        p.stdout.close()  # as `head -1` exiting
        p.stdin.write(b"two\n")
        p.stdin.flush()
        assert p.wait(20) != 0
        wait_until(lambda: _status(busybox_tug, "once") == "exited", what="cat to see EOF")
        assert busybox_tug("inspect", "-f", "{{.State.ExitCode}}", "once", check=True).stdout.strip() == "0"
    finally:
        p.kill()
        p.wait()
        p.stdin.close()
    cid = busybox_tug("inspect", "-f", "{{.Id}}", "once", check=True).stdout.strip()
    busybox_tug("rm", "once", check=True)
    assert_no_leftovers(busybox_tug, [cid])


def test_start_a_i_client_killed_closes_stdin(busybox_tug):
    cid = busybox_tug("create", "-i", "--network", "none", "--name", "once2", "busybox", "cat",
                      check=True).stdout.strip()
    p = _client(busybox_tug, "start", "-a", "-i", "once2")
    try:
        p.stdin.write(b"hello\n")
        p.stdin.flush()
        assert p.stdout.readline() == b"hello\n"
        p.send_signal(signal.SIGKILL)
        p.wait(20)
        wait_until(lambda: _status(busybox_tug, "once2") == "exited", what="cat to see EOF")
    finally:
        p.kill()
        p.wait()
        p.stdin.close()
        p.stdout.close()
    busybox_tug("rm", "-f", "once2", check=True)
    assert_no_leftovers(busybox_tug, [cid])


def test_run_di_stdin_outlives_an_attach(busybox_tug):
    """Not StdinOnce (docker's `run -di`): a killed `attach` leaves stdin open for the next one."""
    cid = busybox_tug("run", "-di", "--network", "none", "--name", "keep", "busybox", "cat",
                      check=True).stdout.strip()
    for word in (b"first\n", b"second\n"):
        p = _client(busybox_tug, "attach", "keep")
        try:
            p.stdin.write(word)
            p.stdin.flush()
            assert p.stdout.readline() == word
            p.send_signal(signal.SIGKILL)
            p.wait(20)
        finally:
            p.kill()
            p.wait()
            p.stdin.close()
            p.stdout.close()
        time.sleep(0.3)  # long enough for the monitor to have dropped the client
        assert _status(busybox_tug, "keep") == "running"
    busybox_tug("rm", "-f", "keep", check=True)
    assert_no_leftovers(busybox_tug, [cid])
