"""`tug exec` served by the container's monitor (tug.engine.monitor_exec): who runs the process, signals, detach
keys, a container that ends under an exec, and CVE-2019-5736 tried through `tug exec` itself."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import pytest
from lifecycle_helpers import PtySession, assert_no_leftovers, wait_until

from conftest import TUG
from tug.runtime.launch import site_dir

HERE = Path(__file__).resolve().parent


def _host_pids_of(tug, name: str, needle: str) -> list[int]:
    """Host pids of the container's processes whose cmdline contains `needle` (from its cgroup)."""
    cid = tug("inspect", "-f", "{{.Id}}", name, check=True).stdout.strip()
    found = []
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, ctrl, _ = line.split(":", 2)
        if ctrl == "pids" or ctrl == "":
            base = "/sys/fs/cgroup/pids" if ctrl == "pids" else "/sys/fs/cgroup"
            for procs in Path(base).rglob("cgroup.procs"):
                if cid in str(procs):
                    for pid in procs.read_text().split():
                        try:
                            if needle.encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                                found.append(int(pid))
                        except OSError:
                            pass
            break
    return found


def _ppid(pid: int) -> int:
    data = Path(f"/proc/{pid}/stat").read_text()
    return int(data[data.rindex(")") + 2:].split()[1])


def test_exec_is_forked_by_the_monitor_from_its_sealed_interpreter(busybox_tug):
    cid = busybox_tug("run", "-d", "--network", "none", "--name", "mx", "busybox", "sleep", "300",
                      check=True).stdout.strip()
    state = json.loads((busybox_tug.runroot / "containers" / cid / "state.json").read_text())
    assert state["Exec"] is True
    proc = subprocess.Popen([TUG, "exec", "mx", "sleep", "123"], env=busybox_tug.env)
    try:
        pids = wait_until(lambda: _host_pids_of(busybox_tug, "mx", "sleep\x00123"), what="the exec'd sleep")
        waiter = _ppid(pids[0])
        assert _ppid(waiter) == state["MonitorPid"]  # no tug-runtime program: a child of the monitor waits for it
        assert os.readlink(f"/proc/{waiter}/exe").startswith("/memfd:tug-python")
        assert proc.poll() is None
        proc.send_signal(signal.SIGTERM)  # passed on to the process, as the runtime's exec does
        assert proc.wait(20) == 128 + signal.SIGTERM
    finally:
        proc.kill()
        proc.wait()
    # -d: started, answered at once; the process is reparented to the monitor when the runtime's child leaves
    assert busybox_tug("exec", "-d", "mx", "sleep", "124", check=True).stdout == ""
    pid = wait_until(lambda: _host_pids_of(busybox_tug, "mx", "sleep\x00124"), what="the detached sleep")[0]
    wait_until(lambda: _ppid(pid) == state["MonitorPid"], what="the detached exec reparented to the monitor")
    r = busybox_tug("exec", "mx", "/nonexistent")
    assert r.returncode == 127 and "OCI runtime exec failed" in r.stderr and "/nonexistent" in r.stderr
    r = busybox_tug("exec", "-i", "mx", "sh", "-c", "cat; echo err >&2; exit 6", input="in\n")
    assert (r.returncode, r.stdout, r.stderr) == (6, "in\n", "err\n")
    busybox_tug("rm", "-f", "mx", check=True)
    assert_no_leftovers(busybox_tug, [cid])


def test_exec_client_learns_when_the_container_ends(busybox_tug):
    cid = busybox_tug("run", "-d", "--network", "none", "--name", "mend", "busybox", "sleep", "300",
                      check=True).stdout.strip()
    proc = subprocess.Popen([TUG, "exec", "mend", "sleep", "200"], env=busybox_tug.env, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: _host_pids_of(busybox_tug, "mend", "sleep\x00200"), what="the exec'd sleep")
        busybox_tug("kill", "mend", check=True)
        assert proc.wait(20) == 137  # killed with the container's pid namespace
    finally:
        proc.kill()
        proc.wait()
    busybox_tug("rm", "-f", "mend", check=True)
    assert_no_leftovers(busybox_tug, [cid])


def test_exec_it_custom_detach_keys_leave_the_process_running(busybox_tug):
    cid = busybox_tug("run", "-d", "--network", "none", "--name", "mdk", "busybox", "sleep", "300",
                      check=True).stdout.strip()
    s = PtySession(busybox_tug, "exec", "-it", "--detach-keys", "ctrl-a,d", "mdk", "sh")
    try:
        s.expect(b"# ")
        s.send(b"sleep 321\r")
        time.sleep(0.3)
        s.send(b"\x10\x11")  # the default keys mean nothing now (and go to the process)
        s.send(b"\x01d")
        assert s.close() == 0
    finally:
        if s.proc.poll() is None:
            s.proc.kill()
    wait_until(lambda: _host_pids_of(busybox_tug, "mdk", "sleep\x00321"), what="the shell's sleep")
    time.sleep(0.5)
    assert _host_pids_of(busybox_tug, "mdk", "sleep\x00321")  # still running without us
    r = busybox_tug("exec", "-it", "--detach-keys", "alt-x", "mdk", "true")
    assert r.returncode != 0 and "detach keys" in r.stderr
    # -dt: a terminal, kept by the monitor while the process runs on without us
    assert busybox_tug("exec", "-dt", "mdk", "sh", "-c", "sleep 0.5; tty > /tmp/t", check=True).stdout == ""
    wait_until(lambda: busybox_tug("exec", "mdk", "cat", "/tmp/t").stdout.startswith("/dev/pts/"), what="tty")
    busybox_tug("rm", "-f", "mdk", check=True)
    assert_no_leftovers(busybox_tug, [cid])


