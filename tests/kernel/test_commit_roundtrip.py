"""`tug commit` round trips: what a container changed is exactly what a container of the new image sees."""

from __future__ import annotations

import json
import os
import tarfile

import pytest
from layers_helpers import runtime_for

CHANGES = """
set -e
mkdir /data
echo hello > /data/new.txt
chown 1000:1000 /data/new.txt
ln /data/new.txt /data/hard
ln -s /data/new.txt /data/sym
echo 'extra:x:5:5::/:/bin/sh' >> /etc/passwd
chmod 600 /etc/passwd
rm /etc/group
rm -rf /home/user
rm -rf /root && echo 'now a file' > /root
chmod 700 /tmp
chown 1000:1000 /usr
rm -rf /usr/sbin && mkdir /usr/sbin && echo x > /usr/sbin/only
mkfifo /data/fifo
"""

LISTING = ("find / -xdev -exec stat -c '%n|%a|%u|%g|%F|%h|%s|%N' {} + ; echo ====; "
           "find / -xdev -type f -exec sha256sum {} +")
SKIP = ("/proc", "/sys", "/dev", "/etc/hosts", "/etc/hostname", "/etc/resolv.conf")


def listing(text: str) -> dict[str, str]:
    """path -> 'mode|uid|gid|type|nlink|size|target|sha256' (directory sizes left out: they depend on the fs)."""
    meta, _, sums = text.partition("====\n")
    hashes = {}
    for line in sums.splitlines():
        h, _, path = line.partition("  ")
        hashes[path] = h
    out = {}
    for line in meta.splitlines():
        path, mode, uid, gid, kind, nlink, size, target = line.split("|", 7)
        if path != "/" and path.startswith(SKIP):
            continue
        if kind == "directory":
            size, nlink = "-", "-"
        link = target if "->" in target else ""
        out[path] = "|".join([mode, uid, gid, kind, nlink, size, link, hashes.get(path, "")])
    return out


def run(tug, *args: str, check: bool = True):
    return tug("run", "--runtime", runtime_for(tug), *args, check=check)


@pytest.fixture
def changed(busybox_tug):
    """A stopped container `work` that made every kind of change, and its listing at the end."""
    r = run(busybox_tug, "--name", "work", "busybox", "sh", "-c", CHANGES + "\n" + LISTING)
    return busybox_tug, listing(r.stdout)


def test_commit_round_trip_tree_is_identical(changed):
    tug, before = changed
    assert "/data/new.txt" in before and "/etc/group" not in before and "/home/user" not in before
    upper = next((tug.root / "containers").glob("*/upper"))
    os.setxattr(upper / "data" / "new.txt", "user.origin", b"round-trip")  # busybox cannot set xattrs itself
    image_id = tug("commit", "-m", "all kinds", "-a", "Tester <t@example.com>", "-c", "ENV STAGE=two", "work",
                   "rt:1", check=True).stdout.strip()
    assert image_id.startswith("sha256:")
    after = listing(run(tug, "--rm", "rt:1", "sh", "-c", LISTING).stdout)
    assert after == before
    # the xattr went into the layer and its snapshot
    doc = json.loads(tug("image", "inspect", "rt:1", check=True).stdout)[0]
    top = doc["RootFS"]["Layers"][-1]
    snaps = [p for p in (tug.root / "snapshots").iterdir() if (p / "layer.json").exists()
             and json.loads((p / "layer.json").read_text())["diff_id"] == top]
    assert len(snaps) == 1
    assert os.getxattr(snaps[0] / "fs" / "data" / "new.txt", "user.origin") == b"round-trip"
    assert os.getxattr(snaps[0] / "fs" / "usr" / "sbin", "trusted.overlay.opaque") == b"y"
    assert "STAGE=two" in doc["Config"]["Env"]
    assert doc["Author"] == "Tester <t@example.com>" and doc["Comment"] == "all kinds"


def test_diff_lists_what_changed(changed):
    tug, _ = changed
    lines = tug("diff", "work", check=True).stdout.splitlines()
    got = {ln[2:]: ln[0] for ln in lines}
    assert lines == sorted(lines, key=lambda ln: ln[2:])
    expected = {"/data": "A", "/data/new.txt": "A", "/data/hard": "A", "/data/sym": "A", "/data/fifo": "A",
                "/etc/passwd": "C", "/etc/group": "D", "/home/user": "D", "/root": "C", "/tmp": "C", "/usr": "C",
                "/usr/sbin": "C", "/usr/sbin/only": "A"}
    for path, kind in expected.items():
        assert got.get(path) == kind, (path, lines)
    sbin_deleted = {p for p, k in got.items() if p.startswith("/usr/sbin/") and k == "D"}
    assert sbin_deleted and all("/" not in p[len("/usr/sbin/"):] for p in sbin_deleted)
    # nothing the runtime made for its own mounts
    assert not any(p in got for p in ("/etc/hosts", "/etc/hostname", "/etc/resolv.conf"))
    unexplained = {p for p in got if not p.startswith(("/data", "/usr/sbin/")) and p not in expected}
    assert unexplained <= {"/etc", "/home", "/"}, unexplained


