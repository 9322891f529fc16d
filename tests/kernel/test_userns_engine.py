"""`tug run --userns=auto` (issue 7): container root is host uid 100000 (no /etc/subuid range for user "tug" on the
test host: the default range), the image's files are root's inside through idmapped layers, what the container
writes lands in its upper dir with the container's ids, and the host mount table never changes."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from conftest import SESSION_CGROUP, TUG, mountinfo

START = 100000


@pytest.fixture(autouse=True)
def _no_tug_subuid_range():
    for f in ("/etc/subuid", "/etc/subgid"):
        if os.path.exists(f) and any(line.startswith("tug:") for line in Path(f).read_text().splitlines()):
            pytest.skip(f"{f} has a range for user 'tug': this test expects the default range {START}")


def test_root_inside_mapped_outside(busybox_tug, tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o777)
    mine = (str(busybox_tug.root), str(tmp_path))
    before = [m for m in mountinfo() if any(p in m for p in mine)]  # others' tests mount on this host meanwhile
    script = ("id -u; cat /proc/self/uid_map; stat -c %u:%g /etc/passwd /bin/busybox; "
              "touch /etc/made; mkdir /root/d; stat -c %u /etc/made; echo x > /shared/out; "
              "mount -t tmpfs x /mnt 2>/dev/null && echo MOUNTED; echo ok")
    r = busybox_tug("run", "--name", "un1", "--network", "none", "--userns=auto", "-v", f"{shared}:/shared",
                    "busybox", "sh", "-c", script)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.split("\n")
    assert lines[0] == "0"
    assert lines[1].split() == ["0", str(START), "65536"]
    assert lines[2:4] == ["0:0", "0:0"]  # the image's root-owned files are root's inside
    assert lines[4] == "0" and "MOUNTED" not in r.stdout and lines[5] == "ok"
    # a host directory bound in sees the container's root as the mapped host uid
    assert (shared / "out").stat().st_uid == START
    # the upper dir keeps the container's ids (what commit/diff read), not the host's
    cid = busybox_tug("inspect", "-f", "{{.Id}}", "un1", check=True).stdout.strip()
    upper = busybox_tug.root / "containers" / cid / "upper"
    assert (upper / "etc" / "made").stat().st_uid == 0 and (upper / "root" / "d").stat().st_uid == 0
    assert busybox_tug("inspect", "-f", "{{.HostConfig.UsernsMode}}", "un1", check=True).stdout.strip() == "auto"
    assert [m for m in mountinfo() if any(p in m for p in mine)] == before == []


def test_host_sees_the_mapped_uid_and_exec_joins(busybox_tug):
    r = busybox_tug("run", "-d", "--name", "u2", "--network", "none", "--userns=auto", "busybox", "sleep", "60")
    assert r.returncode == 0, r.stderr
    try:
        pid = int(busybox_tug("inspect", "-f", "{{.State.Pid}}", "u2", check=True).stdout)
        status = Path(f"/proc/{pid}/status").read_text()
        assert f"Uid:\t{START}\t{START}\t{START}\t{START}" in status
        assert f"Gid:\t{START}\t{START}\t{START}\t{START}" in status
        e = busybox_tug("exec", "u2", "sh", "-c", "id -u; cat /proc/self/uid_map; touch /tmp/e; stat -c %u /tmp/e")
        assert e.returncode == 0, e.stderr
        out = e.stdout.split("\n")
        assert out[0] == "0" and out[1].split() == ["0", str(START), "65536"] and out[2] == "0"
        # the exec'd process is the same unprivileged host uid
        e = subprocess.Popen([TUG, "exec", "u2", "sleep", "5"], env=busybox_tug.env)
        try:
            found = _wait_for_child_sleep(pid)
            assert found is not None
            assert f"Uid:\t{START}\t" in Path(f"/proc/{found}/status").read_text()
        finally:
            e.kill()
            e.wait()
    finally:
        busybox_tug("rm", "-f", "u2")


def _wait_for_child_sleep(init_pid: int) -> int | None:
    """A `sleep 5` in the container's pid namespace other than its init, seen from the host."""
    want = os.readlink(f"/proc/{init_pid}/ns/pid")
    for _ in range(100):
        for p in os.listdir("/proc"):
            if not p.isdigit() or int(p) == init_pid:
                continue
            try:
                if os.readlink(f"/proc/{p}/ns/pid") == want and Path(f"/proc/{p}/cmdline").read_bytes() == \
                        b"sleep\x005\x00":
                    return int(p)
            except OSError:
                continue
        time.sleep(0.05)
    return None


def test_bad_mode_is_refused(busybox_tug):
    r = busybox_tug("run", "--rm", "--userns=private", "busybox", "true")
    assert r.returncode == 125 and "--userns" in r.stderr
    assert busybox_tug("ps", "-aq").stdout.strip() == ""


