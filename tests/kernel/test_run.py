"""`tug run` end to end on the real kernel with a busybox image built from Debian's busybox-static."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
import time

from lifecycle_helpers import wait_until

from conftest import TUG, mountinfo


def test_pid1_hostname_and_fds(busybox_store):
    r = busybox_store("run", "--rm", "busybox", "sh", "-c", "echo $$; hostname; ls /proc/1/fd; true")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.split()
    assert lines[0] == "1"
    assert re.fullmatch(r"[0-9a-f]{12}", lines[1])
    assert sorted(lines[2:]) == ["0", "1", "2"]


def test_exit_code_propagates(busybox_store):
    assert busybox_store("run", "--rm", "busybox", "sh", "-c", "exit 3").returncode == 3


def test_missing_command_127(busybox_store):
    r = busybox_store("run", "--rm", "busybox", "nosuchcommand")
    assert r.returncode == 127
    assert "nosuchcommand" in r.stderr


def test_not_executable_126(busybox_store):
    r = busybox_store("run", "--rm", "busybox", "/etc/passwd")
    assert r.returncode == 126, r.stderr


def test_unknown_image_125(busybox_store):
    r = busybox_store("run", "--rm", "--pull", "never", "nosuchimage")
    assert r.returncode == 125
    assert len(r.stderr.strip().splitlines()) == 1
    assert "nosuchimage" in r.stderr


def test_sigkill_from_outside_gives_137(busybox_tug):
    proc = subprocess.Popen([TUG, "run", "--name", "victim", "busybox", "sh", "-c", "echo ready; sleep 60"],
                            env=busybox_tug.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        pid_file = next((busybox_tug.runroot / "containers").glob("*/init.pid"))
        pid = int(pid_file.read_text())
        os.kill(pid, signal.SIGKILL)
        assert proc.wait(timeout=30) == 137
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_env_workdir_user_hostname(busybox_store):
    r = busybox_store("run", "--rm", "-e", "FOO=bar", "-w", "/tmp", "-u", "1000:1000", "--hostname", "box",
                      "busybox", "sh", "-c", 'echo $FOO; pwd; id -u; id -g; hostname')
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["bar", "/tmp", "1000", "1000", "box"]


def test_user_by_name(busybox_store):
    r = busybox_store("run", "--rm", "-u", "user", "busybox", "sh", "-c", "id -u; echo $HOME")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["1000", "/home/user"]


def test_bind_mount_and_tmpfs(busybox_store, tmp_path):
    src = tmp_path / "data"
    src.mkdir()
    (src / "f").write_text("hello\n")
    r = busybox_store("run", "--rm", "-v", f"{src}:/data:ro", "--tmpfs", "/scratch", "busybox", "sh", "-c",
                      "cat /data/f; touch /data/g 2>/dev/null && echo writable || echo readonly; "
                      "grep ' /scratch ' /proc/mounts | cut -d' ' -f3")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["hello", "readonly", "tmpfs"]
    assert not (src / "g").exists()


def test_stdin_is_passed_with_i(busybox_store):
    r = busybox_store("run", "--rm", "-i", "busybox", "cat", input="through the pipe\n")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "through the pipe\n"


def test_host_mount_table_unchanged(busybox_store):
    before = mountinfo()
    assert busybox_store("run", "--rm", "busybox", "true").returncode == 0
    assert busybox_store("run", "--rm", "busybox", "nosuchcommand").returncode == 127
    assert busybox_store("run", "--rm", "busybox", "sh", "-c", "exit 5").returncode == 5
    assert mountinfo() == before


def test_container_writes_stay_in_container(busybox_tug):
    r = busybox_tug("run", "--name", "w1", "busybox", "sh", "-c", "echo x > /newfile; rm /bin/ls")
    assert r.returncode == 0, r.stderr
    r = busybox_tug("run", "--rm", "busybox", "sh", "-c", "test -e /newfile || echo absent; test -e /bin/ls && echo ls")
    assert r.stdout.split() == ["absent", "ls"]
    assert busybox_tug("rm", "w1").returncode == 0


def test_rm_removes_container(busybox_tug):
    assert busybox_tug("run", "--rm", "--name", "rm1", "busybox", "true").returncode == 0
    # when `run --rm` returns the record is gone (docker's semantics): not listed, the name is free at once
    assert busybox_tug("ps", "-aq").stdout.strip() == ""
    assert busybox_tug("create", "--name", "rm1", "busybox", "true").returncode == 0
    assert busybox_tug("rm", "rm1").returncode == 0
    # the files go right after (the monitor removes them once `run` has its exit code): the container's
    # directory and the monitor's run directory
    for d in (busybox_tug.root / "containers", busybox_tug.runroot / "containers"):
        wait_until(lambda d=d: not d.exists() or list(d.iterdir()) == [], 10, what=f"{d} to be emptied")


def test_run_from_rootfs_dir(busybox_store, busybox_rootfs):
    r = busybox_store("run", "--rm", "--rootfs", str(busybox_rootfs), "sh", "-c", "echo from-dir")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "from-dir"


def test_ten_containers_share_the_image(busybox_tug):
    def du(path):
        out = subprocess.run(["du", "-sbx", str(path)], capture_output=True, text=True, check=True).stdout
        return int(out.split()[0])

    before = du(busybox_tug.root)
    for i in range(10):
        assert busybox_tug("create", "--name", f"c{i}", "busybox", "true").returncode == 0
    added = du(busybox_tug.root) - before
    image_bytes = du(busybox_tug.root / "snapshots")
    # ten copies would add ten times the image; containers add only their small directories
    assert added < image_bytes / 4, (added, image_bytes)


def test_tty_through_a_real_pty(busybox_store):
    import pty
    import termios

    master, slave = pty.openpty()
    attrs_before = termios.tcgetattr(slave)
    proc = subprocess.Popen([TUG, "run", "--rm", "-it", "busybox", "sh"], env=busybox_store.env,
                            stdin=slave, stdout=slave, stderr=slave, start_new_session=True)
    out = bytearray()
    done = threading.Event()

    def reader():
        while not done.is_set():
            try:
                data = os.read(master, 4096)
            except OSError:
                return
            if not data:
                return
            out.extend(data)

    t = threading.Thread(target=reader, daemon=True)
    t.start()

    def wait_for(text: bytes, timeout: float = 20) -> None:
        end = time.time() + timeout
        while text not in out and time.time() < end:
            time.sleep(0.05)
        assert text in out, bytes(out)

    try:
        wait_for(b"# ")
        os.write(master, b"echo hel''lo-tty; tty\r")
        wait_for(b"hello-tty")
        wait_for(b"/dev/pts/")
        os.write(master, b"exit\r")
        assert proc.wait(timeout=20) == 0
    finally:
        done.set()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert b"echo hel''lo-tty" in out  # input echoed by the container's terminal
    assert termios.tcgetattr(slave) == attrs_before
    os.close(master)
    os.close(slave)
