"""Detached containers and their monitor: surviving the starting command, stop/kill/wait, logs, a killed monitor."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time

from lifecycle_helpers import assert_no_leftovers, full_id, gone, monitor_pids, processes_mentioning, wait_until

from conftest import TUG


def state(tug, name: str) -> str:
    return tug("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", name, check=True).stdout.strip()


def test_create_start_ps_words_and_cleanup(busybox_tug):
    r = busybox_tug("create", "--name", "sleeper", "busybox", "sleep", "300", check=True)
    cid = r.stdout.strip()
    assert re.fullmatch(r"[0-9a-f]{64}", cid)
    ps = busybox_tug("ps", "-a", check=True).stdout.splitlines()
    assert ps[0].split() == ["CONTAINER", "ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"]
    assert "Created" in ps[1] and ps[1].startswith(cid[:12])
    assert busybox_tug("ps", "-q").stdout.strip() == ""  # not running: only with -a
    assert busybox_tug("start", "sleeper", check=True).stdout == "sleeper\n"
    status = busybox_tug("ps", "--format", "{{.Status}}", check=True).stdout.strip()
    assert re.fullmatch(r"Up (Less than a second|\d+ seconds?)", status), status
    # the container outlived `tug start`: its init runs under the monitor, not under us
    pid = int(busybox_tug("inspect", "-f", "{{.State.Pid}}", "sleeper", check=True).stdout)
    assert pid > 0 and os.path.exists(f"/proc/{pid}")
    assert processes_mentioning(str(busybox_tug.runroot))  # the monitor
    assert_no_leftovers(busybox_tug, [cid])
    assert gone(pid)


def test_run_d_survives_and_stop_respects_timeout(busybox_tug):
    cid = busybox_tug("run", "-d", "--name", "s1", "busybox", "sleep", "300", check=True).stdout.strip()
    assert re.fullmatch(r"[0-9a-f]{64}", cid)
    time.sleep(0.5)
    assert state(busybox_tug, "s1") == "running 0"
    t0 = time.monotonic()
    assert busybox_tug("stop", "-t", "1", "s1", check=True).stdout == "s1\n"
    took = time.monotonic() - t0
    # sleep as pid 1 ignores SIGTERM: SIGKILL after the timeout
    assert state(busybox_tug, "s1") == "exited 137"
    assert took < 15
    assert busybox_tug("wait", "s1", check=True).stdout == "137\n"
    # stopping a stopped container is fine, as in docker
    assert busybox_tug("stop", "s1").returncode == 0
    assert_no_leftovers(busybox_tug, [cid])


def test_stop_signal_handled_exits_quickly(busybox_tug):
    cid = busybox_tug("run", "-d", "--name", "trapper", "busybox", "sh", "-c",
                      "trap 'echo got TERM; exit 7' TERM; while true; do sleep 0.1; done", check=True).stdout.strip()
    time.sleep(0.5)
    assert busybox_tug("stop", "-t", "30", "trapper", check=True).returncode == 0
    assert state(busybox_tug, "trapper") == "exited 7"
    assert "got TERM" in busybox_tug("logs", "trapper", check=True).stdout
    assert_no_leftovers(busybox_tug, [cid])


def test_wait_returns_exit_code_and_logs_streams(busybox_tug):
    cid = busybox_tug("run", "-d", "--name", "w1", "busybox", "sh", "-c",
                      "echo out1; echo err1 >&2; sleep 0.5; echo out2; exit 4", check=True).stdout.strip()
    assert busybox_tug("wait", "w1", check=True).stdout == "4\n"
    logs = busybox_tug("logs", "w1", check=True)
    assert logs.stdout == "out1\nout2\n"
    assert logs.stderr == "err1\n"
    assert busybox_tug("logs", "--tail", "1", "w1").stdout == "out2\n"
    ts = busybox_tug("logs", "-t", "w1").stdout.splitlines()
    assert all(re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z out\d$", ln) for ln in ts), ts
    assert busybox_tug("logs", "--since", "1h", "w1").stdout == "out1\nout2\n"
    assert busybox_tug("logs", "--since", "2100-01-01T00:00:00Z", "w1").stdout == ""
    # the file is docker's json-file format
    log = busybox_tug.root / "containers" / cid / f"{cid}-json.log"
    first = log.read_text().splitlines()[0]
    assert re.fullmatch(r'\{"log": "out1\\n", "stream": "stdout", "time": "[^"]+Z"\}', first), first
    ps = busybox_tug("ps", "-a", "--format", "{{.Status}}").stdout.strip()
    assert re.fullmatch(r"Exited \(4\) (Less than a second|\d+ seconds?) ago", ps), ps
    assert_no_leftovers(busybox_tug, [cid])


def test_logs_follow_until_exit(busybox_tug):
    cid = busybox_tug("run", "-d", "--name", "f1", "busybox", "sh", "-c",
                      "for i in 1 2 3 4 5; do echo line$i; sleep 0.3; done", check=True).stdout.strip()
    proc = subprocess.Popen([TUG, "logs", "-f", "f1"], env=busybox_tug.env, stdout=subprocess.PIPE, text=True)
    try:
        first = proc.stdout.readline()
        assert first == "line1\n"
        rest = proc.stdout.read()  # returns when logs -f ends with the container
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert rest == "line2\nline3\nline4\nline5\n"
    assert_no_leftovers(busybox_tug, [cid])


def test_log_rotation_caps_files(busybox_tug):
    cid = busybox_tug("run", "-d", "--name", "chatty", "--log-opt", "max-size=10k", "--log-opt", "max-file=2",
                      "busybox", "sh", "-c", "i=0; while [ $i -lt 2000 ]; do echo line-$i; i=$((i+1)); done",
                      check=True).stdout.strip()
    assert busybox_tug("wait", "chatty", check=True).stdout == "0\n"
    d = busybox_tug.root / "containers" / cid
    files = sorted(p.name for p in d.glob(f"{cid}-json.log*"))
    assert files == [f"{cid}-json.log", f"{cid}-json.log.1"]
    assert all((d / f).stat().st_size <= 10 * 1024 for f in files)
    out = busybox_tug("logs", "chatty").stdout.splitlines()
    assert out[-1] == "line-1999" and len(out) < 2000
    nums = [int(x.split("-")[1]) for x in out]
    assert nums == list(range(nums[0], 2000))  # the newest lines, in order, none lost in between
    assert_no_leftovers(busybox_tug, [cid])


def test_bad_log_opt_and_restart_policy_rejected(busybox_tug):
    r = busybox_tug("create", "--log-opt", "max-size=lots", "busybox", "true")
    assert r.returncode == 125 and "max-size" in r.stderr or "size" in r.stderr
    r = busybox_tug("create", "--restart", "sometimes", "busybox", "true")
    assert r.returncode == 125 and "restart policy" in r.stderr
    r = busybox_tug("create", "--rm", "--restart", "always", "busybox", "true")
    assert r.returncode == 125
    assert busybox_tug("ps", "-aq").stdout == ""


def test_monitor_sigkill_then_ps_shows_truth(busybox_tug):
    cid = busybox_tug("run", "-d", "--name", "orphan", "busybox", "sleep", "300", check=True).stdout.strip()
    mon = monitor_pids(busybox_tug)
    assert len(mon) == 1
    pid = int(busybox_tug("inspect", "-f", "{{.State.Pid}}", "orphan", check=True).stdout)
    os.kill(mon[0], signal.SIGKILL)
    wait_until(lambda: gone(mon[0]), what="the monitor to die")
    # the container itself still runs: it is still Up
    assert busybox_tug("ps", "--format", "{{.Names}} {{.State}}").stdout.strip() == "orphan running"
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: gone(pid), what="the container to die")
    line = busybox_tug("ps", "-a", "--format", "{{.Names}} {{.State}}").stdout.strip()
    assert line == "orphan exited"
    assert busybox_tug("ps", "-q").stdout == ""
    assert_no_leftovers(busybox_tug, [cid])


def test_monitor_killed_then_stop_works(busybox_tug):
    cid = busybox_tug("run", "-d", "--name", "orphan2", "busybox", "sleep", "300", check=True).stdout.strip()
    mon = monitor_pids(busybox_tug)
    os.kill(mon[0], signal.SIGKILL)
    time.sleep(0.2)
    assert busybox_tug("stop", "-t", "1", "orphan2", check=True).returncode == 0
    assert state(busybox_tug, "orphan2") == "exited 137"
    assert_no_leftovers(busybox_tug, [cid])


def test_pause_unpause(busybox_tug):
    cid = busybox_tug("run", "-d", "--name", "p1", "busybox", "sh", "-c",
                      "i=0; while true; do i=$((i+1)); echo $i > /tmp/t; sleep 0.05; done", check=True).stdout.strip()
    time.sleep(0.3)
    assert busybox_tug("pause", "p1", check=True).stdout == "p1\n"
    assert "(Paused)" in busybox_tug("ps", "--format", "{{.Status}}").stdout
    assert busybox_tug("inspect", "-f", "{{.State.Status}} {{.State.Paused}}", "p1").stdout.strip() == "paused true"
    a = busybox_tug("exec", "p1", "cat", "/tmp/t")
    assert a.returncode != 0  # docker refuses exec in a paused container
    assert busybox_tug("unpause", "p1", check=True).stdout == "p1\n"
    one = busybox_tug("exec", "p1", "cat", "/tmp/t", check=True).stdout
    time.sleep(0.3)
    two = busybox_tug("exec", "p1", "cat", "/tmp/t", check=True).stdout
    assert one != two
    assert busybox_tug("unpause", "p1").returncode == 1
    assert_no_leftovers(busybox_tug, [cid])


def test_kill_signal_and_rename_and_restart(busybox_tug):
    cid = busybox_tug("run", "-d", "--name", "k1", "busybox", "sh", "-c",
                      "trap 'echo usr1' USR1; while true; do sleep 0.1; done", check=True).stdout.strip()
    time.sleep(0.3)
    assert busybox_tug("kill", "-s", "USR1", "k1", check=True).stdout == "k1\n"
    wait_until(lambda: "usr1" in busybox_tug("logs", "k1").stdout, what="the trap")
    assert busybox_tug("rename", "k1", "k2", check=True).stdout == ""
    assert busybox_tug("inspect", "-f", "{{.Name}}", "k2").stdout.strip() == "/k2"
    started = busybox_tug("inspect", "-f", "{{.State.StartedAt}}", "k2").stdout
    assert busybox_tug("restart", "-t", "1", "k2", check=True).stdout == "k2\n"
    assert busybox_tug("inspect", "-f", "{{.State.StartedAt}}", "k2").stdout != started
    assert state(busybox_tug, "k2") == "running 0"
    assert busybox_tug("kill", "k2", check=True).returncode == 0
    assert state(busybox_tug, "k2") == "exited 137"
    r = busybox_tug("kill", "k2")
    assert r.returncode == 1 and "is not running" in r.stderr
    assert busybox_tug("rm", "k2", check=True).stdout == "k2\n"
    assert_no_leftovers(busybox_tug, [cid])


def test_rm_running_needs_force(busybox_tug):
    cid = busybox_tug("run", "-d", "--name", "busy", "busybox", "sleep", "300", check=True).stdout.strip()
    r = busybox_tug("rm", "busy")
    assert r.returncode == 1 and "force" in r.stderr
    assert full_id(busybox_tug, "busy") == cid
    assert busybox_tug("rm", "-f", "busy", check=True).stdout == "busy\n"
    assert_no_leftovers(busybox_tug, [cid])


def test_run_d_rm_removes_itself(busybox_tug):
    busybox_tug("run", "-d", "--rm", "--name", "gone", "busybox", "sh", "-c", "sleep 0.3", check=True)
    wait_until(lambda: busybox_tug("ps", "-aq").stdout == "", what="the --rm container to go")
    # its files go right after its record
    wait_until(lambda: list((busybox_tug.root / "containers").iterdir()) == [], what="its directory to go")
    assert_no_leftovers(busybox_tug, [])
