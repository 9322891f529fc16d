"""The seed document's walkthrough (docker create/ps/start/ps/exec -it, then the game) with `tug` for `docker`.

The image stands in for quay.io/rhdp/open-adventure without network: busybox plus a CentOS-like release file, the
image's entrypoint and EXPOSEd ports, `/bin/bash`, and the real `advent` from Debian's open-adventure package with the
libraries it links.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest
from lifecycle_helpers import PtySession, assert_no_leftovers, image_with_config

ADVENT = "/usr/games/advent"
RELEASE = "CentOS Linux release 7.5.1804 (Core) \n"
OS_RELEASE = 'NAME="CentOS Linux"\nVERSION="7 (Core)"\nID="centos"\nID_LIKE="rhel fedora"\nVERSION_ID="7"\n'
ENTRYPOINT = "#!/bin/sh\n# stands in for the image's entrypoint: a long-running service\nexec sleep 2147483647\n"


def _libraries(binary: str) -> list[str]:
    out = subprocess.run(["ldd", binary], capture_output=True, text=True, check=True).stdout
    libs = []
    for line in out.splitlines():
        m = re.search(r"(/\S+)", line.split("=>")[-1])
        if m and os.path.exists(m.group(1)):
            libs.append(m.group(1))
    return libs


def adventure_layer(work: Path) -> Path:
    root = work / "layer"
    for d in ("etc", "home/user", "bin"):
        (root / d).mkdir(parents=True, exist_ok=True)
    (root / "etc/centos-release").write_text(RELEASE)
    (root / "etc/os-release").write_text(OS_RELEASE)
    (root / "etc/redhat-release").symlink_to("centos-release")
    (root / "home/user/entrypoint").write_text(ENTRYPOINT)
    (root / "bin/bash").write_text('#!/bin/sh\nexec /bin/sh "$@"\n')
    shutil.copy2(ADVENT, root / "home/user/advent")
    for lib in _libraries(ADVENT):
        dest = root / lib.lstrip("/")
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(os.path.realpath(lib), dest)
    for f in ("home/user/entrypoint", "bin/bash", "home/user/advent"):
        os.chmod(root / f, 0o755)
    out = work / "layer.tar"
    with tarfile.open(out, "w") as tf:
        for p in sorted(root.rglob("*")):
            info = tf.gettarinfo(str(p), arcname=str(p.relative_to(root)))
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            if info.isreg():
                with open(p, "rb") as f:
                    tf.addfile(info, f)
            else:
                tf.addfile(info)
    return out


@pytest.mark.skipif(not os.path.exists(ADVENT), reason="Debian's open-adventure is not installed (scripts/setup.sh)")
def test_seed_walkthrough(busybox_tug, tmp_path):
    image = "quay.io/rhdp/open-adventure:latest"
    image_with_config(busybox_tug, tmp_path / "img", "busybox", image, {
        "Entrypoint": ["/home/user/entrypoint"], "Cmd": None, "WorkingDir": "/home/user",
        "ExposedPorts": {"22/tcp": {}, "4403/tcp": {}},
    }, extra_layer=adventure_layer(tmp_path))

    # docker create --name open-adventure quay.io/rhdp/open-adventure
    r = busybox_tug("create", "--name", "open-adventure", "quay.io/rhdp/open-adventure", check=True)
    cid = r.stdout.strip()
    assert re.fullmatch(r"[0-9a-f]{64}", cid)

    # docker ps -a: Created
    lines = busybox_tug("ps", "-a", check=True).stdout.splitlines()
    assert re.split(r"\s{2,}", lines[0]) == ["CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS",
                                             "NAMES"]
    row = re.split(r"\s{2,}", lines[1])
    assert row == [cid[:12], "quay.io/rhdp/open-adventure", '"/home/user/entrypoi…"', row[3], "Created",
                   "open-adventure"]
    assert re.fullmatch(r"(Less than a second|\d+ seconds?) ago", row[3])

    # docker start open-adventure
    assert busybox_tug("start", "open-adventure", check=True).stdout == "open-adventure\n"

    # docker ps: Up, with the image's exposed ports
    row = re.split(r"\s{2,}", busybox_tug("ps", check=True).stdout.splitlines()[1])
    assert row[0] == cid[:12] and row[-1] == "open-adventure"
    assert re.fullmatch(r"Up (Less than a second|\d+ seconds?)", row[4]), row
    assert row[5] == "22/tcp, 4403/tcp"

    # docker exec -it open-adventure /bin/bash; cat /etc/*release*; ./advent
    s = PtySession(busybox_tug, "exec", "-it", "open-adventure", "/bin/bash")
    try:
        s.expect(b"# ")
        s.send(b"cat /etc/*release*\r")
        s.expect(b'NAME="CentOS Linux"')
        s.expect(b"CentOS Linux release 7.5.1804 (Core)")
        s.send(b"./advent\r")
        s.expect(b"Welcome to Adventure!!  Would you like instructions?")
        s.send(b"no\r")
        s.expect(b"You are standing at the end of a road before a small brick building.")
        s.send(b"quit\r")
        s.expect(b"Do you really want to quit now?")
        s.send(b"yes\r")
        s.expect(b"# ")
        s.send(b"exit\r")
        assert s.close() == 0
    finally:
        if s.proc.poll() is None:
            s.proc.kill()
    assert_no_leftovers(busybox_tug, [cid])
