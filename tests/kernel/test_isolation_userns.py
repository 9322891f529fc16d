"""A new user namespace from OCI uid/gid mappings (issue 7): container root is host uid 100000, the rootfs is
idmapped so image files owned by host root are root's inside, and nothing mounted for it can be changed."""

from __future__ import annotations

import json
import subprocess

from runtime_support import cleanup, make_bundle, rt

MAP = [{"containerID": 0, "hostID": 100000, "size": 65536}]


def _userns(spec: dict) -> None:
    spec["root"]["readonly"] = False
    spec["linux"]["namespaces"].append({"type": "user"})
    spec["linux"]["uidMappings"] = MAP
    spec["linux"]["gidMappings"] = MAP


def test_container_root_is_an_unprivileged_host_uid(tmp_path, busybox_rootfs):
    script = ("cat /proc/self/uid_map; stat -c %u /etc/passwd; touch /etc/made && echo WROTE; "
              "mount -t tmpfs x /tmp 2>/dev/null && echo MOUNTED; sleep 0.2 & ps -o user= -p $! ; wait")
    bundle = make_bundle(tmp_path, busybox_rootfs, ["sh", "-c", script], _userns)
    root = tmp_path / "state"
    try:
        r = rt(root, "run", "--bundle", str(bundle), "userns")
    finally:
        cleanup(root)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.split("\n")
    assert lines[0].split() == ["0", "100000", "65536"]
    assert lines[1] == "0"  # idmapped rootfs: the image's root-owned files are root's inside
    assert "WROTE" in r.stdout and "MOUNTED" not in r.stdout
    assert (bundle / "rootfs" / "etc" / "made").stat().st_uid == 0  # written back through the mapping


def test_host_sees_the_mapped_uid(tmp_path, busybox_rootfs):
    bundle = make_bundle(tmp_path, busybox_rootfs, ["sleep", "30"], _userns)
    root = tmp_path / "state"
    try:
        with open(tmp_path / "err", "w") as err:
            r = rt(root, "run", "-d", "--bundle", str(bundle), "userns2", capture_output=False,
                   stdout=subprocess.DEVNULL, stderr=err)
        assert r.returncode == 0, (tmp_path / "err").read_text()
        pid = json.loads(rt(root, "state", "userns2").stdout)["pid"]
        with open(f"/proc/{pid}/status") as f:
            status = f.read()
        assert "Uid:\t100000\t100000\t100000\t100000" in status
    finally:
        cleanup(root)


def test_missing_mappings_are_refused(tmp_path, busybox_rootfs):
    def edit(spec: dict) -> None:
        spec["linux"]["namespaces"].append({"type": "user"})

    bundle = make_bundle(tmp_path, busybox_rootfs, ["true"], edit)
    root = tmp_path / "state"
    try:
        r = rt(root, "run", "--bundle", str(bundle), "nomap")
    finally:
        cleanup(root)
    assert r.returncode == 125 and "uidMappings" in r.stderr
