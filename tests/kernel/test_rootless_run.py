"""Rootless mode (issue 7): a throwaway user created here runs busybox containers with tug, and nothing it does
needs or gains host root.

The user gets its own subordinate range in /etc/subuid and /etc/subgid; the account files are put back exactly as
they were afterwards. tug runs as that user (runuser, a clean environment, HOME in a temp dir the user owns): the
store must land under that HOME and the runtime state under /tmp/tug-UID, and the container's processes must be
the user's uid (container root) or its subordinate ids on the host, in a user namespace other than the host's.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import REPO, mountinfo

ACCOUNT_FILES = ("/etc/passwd", "/etc/group", "/etc/shadow", "/etc/gshadow", "/etc/subuid", "/etc/subgid")
SUB_START = 1_000_000 + (os.getpid() % 500) * 65536
SUB_SIZE = 65536
RUNUSER = shutil.which("runuser") or "/usr/sbin/runuser"


def _interpreter(name: str) -> str | None:
    """An interpreter the unprivileged user can run tug with (the venv's may live under a 0700 /root)."""
    import sys

    for cand in (sys.executable, "/usr/bin/python3"):
        r = subprocess.run([RUNUSER, "-u", name, "--", cand, "-c", "import sys; assert sys.version_info >= (3, 11)"],
                           capture_output=True, env={"PATH": "/usr/bin:/bin"})
        if r.returncode == 0:
            return cand
    return None


class User:
    def __init__(self, name: str, home: Path, python: str, src: Path = REPO / "src") -> None:
        self.name, self.home, self.python, self.src = name, home, python, src
        self.uid = int(subprocess.run(["id", "-u", name], capture_output=True, text=True, check=True).stdout)

    def tug(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        code = (f"import sys; sys.path.insert(0, {str(self.src)!r}); sys.argv[0] = 'tug'; "
                "from tug.cli.main import main; main()")
        env = {"PATH": "/usr/bin:/bin:/usr/sbin:/sbin", "HOME": str(self.home), "LANG": "C.UTF-8"}
        return subprocess.run([RUNUSER, "-u", self.name, "--", self.python, "-I", "-c", code, *args],
                              capture_output=True, text=True, env=env, timeout=timeout, stdin=subprocess.DEVNULL)


def _kill_user_processes(uids: range | list[int]) -> None:
    """SIGKILL the processes this test's throwaway user (or its subordinate ids) left, by pid."""
    for _ in range(50):
        left = []
        for p in filter(str.isdigit, os.listdir("/proc")):
            try:
                real = int(Path(f"/proc/{p}/status").read_text().split("Uid:")[1].split()[0])
            except (OSError, IndexError, ValueError):
                continue
            if real in uids:
                left.append(int(p))
        if not left:
            return
        for p in left:
            try:
                os.kill(p, 9)
            except ProcessLookupError:
                pass
        time.sleep(0.1)


@pytest.fixture
def user() -> Iterator[User]:
    saved = {f: Path(f).read_bytes() for f in ACCOUNT_FILES if os.path.exists(f)}
    name = f"tugrl{os.getpid() % 100000}"
    base = Path(tempfile.mkdtemp(prefix="tug-rootless-", dir="/tmp"))  # pytest's temp root is 0700 root's
    os.chmod(base, 0o755)
    home = base / "home"
    uid = None
    try:
        r = subprocess.run(["useradd", "-M", "-d", str(home), "-s", "/bin/sh", "-K", "SUB_UID_COUNT=0",
                            "-K", "SUB_GID_COUNT=0", name], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        u = User(name, home, "")
        uid = u.uid
        for f in ("/etc/subuid", "/etc/subgid"):
            with open(f, "a") as out:
                out.write(f"{name}:{SUB_START}:{SUB_SIZE}\n")
        home.mkdir()
        os.chown(home, uid, uid)
        # tug's source where the user can read it (a checkout may live under a 0700 home, as /root is)
        u.src = base / "src"
        shutil.copytree(REPO / "src" / "tug", u.src / "tug", ignore=shutil.ignore_patterns("__pycache__"))
        python = _interpreter(name)
        if python is None:
            pytest.skip("no Python >= 3.11 that an unprivileged user may execute (the test's interpreter lives "
                        "under a directory only root can enter)")
        u.python = python
        yield u
    finally:
        if uid is not None:
            _kill_user_processes([uid, *range(SUB_START, SUB_START + SUB_SIZE)])
            subprocess.run(["userdel", "-r", name], capture_output=True)
            shutil.rmtree(f"/tmp/tug-{uid}", ignore_errors=True)
        for f, data in saved.items():
            if Path(f).read_bytes() != data:
                Path(f).write_bytes(data)
        shutil.rmtree(base, ignore_errors=True)


def _userns_check() -> None:
    """Skip with the exact reason when the host forbids unprivileged user namespaces."""
    for knob, bad in (("/proc/sys/kernel/unprivileged_userns_clone", "0"),
                      ("/proc/sys/kernel/apparmor_restrict_unprivileged_userns", "1"),
                      ("/proc/sys/user/max_user_namespaces", "0")):
        if os.path.exists(knob) and Path(knob).read_text().strip() == bad:
            pytest.skip(f"{knob} is {bad}: unprivileged users cannot create user namespaces here")
    for tool in ("newuidmap", "newgidmap"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed (package uidmap)")


@pytest.fixture
def image_user(user, busybox_tar) -> User:
    _userns_check()
    tar = user.home / "busybox.tar"
    shutil.copyfile(busybox_tar, tar)
    os.chown(tar, user.uid, user.uid)
    r = user.tug("import", "--change", 'CMD ["sh"]', str(tar), "busybox:latest")
    assert r.returncode == 0, r.stderr
    return user


def test_rootless_run_id_and_echo(image_user):
    u = image_user
    mine = (str(u.home), f"/tmp/tug-{u.uid}")
    before = [m for m in mountinfo() if any(p in m for p in mine)]  # others' tests mount on this host meanwhile
    r = u.tug("run", "--rm", "busybox", "id")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("uid=0(root) gid=0(root)")
    r = u.tug("run", "--rm", "busybox", "echo", "hi")
    assert (r.returncode, r.stdout) == (0, "hi\n"), r.stderr
    r = u.tug("run", "--rm", "busybox", "cat", "/proc/self/uid_map")
    assert [line.split() for line in r.stdout.splitlines()] == [["0", str(u.uid), "1"],
                                                                ["1", str(SUB_START), str(SUB_SIZE)]]
    # the store is under the user's HOME, the runtime state under /tmp/tug-UID, both the user's
    store = u.home / ".local" / "share" / "tug"
    assert (store / "tug.db").is_file() and store.stat().st_uid == u.uid
    run = Path(f"/tmp/tug-{u.uid}")
    assert run.is_dir() and run.stat().st_uid == u.uid and (run.stat().st_mode & 0o777) == 0o700
    # nothing was mounted in the host's mount namespace
    assert [m for m in mountinfo() if any(p in m for p in mine)] == before == []


def test_rootless_never_host_root(image_user):
    u = image_user
    shared = u.home / "shared"
    shared.mkdir()
    os.chown(shared, u.uid, u.uid)
    r = u.tug("run", "-d", "--name", "rl", "-v", f"{shared}:/shared", "busybox", "sh", "-c",
              "echo root > /shared/by-root; chmod 777 /shared; su -s /bin/sh -c 'echo u > /shared/by-user' user; "
              "sleep 30")
    assert r.returncode == 0, r.stderr
    try:
        pid = int(u.tug("inspect", "-f", "{{.State.Pid}}", "rl").stdout)
        status = Path(f"/proc/{pid}/status").read_text()
        assert f"Uid:\t{u.uid}\t{u.uid}\t{u.uid}\t{u.uid}" in status  # container root is the user on the host
        assert Path(f"/proc/{pid}/uid_map").read_text().split() != ["0", "0", "4294967295"]
        assert os.readlink(f"/proc/{pid}/ns/user") != os.readlink("/proc/self/ns/user")
        # every process of the container's user namespace is the user or one of its subordinate ids
        userns = os.readlink(f"/proc/{pid}/ns/user")
        for p in filter(str.isdigit, os.listdir("/proc")):
            try:
                if os.readlink(f"/proc/{p}/ns/user") != userns:
                    continue
                uids = [int(x) for x in Path(f"/proc/{p}/status").read_text().split("Uid:")[1].split()[:4]]
            except (OSError, IndexError):
                continue
            assert all(x == u.uid or SUB_START <= x < SUB_START + SUB_SIZE for x in uids), (p, uids)
        for _ in range(100):
            if (shared / "by-root").exists() and (shared / "by-user").exists():
                break
            time.sleep(0.05)
        assert (shared / "by-root").stat().st_uid == u.uid
        assert (shared / "by-user").stat().st_uid == SUB_START + 999  # container uid 1000 -> subordinate id
        e = u.tug("exec", "rl", "sh", "-c", "id -u; cat /proc/1/cmdline | tr '\\0' ' '")
        assert e.returncode == 0 and e.stdout.split("\n")[0] == "0", e.stderr
    finally:
        u.tug("rm", "-f", "rl")


def test_rootless_refuses_what_needs_root(image_user):
    u = image_user
    r = u.tug("run", "--rm", "-m", "32m", "busybox", "true")
    assert r.returncode == 125 and "cgroup" in r.stderr
    r = u.tug("run", "--rm", "--network", "bridge", "busybox", "true")
    assert r.returncode == 0, r.stderr  # the default network is none in rootless mode
    r = u.tug("run", "--rm", "-p", "8080:80", "busybox", "true")
    assert r.returncode == 125 and "rootless" in r.stderr
    r = u.tug("run", "--rm", "--network", "host", "busybox", "ls", "/sys/class")
    assert r.returncode == 0 and "net" in r.stdout.split(), r.stderr


def test_rootless_overlay_markers_round_trip(image_user):
    """Deleting a file and replacing a directory inside the user's namespace (overlay with userxattr: a whiteout
    and an opaque directory), committed and run again: both hold in the new image's layer."""
    u = image_user
    r = u.tug("run", "--name", "rlw", "busybox", "sh", "-c",
              "rm /etc/group && rm -r /home && mkdir /home && touch /home/new && chown 1000 /home/new")
    assert r.returncode == 0, r.stderr
    changes = u.tug("diff", "rlw").stdout.split("\n")
    assert "D /etc/group" in changes and "A /home/new" in changes
    assert u.tug("commit", "rlw", "rlimg").returncode == 0
    r = u.tug("run", "--rm", "rlimg", "sh", "-c", "ls -A /home; stat -c %u /home/new; ls /etc/group")
    assert r.stdout.split("\n")[:2] == ["new", "1000"] and r.returncode != 0, (r.stdout, r.stderr)
    u.tug("rm", "rlw")


def test_rootless_keep_id(image_user):
    """--userns=keep-id: the container's process is the user's own uid (what it writes into the user's dirs is the
    user's), the image's files stay root's inside (layers copied with shifted owners: the store's filesystem
    belongs to the host's user namespace, so it cannot be idmapped from the user's)."""
    u = image_user
    shared = u.home / "kept"
    shared.mkdir()
    os.chown(shared, u.uid, u.uid)
    r = u.tug("run", "--rm", "--userns=keep-id", "-v", f"{shared}:/kept", "busybox", "sh", "-c",
              "id -u; stat -c %u /etc/passwd /home/user; echo x > /kept/f")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == [str(u.uid), "0", "1000"]
    assert (shared / "f").stat().st_uid == u.uid
    r = u.tug("run", "--rm", "--userns=auto", "busybox", "true")
    assert r.returncode == 125 and "rootless" in r.stderr


def test_rootless_slirp4netns(image_user):
    """A rootless container with a network of its own through slirp4netns, where the host lets users open the tun
    device."""
    u = image_user
    if shutil.which("slirp4netns") is None:
        pytest.skip("slirp4netns is not installed")
    tun = "/dev/net/tun"
    if subprocess.run([RUNUSER, "-u", u.name, "--", "sh", "-c", f"exec 3<>{tun}"], capture_output=True,
                      env={"PATH": "/usr/bin:/bin"}).returncode != 0:
        st = os.stat(tun) if os.path.exists(tun) else None
        how = f"mode {stat.filemode(st.st_mode)} uid {st.st_uid}" if st else "missing"
        pytest.skip(f"{tun} is {how} on this host: an unprivileged user cannot open it, and slirp4netns needs it")
    r = u.tug("run", "--rm", "--network", "slirp4netns", "busybox", "sh", "-c",
              "ip -4 addr show tap0 | grep -o 'inet [0-9./]*'; cat /etc/resolv.conf")
    assert (r.returncode, r.stdout) == (0, "inet 10.0.2.100/24\nnameserver 10.0.2.3\n"), r.stderr
