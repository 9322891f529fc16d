"""The config.json that tug.spec generates runs under the reference runtimes (runc, crun) with Docker's defaults:
capabilities, seccomp, masked paths, user, env, mounts, limits."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from tug.oci.image_config import ImageConfig
from tug.spec.generate import generate
from tug.spec.host import RLIM_INFINITY, HostFacts
from tug.spec.options import RunOptions
from tug.spec.security import ALL_CAPS, DEFAULT_CAPS

RUNTIMES = [r for r in ("runc", "crun") if shutil.which(r)]
CGROUP_PARENT = "tug-spec-test"


@pytest.fixture(scope="module", autouse=True)
def remove_parent_cgroups():
    yield
    # the runtimes remove each container's cgroup; the parent directories they created are ours to remove
    for d in Path("/sys/fs/cgroup").glob(f"*/{CGROUP_PARENT}"):
        for child in sorted(d.glob("*/"), reverse=True):
            if child.is_dir():
                child.rmdir()
        d.rmdir()


def cap_mask(caps) -> int:
    return sum(1 << ALL_CAPS.index(c) for c in caps)


def cgroup_version() -> int:
    return 2 if os.path.exists("/sys/fs/cgroup/cgroup.controllers") else 1


@pytest.fixture
def bundle(tmp_path, busybox_rootfs):
    root = tmp_path / "rootfs"
    shutil.copytree(busybox_rootfs, root, symlinks=True)
    ctr = tmp_path / "ctr"
    ctr.mkdir()
    (ctr / "hosts").write_text("127.0.0.1\tlocalhost\n")
    (ctr / "hostname").write_text("spectest\n")
    (ctr / "resolv.conf").write_text("nameserver 192.0.2.1\n")
    return tmp_path


def run(runtime: str, bundle: Path, opts: RunOptions, **host_kw) -> subprocess.CompletedProcess:
    cid = uuid.uuid4().hex + uuid.uuid4().hex
    host = HostFacts(
        container_id=cid, rootfs=str(bundle / "rootfs"), hostname_default=cid[:12], container_dir=str(bundle / "ctr"),
        rlimits_hard={"RLIMIT_NOFILE": 1 << 20, "RLIMIT_NPROC": RLIM_INFINITY},
        passwd=(bundle / "rootfs/etc/passwd").read_text(), group=(bundle / "rootfs/etc/group").read_text(),
        cgroups_path=f"/{CGROUP_PARENT}/{cid[:16]}", cgroup_version=cgroup_version(),
        kernel_release=os.uname().release, last_cap=int(Path("/proc/sys/kernel/cap_last_cap").read_text()),
        **host_kw,
    )
    spec = generate(ImageConfig({"config": {"Cmd": ["sh"], "Env": ["FROM_IMAGE=1"]}}), opts, host)
    (bundle / "config.json").write_text(json.dumps(spec))
    state = bundle / "state"
    try:
        r = subprocess.run([runtime, "--root", str(state), "run", "--bundle", str(bundle), cid[:16]],
                           capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        if "hybrid mode not supported" in r.stderr:
            pytest.skip(f"{runtime} cannot run on this host's hybrid cgroup layout")
        return r
    finally:
        subprocess.run([runtime, "--root", str(state), "delete", "-f", cid[:16]], capture_output=True, timeout=30)


def status(out: str) -> dict[str, str]:
    return dict(line.split(":\t", 1) for line in out.splitlines() if ":\t" in line)


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_default_root_container(runtime, bundle):
    r = run(runtime, bundle, RunOptions(command=["sh", "-c", "cat /proc/self/status; echo HOME=$HOME; hostname; "
                                                               "echo FROM_IMAGE=$FROM_IMAGE; cat /proc/kcore | wc -c"]))
    assert r.returncode == 0, r.stderr
    st = status(r.stdout)
    assert int(st["CapBnd"], 16) == cap_mask(DEFAULT_CAPS)
    assert int(st["CapEff"], 16) == cap_mask(DEFAULT_CAPS)
    assert int(st["CapInh"], 16) == 0 and int(st["CapAmb"], 16) == 0
    assert st["Seccomp"].strip() == "2"
    assert st["NoNewPrivs"].strip() == "0"
    assert "HOME=/root" in r.stdout and "FROM_IMAGE=1" in r.stdout
    assert r.stdout.splitlines()[-1].strip() == "0"  # /proc/kcore is masked


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_non_root_user_has_no_effective_caps(runtime, bundle):
    r = run(runtime, bundle, RunOptions(user="user", command=["sh", "-c", "cat /proc/self/status; id; echo $HOME"]))
    assert r.returncode == 0, r.stderr
    st = status(r.stdout)
    assert int(st["CapEff"], 16) == 0 and int(st["CapPrm"], 16) == 0
    assert int(st["CapBnd"], 16) == cap_mask(DEFAULT_CAPS)
    assert "uid=1000(user) gid=1000(user)" in r.stdout
    assert r.stdout.strip().endswith("/home/user")


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_seccomp_blocks_namespaces_and_mount(runtime, bundle):
    r = run(runtime, bundle, RunOptions(command=["sh", "-c", "unshare -m true; echo unshare=$?; "
                                                               "mount -t tmpfs none /mnt; echo mount=$?"]))
    assert r.returncode == 0, r.stderr
    assert "unshare=1" in r.stdout or "unshare=255" in r.stdout
    assert "mount=255" in r.stdout or "mount=1" in r.stdout
    assert "Operation not permitted" in r.stderr


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_options_reach_the_container(runtime, bundle):
    opts = RunOptions(
        command=["sh", "-c", "ulimit -n; cat /proc/self/status | grep -E 'NoNewPrivs|CapEff'; "
                             "grep -E ' /data | /t | / ' /proc/mounts; touch /data/x; echo touch=$?; pwd"],
        ulimits=["nofile=1234:2345"], security_opt=["no-new-privileges"], cap_drop=["ALL"], cap_add=["CHOWN"],
        read_only=True, volumes=[f"{bundle / 'ctr'}:/data:ro"], tmpfs=["/t:size=1m"], workdir="/tmp",
        memory="64m", pids_limit=50,
    )
    r = run(runtime, bundle, opts)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "1234", r.stdout
    st = status(r.stdout)
    assert st["NoNewPrivs"].strip() == "1" and int(st["CapEff"], 16) == cap_mask(["CAP_CHOWN"])
    mounts = [ln.split() for ln in lines if len(ln.split()) == 6]
    by_dest = {m[1]: m for m in mounts}
    assert by_dest["/data"][3].startswith("ro") and by_dest["/"][3].startswith("ro")
    assert by_dest["/t"][2] == "tmpfs" and "size=1024k" in by_dest["/t"][3]
    assert "touch=1" in r.stdout and lines[-1] == "/tmp"
