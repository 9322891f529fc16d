"""Known container escapes, each tried the way the real exploit does it (issue 7, item 4).

- CVE-2019-5736: the runtime's own executable (here: the Python interpreter) overwritten through /proc/PID/exe of
  a process the runtime exec'd into the container. Done against a *copy* of the interpreter so that a failure can
  never damage the host; a control run with a naive launch shows the attack really writes.
- CVE-2024-21626: a host fd leaked into the container, reachable as /proc/self/fd/N (also as the workdir).
- symlinked /proc, /dev and mount targets in an image must not redirect a mount onto the host.
- release_agent and core_pattern cannot be written.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from runtime_support import cleanup, make_bundle, rt, wait_for

from tug.runtime.launch import runtime_argv
from tug.runtime.sealed import sealed_argv

HERE = Path(__file__).resolve().parent
ATTACK_SRC = HERE / "data" / "exe_attack.c"


@pytest.fixture(scope="module")
def attack_bin(tmp_path_factory) -> Path:
    if not shutil.which("gcc"):
        pytest.skip("gcc is needed to build the attacker (scripts/setup.sh installs it)")
    out = tmp_path_factory.mktemp("attack") / "attack"
    subprocess.run(["gcc", "-static", "-Os", "-o", str(out), str(ATTACK_SRC)], check=True)
    return out


@pytest.fixture
def victim(tmp_path) -> Path:
    """A private copy of the interpreter: what the attack may damage if the runtime fails to protect it."""
    d = tmp_path / "victim"
    d.mkdir()
    copy = d / "python3.11"
    shutil.copy2(os.path.realpath(sys.executable), copy)
    return copy


def _digest(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def _attack(tmp_path: Path, busybox_rootfs: Path, attack_bin: Path, runtime: list[str]) -> str:
    """Run the attacker as a container's process, `exec` an image file `#!/proc/self/exe` into it a few times,
    and return the attacker's report ("" when it never got hold of the runtime's executable)."""
    def edit(spec: dict) -> None:
        spec["process"]["args"] = ["/attack", "/report"]

    bundle = make_bundle(tmp_path, busybox_rootfs, [], edit, runtime=runtime)
    rootfs = bundle / "rootfs"
    shutil.copy2(attack_bin, rootfs / "attack")
    (rootfs / "evil").write_text("#!/proc/self/exe\n")
    os.chmod(rootfs / "evil", 0o755)
    root = tmp_path / "state"
    try:
        with open(tmp_path / "run.err", "w") as err:  # a pipe would stay open in the detached container
            r = rt(root, "run", "-d", "--bundle", str(bundle), "victim", runtime=runtime, capture_output=False,
                   stdout=subprocess.DEVNULL, stderr=err)
        assert r.returncode == 0, (tmp_path / "run.err").read_text()
        report = rootfs / "report"
        for _ in range(3):  # each exec gives the attacker a window of a few ms
            rt(root, "exec", "victim", "/evil", runtime=runtime, timeout=30)
            if wait_for(report.exists, 0.5):
                break
        wait_for(lambda: report.exists() and report.read_text().endswith("\n"), 2.5 if report.exists() else 0)
        return report.read_text() if report.exists() else ""
    finally:
        cleanup(root, runtime=runtime)


def test_proc_exe_of_exec_cannot_overwrite_the_interpreter(tmp_path, busybox_rootfs, attack_bin, victim):
    before = _digest(victim)
    report = _attack(tmp_path, busybox_rootfs, attack_bin, sealed_argv(runtime_argv(str(victim))))
    assert "WROTE" not in report, report
    assert _digest(victim) == before


def test_runtime_started_directly_reseals_itself(tmp_path, busybox_rootfs, attack_bin, victim):
    """tug-runtime launched from the plain interpreter file (as a shell or another tool would) re-executes from a
    sealed copy before it creates anything."""
    before = _digest(victim)
    report = _attack(tmp_path, busybox_rootfs, attack_bin, runtime_argv(str(victim)))
    assert "WROTE" not in report, report
    assert _digest(victim) == before


@pytest.mark.parametrize("sealed", [True, False])
def test_init_runs_from_a_sealed_copy(tmp_path, busybox_rootfs, victim, sealed):
    """What a container could reach through /proc/PID/exe of the runtime's init (before it execs) is a sealed memfd:
    a write through it fails for root on the host too, and the interpreter file is never what it points to."""
    argv = runtime_argv(str(victim))
    runtime = sealed_argv(argv) if sealed else argv
    bundle = make_bundle(tmp_path, busybox_rootfs, ["true"], runtime=runtime)
    root = tmp_path / "state"
    try:
        with open(tmp_path / "create.err", "w") as err:  # the created init keeps its stdio open
            r = rt(root, "create", "--bundle", str(bundle), "sealed", runtime=runtime, capture_output=False,
                   stdout=subprocess.DEVNULL, stderr=err)
        assert r.returncode == 0, (tmp_path / "create.err").read_text()
        pid = json.loads(rt(root, "state", "sealed", runtime=runtime).stdout)["pid"]
        assert os.readlink(f"/proc/{pid}/exe").startswith("/memfd:tug-python")
        fd = os.open(f"/proc/{pid}/exe", os.O_RDONLY)
        try:
            with pytest.raises(OSError):
                w = os.open(f"/proc/self/fd/{fd}", os.O_WRONLY)
                try:
                    os.pwrite(w, b"\x7f", 0)
                finally:
                    os.close(w)
        finally:
            os.close(fd)
    finally:
        cleanup(root, runtime=runtime)


# --- CVE-2024-21626: leaked fds and /proc/self/fd workdirs ---------------------------------------------------------

def test_no_host_fd_reaches_the_container(busybox_tug, tmp_path):
    """An fd the caller leaves open (inheritable) never reaches the container: only 0-2 are there."""
    leak = open(tmp_path / "hostfile", "w")  # noqa: SIM115 - held open on purpose
    os.set_inheritable(leak.fileno(), True)
    try:
        r = subprocess.run([*_tug(busybox_tug), "run", "--rm", "--network", "none", "busybox", "sh", "-c",
                            "ls /proc/self/fd; for f in /proc/1/fd/*; do readlink $f; done; true"],
                           env=busybox_tug.env, capture_output=True, text=True, timeout=60,
                           stdin=subprocess.DEVNULL, pass_fds=(leak.fileno(),))
    finally:
        leak.close()
    assert r.returncode == 0, r.stderr
    fds = r.stdout.split()
    listed = [int(x) for x in fds if x.isdigit()]
    assert set(listed) <= {0, 1, 2, 3}, r.stdout  # 3 is ls's own directory fd
    assert "hostfile" not in r.stdout and "/tug" not in r.stdout, r.stdout


@pytest.mark.parametrize("n", [3, 4, 5, 6, 7, 8])
def test_workdir_in_proc_self_fd_fails(busybox_store, n):
    r = busybox_store("run", "--rm", "--network", "none", "-w", f"/proc/self/fd/{n}", "busybox", "sh", "-c",
                      "pwd; ls ../../../../etc/shadow ../../../../../run 2>&1; true")
    assert r.returncode != 0 or "/proc/self/fd" in r.stdout, r.stdout + r.stderr
    if r.returncode == 0:  # a workdir that exists inside the container is the container's own
        assert "shadow" not in r.stdout or "No such file" in r.stdout


def _tug(t) -> list[str]:
    from conftest import TUG

    return [TUG]


# --- symlinked mount targets --------------------------------------------------------------------------------------

@pytest.mark.parametrize("target", ["proc", "dev", "sys", "etc/hosts"])
def test_symlinked_mount_target_stays_inside(tmp_path, busybox_rootfs, target):
    """/proc, /dev, /sys or a bind target that is a symlink to a host path must not redirect the mount there."""
    outside = tmp_path / "outside"
    outside.mkdir()
    canary = outside / "canary"
    canary.write_text("untouched")

    def edit(spec: dict) -> None:
        spec["process"]["args"] = ["true"]
        spec["mounts"].append({"destination": "/etc/hosts", "type": "bind", "source": str(tmp_path / "hosts"),
                               "options": ["rbind", "ro"]})

    (tmp_path / "hosts").write_text("127.0.0.1 x\n")
    bundle = make_bundle(tmp_path, busybox_rootfs, ["true"], edit)
    link = bundle / "rootfs" / target
    if link.is_dir() and not link.is_symlink():
        shutil.rmtree(link)
    elif link.exists() or link.is_symlink():
        link.unlink()
    link.symlink_to(outside)  # absolute: a naive runtime follows it on the host
    before = Path("/proc/self/mountinfo").read_text()
    root = tmp_path / "state"
    try:
        rt(root, "run", "--bundle", str(bundle), "symlinked")
    finally:
        cleanup(root)
    assert Path("/proc/self/mountinfo").read_text().count(str(outside)) == before.count(str(outside)) == 0
    assert sorted(os.listdir(outside)) == ["canary"] and canary.read_text() == "untouched"


# --- release_agent and core_pattern ---------------------------------------------------------------------------------

def test_release_agent_and_core_pattern_cannot_be_written(busybox_store):
    script = (
        "for f in /sys/fs/cgroup/*/release_agent /sys/fs/cgroup/release_agent; do "
        "  [ -e $f ] && { echo /evil > $f && echo WROTE $f; }; done; "
        "mkdir -p /tmp/cg && mount -t cgroup -o memory cgroup /tmp/cg && echo MOUNTED; "
        "echo '|/evil' > /proc/sys/kernel/core_pattern && echo WROTE core_pattern; "
        "echo 1 > /sys/fs/cgroup/memory/notify_on_release && echo WROTE notify; true"
    )
    before = Path("/proc/sys/kernel/core_pattern").read_text()
    r = busybox_store("run", "--rm", "--network", "none", "busybox", "sh", "-c", script)
    assert r.returncode == 0, r.stderr
    assert "WROTE" not in r.stdout and "MOUNTED" not in r.stdout, r.stdout
    assert Path("/proc/sys/kernel/core_pattern").read_text() == before


def test_spec_of_default_container_masks_the_escape_paths(busybox_store):
    r = busybox_store("create", "--network", "none", "busybox", "true")
    assert r.returncode == 0, r.stderr
    cid = r.stdout.strip()
    try:
        spec = json.loads((busybox_store.root / "containers" / cid / "bundle" / "config.json").read_text())
        ro = spec["linux"]["readonlyPaths"]
        assert "/proc/sys" in ro and "/proc/sysrq-trigger" in ro
        assert "/proc/kcore" in spec["linux"]["maskedPaths"]
        assert all("ro" in m["options"] for m in spec["mounts"] if m["type"] in ("sysfs", "cgroup"))
    finally:
        busybox_store("rm", "-f", cid)
