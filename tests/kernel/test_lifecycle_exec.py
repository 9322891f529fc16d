"""`tug exec` and attaching: flags, environment and capabilities of the container, ptys, detach keys."""

from __future__ import annotations

import time

from lifecycle_helpers import PtySession, assert_no_leftovers, wait_until


def test_exec_env_user_workdir_and_exit_code(busybox_tug):
    cid = busybox_tug("run", "-d", "--name", "ex", "-e", "FROM_RUN=1", "-w", "/tmp", "busybox", "sleep", "300",
                      check=True).stdout.strip()
    r = busybox_tug("exec", "ex", "sh", "-c", "echo $FROM_RUN; pwd; id -u; hostname", check=True)
    assert r.stdout.split() == ["1", "/tmp", "0", cid[:12]]
    r = busybox_tug("exec", "-e", "EXTRA=2", "-w", "/etc", "-u", "1000:1000", "ex", "sh", "-c",
                    "echo $FROM_RUN $EXTRA; pwd; id -u; id -g", check=True)
    assert r.stdout.split() == ["1", "2", "/etc", "1000", "1000"]
    assert busybox_tug("exec", "-u", "user", "ex", "id", "-un", check=True).stdout == "user\n"
    assert busybox_tug("exec", "ex", "sh", "-c", "exit 9").returncode == 9
    r = busybox_tug("exec", "ex", "nosuchcommand")
    assert r.returncode in (126, 127) and "nosuchcommand" in r.stderr
    # the exec'd process is in the container's pid namespace and cgroup
    assert busybox_tug("exec", "ex", "cat", "/proc/1/cmdline", check=True).stdout.startswith("sleep")
    own = busybox_tug("exec", "ex", "cat", "/proc/1/cgroup", check=True).stdout
    assert busybox_tug("exec", "ex", "cat", "/proc/self/cgroup", check=True).stdout == own
    assert_no_leftovers(busybox_tug, [cid])


def test_exec_stdin_and_caps_and_privileged(busybox_tug):
    cid = busybox_tug("run", "-d", "--name", "ex2", "busybox", "sleep", "300", check=True).stdout.strip()
    assert busybox_tug("exec", "-i", "ex2", "cat", input="piped in\n").stdout == "piped in\n"
    assert busybox_tug("exec", "ex2", "cat", input="ignored\n").stdout == ""  # no -i: stdin closed

    def cap_eff(*flags: str) -> int:
        out = busybox_tug("exec", *flags, "ex2", "grep", "CapEff", "/proc/self/status", check=True).stdout
        return int(out.split()[1], 16)

    default, privileged = cap_eff(), cap_eff("--privileged")
    assert default != 0 and privileged & default == default and privileged != default
    assert not default & (1 << 21)  # CAP_SYS_ADMIN is not in docker's default set
    assert privileged & (1 << 21)
    assert_no_leftovers(busybox_tug, [cid])


def test_exec_detached_and_not_running(busybox_tug):
    cid = busybox_tug("run", "-d", "--name", "ex3", "busybox", "sleep", "300", check=True).stdout.strip()
    assert busybox_tug("exec", "-d", "ex3", "sh", "-c", "echo done > /tmp/marker", check=True).stdout == ""
    wait_until(lambda: busybox_tug("exec", "ex3", "cat", "/tmp/marker").stdout == "done\n", what="the marker")
    busybox_tug("stop", "-t", "0", "ex3", check=True)
    r = busybox_tug("exec", "ex3", "true")
    assert r.returncode != 0 and "not running" in r.stderr
    assert_no_leftovers(busybox_tug, [cid])


def test_exec_it_through_a_pty(busybox_tug):
    cid = busybox_tug("run", "-d", "--name", "shell", "busybox", "sleep", "300", check=True).stdout.strip()
    s = PtySession(busybox_tug, "exec", "-it", "shell", "sh")
    try:
        s.expect(b"# ")
        s.send(b"tty; echo abc''def; stty size\r")
        s.expect(b"abcdef")
        s.expect(b"/dev/pts/")
        s.send(b"exit 3\r")
        assert s.close() == 3
    finally:
        if s.proc.poll() is None:
            s.proc.kill()
    assert b"echo abc''def" in s.out  # echoed by the container's terminal
    assert_no_leftovers(busybox_tug, [cid])


def test_run_it_detach_keys_then_attach(busybox_tug):
    s = PtySession(busybox_tug, "run", "-it", "--name", "att", "busybox", "sh")
    try:
        s.expect(b"# ")
        s.send(b"echo first\r")
        s.expect(b"first")
        s.send(b"\x10\x11")  # ctrl-p ctrl-q: detach, the container keeps running
        assert s.close() == 0
    finally:
        if s.proc.poll() is None:
            s.proc.kill()
    assert busybox_tug("ps", "--format", "{{.Names}} {{.State}}").stdout == "att running\n"
    a = PtySession(busybox_tug, "attach", "att")
    try:
        time.sleep(0.3)
        a.send(b"echo second-$((40+2))\r")
        a.expect(b"second-42")
        a.send(b"exit 5\r")
        assert a.close() == 5
    finally:
        if a.proc.poll() is None:
            a.proc.kill()
    assert busybox_tug("inspect", "-f", "{{.State.ExitCode}}", "att").stdout == "5\n"
    logs = busybox_tug("logs", "att").stdout
    assert "first" in logs and "second-42" in logs
    cid = busybox_tug("inspect", "-f", "{{.Id}}", "att").stdout.strip()
    assert_no_leftovers(busybox_tug, [cid])


def test_start_ai_and_stdin_eof(busybox_tug):
    cid = busybox_tug("create", "-i", "--name", "cat", "busybox", "sh", "-c", "cat; echo end",
                      check=True).stdout.strip()
    r = busybox_tug("start", "-ai", "cat", input="hello through start\n")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "hello through start\nend\n"
    assert_no_leftovers(busybox_tug, [cid])


def test_sig_proxy_forwards_sigterm(busybox_tug):
    import signal
    import subprocess

    from conftest import TUG

    proc = subprocess.Popen([TUG, "run", "--name", "proxy", "busybox", "sh", "-c",
                             "trap 'echo got-term; exit 11' TERM; echo ready; while true; do sleep 0.1; done"],
                            env=busybox_tug.env, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline() == "ready\n"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 11
        assert proc.stdout.read() == "got-term\n"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    cid = busybox_tug("inspect", "-f", "{{.Id}}", "proxy").stdout.strip()
    assert_no_leftovers(busybox_tug, [cid])