def test_commit_shares_lower_layers_and_is_reproducible(changed):
    tug, _ = changed
    snaps_before = {p.name for p in (tug.root / "snapshots").iterdir()}
    tug("commit", "work", "one", check=True)
    tug("commit", "work", "two", check=True)
    one = json.loads(tug("image", "inspect", "one", check=True).stdout)[0]["RootFS"]["Layers"]
    two = json.loads(tug("image", "inspect", "two", check=True).stdout)[0]["RootFS"]["Layers"]
    base = json.loads(tug("image", "inspect", "busybox", check=True).stdout)[0]["RootFS"]["Layers"]
    assert one == two  # the same changes give the same diff id
    assert one[:-1] == base
    new = {p.name for p in (tug.root / "snapshots").iterdir()} - snaps_before
    assert len([n for n in new if len(n) == 64]) == 1  # one new snapshot; the base layer is shared, not copied
    hist = tug("history", "two", check=True).stdout.splitlines()
    assert hist[0].split()[:2] == ["IMAGE", "CREATED"]
    ids = tug("history", "-q", "--no-trunc", "two", check=True).stdout.split()
    base_id = json.loads(tug("image", "inspect", "busybox", check=True).stdout)[0]["Id"]
    assert ids[1] == base_id and ids[0].startswith("sha256:") and len(ids) == 2


def test_commit_of_unchanged_container_gives_valid_image(busybox_tug):
    run(busybox_tug, "--name", "idle", "busybox", "true")
    out = busybox_tug("commit", "--pause=false", "idle", "same:1", check=True).stdout.strip()
    layers = json.loads(busybox_tug("image", "inspect", out, check=True).stdout)[0]["RootFS"]["Layers"]
    assert len(layers) == 2
    assert run(busybox_tug, "--rm", "same:1", "cat", "/etc/passwd").stdout.startswith("root:")
    blob = busybox_tug.root / "blobs" / "sha256" / layers[-1].split(":")[1]
    with tarfile.open(blob) as tf:
        assert all(m.isdir() for m in tf.getmembers())  # at most the directories the runtime's mounts touched


def test_commit_bad_change_leaves_store_alone(changed):
    tug, _ = changed
    before = sorted(os.listdir(tug.root / "blobs" / "sha256"))
    r = tug("commit", "-c", "FROB x", "work", "bad:1")
    assert r.returncode != 0 and "FROB" in r.stderr
    assert sorted(os.listdir(tug.root / "blobs" / "sha256")) == before
    assert tug("image", "inspect", "bad:1").returncode != 0


def test_commit_pauses_a_running_container_and_thaws_it(busybox_tug):
    import time

    rt = runtime_for(busybox_tug)
    busybox_tug("run", "-d", "--runtime", rt, "--name", "busy", "busybox", "sh", "-c",
                "i=0; while true; do i=$((i+1)); echo $i > /count; sleep 0.05; done", check=True)
    try:
        time.sleep(0.5)
        busybox_tug("commit", "busy", "snap:1", check=True)
        upper = next((busybox_tug.root / "containers").glob("*/upper"))
        first = (upper / "count").read_text()
        deadline = time.monotonic() + 10
        while (upper / "count").read_text() == first and time.monotonic() < deadline:
            time.sleep(0.05)
        assert (upper / "count").read_text() != first  # thawed: still counting
        r = run(busybox_tug, "--rm", "snap:1", "cat", "/count")
        assert int(r.stdout) >= 1
    finally:
        busybox_tug("rm", "-f", "busy")


def test_same_changes_at_another_time_same_diff_id_with_source_date_epoch(busybox_tug):
    import subprocess
    import time

    from conftest import TUG

    env = {**busybox_tug.env, "SOURCE_DATE_EPOCH": "1700000000"}
    tops = []
    for name in ("first", "second"):
        run(busybox_tug, "--name", name, "busybox", "sh", "-c", "mkdir -p /srv/app && echo v1 > /srv/app/conf")
        subprocess.run([TUG, "commit", name, f"{name}:1"], env=env, check=True, capture_output=True)
        doc = json.loads(busybox_tug("image", "inspect", f"{name}:1", check=True).stdout)[0]
        tops.append(doc["RootFS"]["Layers"][-1])
        assert doc["Created"] == "2023-11-14T22:13:20Z"
        time.sleep(1.1)  # the second container makes its changes in another second
    assert tops[0] == tops[1]
