"""Shared fixtures: temporary store roots, a busybox rootfs from Debian's busybox-static, and a `tug` runner.

Fixture images are built once per test run and cached under one session temp dir.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
TUG = str(VENV_BIN / "tug")
TUG_RUNTIME = str(VENV_BIN / "tug-runtime")
BUSYBOX = "/bin/busybox"
IS_ROOT = os.geteuid() == 0
# docker's verbs that tug has too (the CLI grammar and flag-table tests go through each)
DOCKER_VERBS = [
    "run", "create", "start", "stop", "kill", "restart", "wait", "pause", "unpause", "rename", "attach", "exec",
    "logs", "cp", "top", "rm", "ps", "images", "rmi", "tag", "inspect", "pull", "push", "login", "logout", "import",
    "save", "load", "export", "commit", "diff", "history", "build", "stats", "port", "version",
    "network create", "network ls", "network inspect", "network rm", "network connect", "network disconnect",
    "network prune", "volume create", "volume ls", "volume inspect", "volume rm", "volume prune", "container prune",
    "image prune", "image ls", "image rm", "image inspect", "system df", "system prune",
]
SESSION_NET = f"tugs{os.getpid() % 100000:05d}"  # the default bridge and nft table of this test session
SESSION_CGROUP = f"/{SESSION_NET}"  # and the default cgroup parent of its containers (TUG_CGROUP_PARENT)


def _remove_cgroup_parent(name: str) -> None:
    """rmdir the session's (empty by now) cgroup parent in every hierarchy, children first."""
    base = Path("/sys/fs/cgroup")
    for top in [base / name.lstrip("/"), *(p / name.lstrip("/") for p in base.iterdir() if p.is_dir())]:
        if not top.is_dir() or top.is_symlink():
            continue
        for d in sorted((p for p in top.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
            try:
                d.rmdir()
            except OSError:
                pass
        try:
            top.rmdir()
        except OSError:
            pass


@pytest.fixture(scope="session", autouse=True)
def _session_network_cleanup():
    """Remove the session's default bridge and nft table at the end (containers are gone by then), and put back
    the host's ip_forward, which tug turns on for outbound NAT as docker does."""
    forward = Path("/proc/sys/net/ipv4/ip_forward").read_text() if IS_ROOT else ""
    yield
    if IS_ROOT:
        Path("/proc/sys/net/ipv4/ip_forward").write_text(forward)
        subprocess.run(["ip", "link", "del", SESSION_NET], capture_output=True)
        subprocess.run(["nft", "delete", "table", "ip", SESSION_NET], capture_output=True)
        shutil.rmtree(f"/run/tug-net/{SESSION_NET}", ignore_errors=True)
        _remove_cgroup_parent(SESSION_CGROUP)


def pytest_collection_modifyitems(config, items):
    for item in items:
        parts = Path(str(item.fspath)).parts
        if "kernel" in parts or "interop" in parts:
            item.add_marker(pytest.mark.root)
            if not IS_ROOT:
                item.add_marker(pytest.mark.skip(reason="needs root"))


def build_busybox_rootfs(dest: Path) -> Path:
    """A minimal rootfs: busybox-static plus one symlink per applet, /etc/passwd and /etc/group."""
    if not Path(BUSYBOX).exists():
        pytest.fail("busybox-static is not installed (scripts/setup.sh installs it)")
    for d in ("bin", "sbin", "usr/bin", "usr/sbin", "etc", "tmp", "proc", "sys", "dev", "root", "home/user"):
        (dest / d).mkdir(parents=True, exist_ok=True)
    os.chmod(dest / "tmp", 0o1777)
    shutil.copy2(BUSYBOX, dest / "bin" / "busybox")
    applets = subprocess.run([BUSYBOX, "--list-full"], capture_output=True, text=True, check=True).stdout.split()
    for applet in applets:
        if applet == "bin/busybox":
            continue
        link = dest / applet
        link.parent.mkdir(parents=True, exist_ok=True)
        if not link.exists() and not link.is_symlink():
            link.symlink_to("/bin/busybox")
    (dest / "etc" / "passwd").write_text(
        "root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home/user:/bin/sh\n"
        "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
    )
    (dest / "etc" / "group").write_text("root:x:0:\nuser:x:1000:\nnobody:x:65534:\n")
    os.chown(dest / "home" / "user", 1000, 1000)
    return dest


def tar_directory(src: Path, out: Path) -> Path:
    """A rootfs tarball with numeric owners, entries sorted, as `docker export` would give."""
    with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as tf:
        for root, dirs, files in os.walk(src):
            dirs.sort()
            rel_root = Path(root).relative_to(src)
            for name in sorted(dirs) + sorted(files):
                p = Path(root) / name
                arc = str(rel_root / name) if str(rel_root) != "." else name
                ti = tf.gettarinfo(str(p), arcname=arc)
                ti.uname = ti.gname = ""
                if ti.isreg():
                    with open(p, "rb") as f:
                        tf.addfile(ti, f)
                else:
                    tf.addfile(ti)
    return out


@pytest.fixture(scope="session")
def fixtures_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fixtures")


@pytest.fixture(scope="session")
def busybox_rootfs(fixtures_dir) -> Path:
    return build_busybox_rootfs(fixtures_dir / "busybox-rootfs")


@pytest.fixture(scope="session")
def busybox_tar(fixtures_dir, busybox_rootfs) -> Path:
    return tar_directory(busybox_rootfs, fixtures_dir / "busybox.tar")


@dataclass
class Tug:
    """Runs the `tug` console script against a temporary root and runroot."""

    root: Path
    runroot: Path

    @property
    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["TUG_ROOT"] = str(self.root)
        env["TUG_RUNROOT"] = str(self.runroot)
        # tests never touch a real `tug0` or nft table `tug`: one bridge and table per test session (issue 8)
        env.setdefault("TUG_BRIDGE", SESSION_NET)
        env.setdefault("TUG_NFT_TABLE", SESSION_NET)
        env.setdefault("TUG_CGROUP_PARENT", SESSION_CGROUP)  # nor the real `/tug` cgroup parent
        return env

    def __call__(self, *args: str, input: str | bytes | None = None, check: bool = False, timeout: float = 120,
                 text: bool = True) -> subprocess.CompletedProcess:
        if isinstance(input, bytes):
            text = False
        r = subprocess.run([TUG, *args], input=input, capture_output=True, text=text, env=self.env,
                           timeout=timeout, stdin=None if input is not None else subprocess.DEVNULL)
        if check and r.returncode != 0:
            raise AssertionError(f"tug {' '.join(args)} exited {r.returncode}:\n{r.stdout}\n{r.stderr}")
        return r


@pytest.fixture
def tug(tmp_path) -> Iterator[Tug]:
    t = Tug(tmp_path / "root", tmp_path / "run")
    yield t
    _cleanup_root(t)


def _cleanup_root(t: Tug) -> None:
    # a test that left containers behind must not leave processes or mounts: remove them by our own ids
    if not (t.root / "tug.db").exists():
        return
    ids = subprocess.run([TUG, "ps", "-aq", "--no-trunc"], env=t.env, capture_output=True, text=True, timeout=60)
    if ids.returncode == 0 and ids.stdout.split():
        subprocess.run([TUG, "rm", "-f", *ids.stdout.split()], env=t.env, capture_output=True, timeout=120)


@pytest.fixture(scope="session")
def busybox_store(tmp_path_factory, busybox_tar) -> Tug:
    """One store per session with `busybox:latest` imported; tests that only read images share it."""
    base = tmp_path_factory.mktemp("shared-store")
    t = Tug(base / "root", base / "run")
    r = t("import", "--change", "CMD [\"sh\"]", str(busybox_tar), "busybox:latest")
    assert r.returncode == 0, r.stderr
    return t


@pytest.fixture
def busybox_tug(tmp_path, busybox_tar) -> Iterator[Tug]:
    """A fresh store with `busybox:latest` imported, for tests that change things."""
    t = Tug(tmp_path / "root", tmp_path / "run")
    r = t("import", "--change", "CMD [\"sh\"]", str(busybox_tar), "busybox:latest")
    assert r.returncode == 0, r.stderr
    yield t
    _cleanup_root(t)


def mountinfo() -> list[str]:
    """The host's mount table without per-boot counters, for before/after comparisons."""
    with open("/proc/self/mountinfo") as f:
        return sorted(" ".join(line.split()[3:]) for line in f)
