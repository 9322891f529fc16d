"""tug-runtime run: the container's view, exit codes, errors, fds, capabilities, limits (root, real kernel)."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest
from runtime_support import cleanup, make_bundle, rt, wait_for

from conftest import mountinfo
from tug.sys.caps import to_mask


@pytest.fixture
def root(tmp_path):
    r = tmp_path / "state"
    yield r
    cleanup(r)


def test_pid1_hostname_and_only_stdio(tmp_path, busybox_rootfs, root):
    def edit(spec):
        spec["hostname"] = "box-under-test"

    b = make_bundle(tmp_path, busybox_rootfs, ["sh", "-c", "echo $$; hostname; ls /proc/1/fd; true"], edit)
    r = rt(root, "run", "--bundle", str(b), "c1")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["1", "box-under-test", "0", "1", "2"]
    assert not (root / "c1").exists()  # run deletes the container afterwards


def test_exit_status_is_passed_on(tmp_path, busybox_rootfs, root):
    b = make_bundle(tmp_path, busybox_rootfs, ["sh", "-c", "exit 3"])
    assert rt(root, "run", "--bundle", str(b), "c2").returncode == 3


def test_sigkill_from_outside_gives_137(tmp_path, busybox_rootfs, root):
    b = make_bundle(tmp_path, busybox_rootfs, ["sleep", "60"])
    pid_file = tmp_path / "pid"
    from runtime_support import RUNTIME

    p = subprocess.Popen([*RUNTIME, "--root", str(root), "run", "--bundle", str(b), "--pid-file", str(pid_file),
                          "c3"], stdin=subprocess.DEVNULL)
    try:
        assert wait_for(pid_file.exists)
        os.kill(int(pid_file.read_text()), signal.SIGKILL)
        assert p.wait(timeout=30) == 137
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def test_missing_command_127_and_not_executable_126(tmp_path, busybox_rootfs, root):
    b = make_bundle(tmp_path, busybox_rootfs, ["nosuchcmd"])
    r = rt(root, "run", "--bundle", str(b), "c4")
    assert r.returncode == 127
    assert r.stderr.strip() == 'tug-runtime: exec: "nosuchcmd": executable file not found in $PATH'
    b2 = make_bundle(tmp_path / "x", busybox_rootfs, ["/etc/passwd"])
    r = rt(root, "run", "--bundle", str(b2), "c5")
    assert r.returncode == 126
    assert r.stderr.strip() == 'tug-runtime: exec: "/etc/passwd": permission denied'
    assert not (root / "c4").exists() and not (root / "c5").exists()


def test_host_mount_table_unchanged_after_good_and_failing_runs(tmp_path, busybox_rootfs, root):
    b = make_bundle(tmp_path, busybox_rootfs, ["true"])
    bad = make_bundle(tmp_path / "bad", busybox_rootfs, ["nosuchcmd"])
    before = mountinfo()
    assert rt(root, "run", "--bundle", str(b), "m1").returncode == 0
    assert rt(root, "run", "--bundle", str(bad), "m2").returncode == 127
    assert mountinfo() == before


def test_symlinked_mount_targets_stay_inside_the_rootfs(tmp_path, busybox_rootfs, root):
    host_proc = tmp_path / "host-proc"
    host_data = tmp_path / "host-data"
    host_proc.mkdir()
    host_data.mkdir()
    src = tmp_path / "src"
    src.mkdir()
    (src / "marker").write_text("bound\n")

    def edit(spec):
        spec["mounts"].append({"destination": "/data", "type": "bind", "source": str(src), "options": ["rbind"]})

    b = make_bundle(tmp_path, busybox_rootfs, ["sh", "-c", "cat /data/marker; ls /proc/1/fd; true"], edit)
    rootfs = b / "rootfs"
    os.rmdir(rootfs / "proc")
    os.symlink(str(host_proc), rootfs / "proc")  # absolute link to a host path
    os.symlink("../../../../../../.." + str(host_data), rootfs / "data")  # relative escape attempt
    before = mountinfo()
    r = rt(root, "run", "--bundle", str(b), "s1")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["bound", "0", "1", "2"]
    assert os.listdir(host_proc) == [] and os.listdir(host_data) == []
    assert (rootfs / str(host_proc).lstrip("/")).is_dir()  # the mount point was made inside the rootfs
    assert mountinfo() == before


def test_effective_caps_are_exactly_the_spec(tmp_path, busybox_rootfs, root):
    wanted = ["CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW", "CAP_SETUID"]

    def edit(spec):
        c = spec["process"]["capabilities"]
        c["bounding"] = c["permitted"] = wanted
        c["effective"] = wanted
        c["ambient"] = []

    b = make_bundle(tmp_path, busybox_rootfs, ["sh", "-c", "grep -E '^Cap(Eff|Prm|Bnd|Inh)' /proc/self/status"], edit)
    r = rt(root, "run", "--bundle", str(b), "k1")
    assert r.returncode == 0, r.stderr
    got = dict(line.split(":") for line in r.stdout.splitlines())
    mask, _ = to_mask(wanted, 40)
    assert int(got["CapEff"], 16) == mask
    assert int(got["CapPrm"], 16) == mask
    assert int(got["CapBnd"], 16) == mask
    assert int(got["CapInh"], 16) == 0


def test_no_host_fd_leaks_into_the_container(tmp_path, busybox_rootfs, root):
    leak = os.open("/etc/hostname" if os.path.exists("/etc/hostname") else "/etc/passwd", os.O_RDONLY)
    os.set_inheritable(leak, True)
    try:
        b = make_bundle(tmp_path, busybox_rootfs, ["sh", "-c", "ls /proc/self/fd; echo; ls /proc/1/fd; true"])
        r = rt(root, "run", "--bundle", str(b), "f1", pass_fds=(leak,))
        assert r.returncode == 0, r.stderr
        first, second = r.stdout.split("\n\n")
        assert second.split() == ["0", "1", "2"]
        assert str(leak) not in first.split() or leak == 3  # fd 3 is ls's own directory fd
        assert sorted(first.split()) == ["0", "1", "2", "3"]
    finally:
        os.close(leak)


def test_user_groups_umask_cwd(tmp_path, busybox_rootfs, root):
    def edit(spec):
        spec["process"]["user"] = {"uid": 1000, "gid": 1000, "additionalGids": [10, 20], "umask": 0o077}
        spec["process"]["cwd"] = "/home/user/new/dir"
        spec["root"]["readonly"] = False

    b = make_bundle(tmp_path, busybox_rootfs, ["sh", "-c", "id -u; id -g; id -G; umask; pwd"], edit)
    r = rt(root, "run", "--bundle", str(b), "u1")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["1000", "1000", "1000", "10", "20", "0077", "/home/user/new/dir"]


def test_rlimit_above_inherited_hard_is_clamped(tmp_path, busybox_rootfs, root):
    import resource

    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)

    def edit(spec):
        spec["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": 512, "hard": hard + 1_000_000},
                                      {"type": "RLIMIT_CORE", "soft": 0, "hard": 0}]

    b = make_bundle(tmp_path, busybox_rootfs, ["sh", "-c", "ulimit -Sn; ulimit -Hn; ulimit -Hc"], edit)
    r = rt(root, "run", "--bundle", str(b), "l1")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["512", str(hard), "0"]


def test_readonly_root_masked_and_readonly_paths(tmp_path, busybox_rootfs, root):
    script = ("touch /x 2>/dev/null && echo root-rw || echo root-ro; "
              "touch /tmp/y 2>/dev/null && echo tmp-rw || echo tmp-ro; "
              "cat /proc/keys | wc -c; ls /sys/firmware | wc -l; "
              "echo 1 > /proc/sys/kernel/ns_last_pid 2>/dev/null && echo sys-rw || echo sys-ro")
    b = make_bundle(tmp_path, busybox_rootfs, ["sh", "-c", script])
    r = rt(root, "run", "--bundle", str(b), "r1")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["root-ro", "tmp-ro", "0", "0", "sys-ro"]


def test_seccomp_errno_rule_and_no_new_privs(tmp_path, busybox_rootfs, root):
    def edit(spec):
        spec["root"]["readonly"] = False
        spec["linux"]["seccomp"] = {
            "defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
            "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1},
                         {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38},
                         {"names": ["nosuchsyscall_xyz"], "action": "SCMP_ACT_ERRNO"}],
        }

    script = "mkdir /newdir; echo rc=$?; grep NoNewPrivs /proc/self/status; grep Seccomp: /proc/self/status"
    b = make_bundle(tmp_path, busybox_rootfs, ["sh", "-c", script], edit)
    r = rt(root, "run", "--bundle", str(b), "sc1")
    assert r.returncode == 0, r.stderr
    assert "Operation not permitted" in r.stderr
    out = r.stdout.split()
    assert out[0] == "rc=1" and out[1:3] == ["NoNewPrivs:", "1"] and out[3:5] == ["Seccomp:", "2"]


def test_create_failure_leaves_no_state(tmp_path, busybox_rootfs, root):
    def edit(spec):
        spec["mounts"].append({"destination": "/x", "type": "bind", "source": "/nonexistent-src"})

    b = make_bundle(tmp_path, busybox_rootfs, ["true"], edit)
    r = rt(root, "run", "--bundle", str(b), "e1")
    assert r.returncode == 125
    assert r.stderr.startswith("tug-runtime: ") and len(r.stderr.strip().splitlines()) == 1
    assert not (root / "e1").exists()
    time.sleep(0)


def test_resources_are_applied_and_default_devices_stay_usable(tmp_path, busybox_rootfs, root):
    def edit(spec):
        spec["root"]["readonly"] = False
        spec["linux"]["resources"] = {"devices": [{"allow": False, "access": "rwm"}],
                                      "memory": {"limit": 64 * 1024 * 1024}, "pids": {"limit": 50}}
        for kind in ("bounding", "effective", "permitted"):
            spec["process"]["capabilities"][kind].append("CAP_MKNOD")

    script = ("cat /proc/self/cgroup | grep -E ':(memory|pids):'; echo x > /dev/null && echo null-ok; "
              "head -c 3 /dev/zero | wc -c; mknod /tmp/disk b 8 0 && head -c 1 /tmp/disk || echo disk-denied")
    b = make_bundle(tmp_path, busybox_rootfs, ["sh", "-c", script], edit)
    r = rt(root, "run", "--bundle", str(b), "--keep", "res1")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split()[-3:] == ["null-ok", "3", "disk-denied"]
    import json

    st = json.loads((root / "res1" / "state.json").read_text())
    mem = next(p for p in st["cgroupPaths"] if "/memory/" in p)
    pids = next(p for p in st["cgroupPaths"] if "/pids/" in p)
    from pathlib import Path

    assert Path(mem, "memory.limit_in_bytes").read_text().strip() == str(64 * 1024 * 1024)
    assert Path(pids, "pids.max").read_text().strip() == "50"
    assert rt(root, "delete", "res1").returncode == 0
    assert not os.path.exists(mem)


@pytest.mark.parametrize("ro", [True, False])
def test_cgroup_mounts_get_the_spec_flags_down_to_every_hierarchy(tmp_path, busybox_rootfs, root, ro):
    def edit(spec):
        for mnt in spec["mounts"]:
            if mnt["destination"] == "/sys/fs/cgroup":
                mnt["options"] = ["nosuid", "noexec", "nodev", "relatime"] + (["ro"] if ro else [])

    b = make_bundle(tmp_path, busybox_rootfs, ["cat", "/proc/self/mountinfo"], edit)
    r = rt(root, "run", "--bundle", str(b), "cg")
    assert r.returncode == 0, r.stderr
    cg = [line.split() for line in r.stdout.splitlines() if line.split()[4].startswith("/sys/fs/cgroup")]
    assert cg, r.stdout
    for fields in cg:
        opts = set(fields[5].split(","))
        assert {"nosuid", "nodev", "noexec"} <= opts, fields
        assert ("ro" in opts) == ro and ("rw" in opts) == (not ro), fields


def test_new_network_namespace_has_loopback_up(tmp_path, busybox_rootfs, root):
    b = make_bundle(tmp_path, busybox_rootfs, ["sh", "-c", "cat /sys/class/net/lo/flags; ls /sys/class/net"])
    r = rt(root, "run", "--bundle", str(b), "lo")
    assert r.returncode == 0, r.stderr
    flags, *links = r.stdout.split()
    assert int(flags, 16) & 0x1, r.stdout  # IFF_UP
    assert links == ["lo"]  # a fresh namespace: no host interfaces