# --- CVE-2019-5736 through `tug exec` ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def attack_bin(tmp_path_factory) -> Path:
    if not shutil.which("gcc"):
        pytest.skip("gcc is needed to build the attacker (scripts/setup.sh installs it)")
    out = tmp_path_factory.mktemp("attack") / "attack"
    subprocess.run(["gcc", "-static", "-Os", "-o", str(out), str(HERE / "data" / "exe_attack.c")], check=True)
    return out


def test_exec_cannot_overwrite_the_interpreter_through_proc_exe(busybox_tug, tmp_path, attack_bin):
    """`tug` itself runs from a copy of the interpreter (the victim): the monitor it starts, and so every exec,
    must keep that file out of the container's reach when an image's command is `#!/proc/self/exe`."""
    victim = tmp_path / "victim" / "python3.11"
    victim.parent.mkdir()
    shutil.copy2(os.path.realpath(sys.executable), victim)
    before = hashlib.sha256(victim.read_bytes()).hexdigest()
    paths = [site_dir(), sysconfig.get_paths()["purelib"]]
    code = f"import sys; sys.path[:0] = {paths!r}; from tug.cli.main import main; sys.exit(main())"

    def vtug(*args: str, check: bool = True) -> subprocess.CompletedProcess:
        r = subprocess.run([str(victim), "-c", code, *args], env=busybox_tug.env, capture_output=True, text=True,
                           timeout=60, stdin=subprocess.DEVNULL)
        assert not check or r.returncode == 0, r.stderr
        return r

    cid = vtug("run", "-d", "--network", "none", "--name", "cve", "busybox", "sh", "-c",
               "while [ ! -x /evil ]; do sleep 0.05; done; exec /attack /report").stdout.strip()
    evil = tmp_path / "evil"
    evil.write_text("#!/proc/self/exe\n")
    evil.chmod(0o755)
    # the interpreter's loader and libraries in the image, so that an exec of it there really starts (and is open
    # to the attacker while it fails to find its standard library); busybox alone would refuse the execve
    out = subprocess.run(["ldd", str(victim)], capture_output=True, text=True, check=True).stdout
    for lib in {w for w in out.split() if w.startswith("/")}:
        vtug("exec", "cve", "mkdir", "-p", os.path.dirname(lib))
        vtug("cp", os.path.realpath(lib), f"cve:{lib}")
    vtug("cp", str(attack_bin), "cve:/attack")
    vtug("cp", str(evil), "cve:/evil")
    def read_report() -> str:  # through cp: the attacker ends the container once it has written its verdict
        copy = tmp_path / "report"
        r = vtug("cp", "cve:/report", str(copy), check=False)
        return copy.read_text() if r.returncode == 0 else ""

    report = ""
    for _ in range(4):  # each exec gives the attacker a window of a few ms
        vtug("exec", "cve", "/evil", check=False)
        try:  # once caught, the verdict comes when the attacker gave up writing (it retries for 2 s) or wrote
            report = wait_until(read_report, 3, 0.25, "the attacker's report")
            break
        except AssertionError:
            continue
    # it got hold of the exec'd interpreter: the monitor's sealed copy (still running it: BUSY; else DENIED)
    assert report.startswith("CAUGHT /memfd:tug-python"), report
    assert "WROTE" not in report, report
    assert hashlib.sha256(victim.read_bytes()).hexdigest() == before
    vtug("rm", "-f", "cve")
    assert_no_leftovers(busybox_tug, [cid])


def test_attach_and_run_take_detach_keys(busybox_tug):
    r = busybox_tug("run", "-it", "--detach-keys", "ctrl-1", "--name", "never", "busybox", "sh")
    assert r.returncode != 0 and "detach keys" in r.stderr
    assert busybox_tug("ps", "-aq").stdout == ""  # refused before anything was created
    cid = busybox_tug("run", "-dit", "--network", "none", "--name", "adk", "busybox", "sh", check=True).stdout.strip()
    a = PtySession(busybox_tug, "attach", "--detach-keys", "ctrl-x,y", "adk")
    try:
        time.sleep(0.3)
        a.send(b"echo attached-$((6*7))\r")
        a.expect(b"attached-42")
        a.send(b"\x18y")
        assert a.close() == 0
    finally:
        if a.proc.poll() is None:
            a.proc.kill()
    assert busybox_tug("inspect", "-f", "{{.State.Status}}", "adk", check=True).stdout == "running\n"
    busybox_tug("rm", "-f", "adk", check=True)
    assert_no_leftovers(busybox_tug, [cid])


def test_exec_workdir_in_proc_self_fd_reaches_no_host_directory(busybox_tug):
    """CVE-2024-21626 for exec: the child forked from the monitor holds no host directory fd when it changes into
    the workdir inside the container."""
    cid = busybox_tug("run", "-d", "--network", "none", "--name", "mfd", "busybox", "sleep", "300",
                      check=True).stdout.strip()
    for n in range(12):
        r = busybox_tug("exec", "-w", f"/proc/self/fd/{n}", "mfd", "sh", "-c", "pwd; ls ../../../../etc/shadow")
        assert r.returncode != 0 and "shadow" not in r.stdout, (n, r.stdout, r.stderr)
    busybox_tug("rm", "-f", "mfd", check=True)
    assert_no_leftovers(busybox_tug, [cid])
