"""tug-runtime exec: joins every namespace and the cgroup of a live container (root, real kernel)."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
from runtime_support import RUNTIME, cleanup, make_bundle, rt


@pytest.fixture
def running(tmp_path, busybox_rootfs):
    root = tmp_path / "state"

    def edit(spec):
        spec["hostname"] = "exec-box"
        spec["process"]["env"].append("FROM_SPEC=1")

    b = make_bundle(tmp_path, busybox_rootfs, ["sleep", "60"], edit)
    r = rt(root, "run", "-d", "--bundle", str(b), "ex", stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
           capture_output=False)
    assert r.returncode == 0
    yield root
    cleanup(root)


def _ns(pid: int | str, name: str) -> str:
    return os.readlink(f"/proc/{pid}/ns/{name}")


def test_exec_sees_the_container(running):
    root = running
    init_pid = json.loads(rt(root, "state", "ex").stdout)["pid"]
    script = "echo $$; hostname; echo $FROM_SPEC $EXTRA; pwd; ps -o pid,comm | grep -c sleep; ls /proc/$$/fd; true"
    r = rt(root, "exec", "-e", "EXTRA=2", "--cwd", "/tmp", "ex", "sh", "-c", script)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.split("\n")
    assert int(lines[0]) > 1  # a new process in the container's pid namespace, not its init
    assert lines[1:5] == ["exec-box", "1 2", "/tmp", "1"]
    assert r.stdout.split()[-3:] == ["0", "1", "2"]
    # same namespaces as the init, as seen from the host
    p = subprocess.Popen([*RUNTIME, "--root", str(root), "exec", "ex", "sleep", "30"], stdin=subprocess.DEVNULL)
    try:
        import time

        deadline = time.monotonic() + 10
        child = None
        while time.monotonic() < deadline and child is None:
            for pid in os.listdir("/proc"):
                if pid.isdigit() and int(pid) not in (init_pid,):
                    try:
                        with open(f"/proc/{pid}/cmdline", "rb") as f:
                            if f.read() == b"sleep\x0030\x00" and _ns(pid, "pid") == _ns(init_pid, "pid"):
                                child = pid
                    except OSError:
                        continue
            time.sleep(0.02)
        assert child is not None
        for name in ("mnt", "uts", "ipc", "net", "pid", "cgroup"):
            assert _ns(child, name) == _ns(init_pid, name), name
        with open(f"/proc/{child}/cgroup") as f1, open(f"/proc/{init_pid}/cgroup") as f2:
            assert f1.read() == f2.read()
    finally:
        p.kill()
        p.wait()


def test_exec_exit_codes_user_and_caps(running):
    root = running
    assert rt(root, "exec", "ex", "sh", "-c", "exit 7").returncode == 7
    r = rt(root, "exec", "ex", "nosuchcmd")
    assert r.returncode == 127 and 'exec: "nosuchcmd": executable file not found in $PATH' in r.stderr
    r = rt(root, "exec", "-u", "1000:1000", "ex", "id")
    assert r.stdout.strip() == "uid=1000(user) gid=1000(user)"
    r = rt(root, "exec", "--cap", "CAP_SYS_ADMIN", "ex", "grep", "CapEff", "/proc/self/status")
    assert int(r.stdout.split()[1], 16) & (1 << 21)
    r = rt(root, "exec", "ex", "grep", "CapEff", "/proc/self/status")
    assert not int(r.stdout.split()[1], 16) & (1 << 21)


def test_exec_with_process_json_and_stopped_container(running, tmp_path):
    root = running
    proc = {"args": ["sh", "-c", "echo $A; pwd"], "env": ["A=from-json"], "cwd": "/etc", "user": {"uid": 0, "gid": 0}}
    (tmp_path / "p.json").write_text(json.dumps(proc))
    r = rt(root, "exec", "--process", str(tmp_path / "p.json"), "ex")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["from-json", "/etc"]
    assert rt(root, "kill", "ex", "KILL").returncode == 0
    import time

    deadline = time.monotonic() + 10
    while json.loads(rt(root, "state", "ex").stdout)["status"] != "stopped" and time.monotonic() < deadline:
        time.sleep(0.02)
    r = rt(root, "exec", "ex", "true")
    assert r.returncode == 125 and "stopped" in r.stderr
