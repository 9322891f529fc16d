"""`--userns=auto` with runc and crun as the OCI runtime (issue 7): they make their mounts from inside the new user
namespace, over the overlay the monitor mounted with idmapped layers. From in there the path to the bundle must be
searchable by the container's root (host uid 100000), as it is for /var/lib/tug: pytest's 0700 temp root is not,
so the store here lives in a 0711 dir of its own."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from conftest import Tug


@pytest.fixture
def store(busybox_tar):
    base = Path(tempfile.mkdtemp(prefix="tug-userns-rt-", dir="/tmp"))
    os.chmod(base, 0o711)
    t = Tug(base / "root", base / "run")
    r = t("import", "--change", 'CMD ["sh"]', str(busybox_tar), "busybox:latest")
    assert r.returncode == 0, r.stderr
    yield t
    ids = t("ps", "-aq", "--no-trunc").stdout.split()
    if ids:
        t("rm", "-f", *ids)
    shutil.rmtree(base, ignore_errors=True)


@pytest.mark.parametrize("runtime", ["runc", "crun"])
def test_userns_auto_with_another_runtime(store, runtime):
    if shutil.which(runtime) is None:
        pytest.skip(f"{runtime} is not installed")
    r = store("run", "--rm", "--runtime", runtime, "--network", "none", "--userns=auto", "busybox", "sh", "-c",
              "id -u; cat /proc/self/uid_map; stat -c %u /etc/passwd; touch /etc/x && stat -c %u /etc/x; "
              "ls /sys/class >/dev/null && echo sys")
    assert r.returncode == 0, r.stderr
    out = r.stdout.split("\n")
    assert out[0] == "0" and out[1].split() == ["0", "100000", "65536"] and out[2:5] == ["0", "0", "sys"]