def test_rm_and_restart_with_idmapped_dirs(busybox_tug):
    """The monitor unmounts its idmapped binds with the overlay: --rm can delete the container's dir, and a
    restart mounts everything again."""
    r = busybox_tug("run", "--rm", "--network", "none", "--userns=auto", "-v", "uvol:/data", "busybox", "sh", "-c",
                    "echo x > /data/f && stat -c %u /data/f")
    assert (r.returncode, r.stdout) == (0, "0\n"), r.stderr
    assert busybox_tug("ps", "-aq").stdout.strip() == ""
    assert (busybox_tug.root / "volumes" / "uvol" / "_data" / "f").stat().st_uid == 0
    r = busybox_tug("run", "-d", "--name", "urs", "--restart", "on-failure:1", "--network", "none", "--userns=auto",
                    "busybox", "sh", "-c", "id -u; exit 3")
    assert r.returncode == 0, r.stderr
    try:
        for _ in range(100):
            st = busybox_tug("inspect", "-f", "{{.RestartCount}} {{.State.Status}}", "urs").stdout.split()
            if st == ["1", "exited"]:
                break
            time.sleep(0.05)
        assert st == ["1", "exited"]
        assert busybox_tug("logs", "urs").stdout == "0\n0\n"
    finally:
        busybox_tug("rm", "-f", "urs")


def test_chown_on_copy_where_idmapping_is_refused(tmp_path, busybox_tar):
    """A store on ramfs (which refuses idmapped mounts), in a private mount namespace: the layers are copied once
    with shifted owners under <root>/idmapped, and the container still sees root's files as root's."""
    mnt = tmp_path / "ramfs"
    mnt.mkdir()
    root = mnt / "root"
    script = f"""set -e
mount -t ramfs ramfs {mnt}
export TUG_ROOT={root} TUG_RUNROOT={mnt}/run TUG_CGROUP_PARENT={SESSION_CGROUP}
{TUG} import --change 'CMD ["sh"]' {busybox_tar} busybox:latest >/dev/null
{TUG} run --rm --network none --userns=auto busybox sh -c \
  'id -u; stat -c %u /etc/passwd /home/user; touch /etc/made; stat -c %u /etc/made; echo ok >> /etc/hosts'
{TUG} run --rm --network none --userns=auto busybox true
stat -c %u {root}/idmapped/{START}-{START}-65536/*/fs/etc/passwd {root}/idmapped/{START}-{START}-65536/*/fs/home/user
ls {root}/idmapped/{START}-{START}-65536 | wc -l
{TUG} run --name c2 --network none busybox touch /new >/dev/null
{TUG} commit c2 img2 >/dev/null
{TUG} rm c2 >/dev/null
{TUG} run --rm --network none --userns=auto img2 ls /new
ls {root}/idmapped/{START}-{START}-65536 | wc -l
{TUG} rmi img2 >/dev/null
{TUG} run --rm --network none --userns=auto busybox true
ls {root}/idmapped/{START}-{START}-65536 | wc -l
"""
    before = [m for m in mountinfo() if str(tmp_path) in m]  # others' tests mount on this host meanwhile
    r = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    # one copy per layer, made once; the copy of a removed image's layer goes at the next start
    assert r.stdout.split() == ["0", "0", "1000", "0", str(START), str(START + 1000), "1", "/new", "2", "1"]
    assert [m for m in mountinfo() if str(tmp_path) in m] == before == []


def test_cp_into_a_running_container(busybox_tug, tmp_path):
    """tug cp writes as the container's root (host root has no id on the idmapped upper): root's inside, and a
    host file only root may read is still copied."""
    src = tmp_path / "d"
    (src / "sub").mkdir(parents=True)
    (src / "sub" / "secret").write_text("s\n")
    os.chmod(src / "sub" / "secret", 0o600)
    r = busybox_tug("run", "-d", "--name", "ucp", "--network", "none", "--userns=auto", "busybox", "sleep", "60")
    assert r.returncode == 0, r.stderr
    try:
        r = busybox_tug("cp", str(src), "ucp:/root/")
        assert r.returncode == 0, r.stderr
        e = busybox_tug("exec", "ucp", "sh", "-c", "stat -c '%u:%g %a' /root/d /root/d/sub/secret; "
                        "cat /root/d/sub/secret")
        assert e.stdout.split("\n")[:3] == ["0:0 755", "0:0 600", "s"], e.stderr
    finally:
        busybox_tug("rm", "-f", "ucp")


def test_missing_workdir_and_mount_points_are_the_containers(busybox_tug, tmp_path):
    r = busybox_tug("run", "--rm", "--network", "none", "--userns=auto", "-w", "/new/dir", "-v",
                    f"{tmp_path}:/deep/host/dir:ro", "busybox", "sh", "-c", "pwd; stat -c %u /new/dir /deep/host")
    assert (r.returncode, r.stdout) == (0, "/new/dir\n0\n0\n"), r.stderr
