"""Archives between tug and real peers: skopeo (docker-archive, oci-archive, oci: on tug's own store) and podman.

podman runs with its storage in temp dirs (vfs driver, no cgroups, no network), so the host is untouched.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "kernel"))
from layers_helpers import runtime_for  # noqa: E402

pytestmark = pytest.mark.peer


def need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.fail(f"{tool} is not installed (scripts/setup.sh installs it)")
    return path


@pytest.fixture
def app(busybox_tug):
    busybox_tug("run", "--runtime", runtime_for(busybox_tug), "--name", "wk", "busybox", "sh", "-c",
                "echo from-tug > /marker", check=True)
    busybox_tug("commit", "wk", "app:1", check=True)
    return busybox_tug


def skopeo(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([need("skopeo"), *args], capture_output=True, text=True, timeout=120, check=True)


def test_skopeo_reads_tug_store_as_oci_layout(app):
    doc = json.loads(skopeo("inspect", f"oci:{app.root}:app:1").stdout)
    tug_doc = json.loads(app("image", "inspect", "app:1", check=True).stdout)[0]
    assert doc["Layers"] and len(doc["Layers"]) == len(tug_doc["RootFS"]["Layers"])
    cfg = json.loads(skopeo("inspect", "--config", f"oci:{app.root}:app:1").stdout)
    assert cfg["rootfs"]["diff_ids"] == tug_doc["RootFS"]["Layers"]


@pytest.mark.parametrize("transport", ["docker-archive", "oci-archive"])
def test_skopeo_archives_load_in_tug_and_run(app, tmp_path, transport):
    saved = tmp_path / "tug.tar"
    app("save", "-o", str(saved), "app:1", check=True)
    # skopeo reads tug's docker-archive, writes its own archive of the wanted kind
    out = tmp_path / f"{transport}.tar"
    skopeo("copy", f"docker-archive:{saved}", f"{transport}:{out}:peer/app:2")
    r = app("load", "-i", str(out), check=True)
    assert "peer/app:2" in r.stdout
    r = app("run", "--rm", "--runtime", runtime_for(app), "peer/app:2", "cat", "/marker", check=True)
    assert r.stdout == "from-tug\n"


def test_skopeo_copies_tug_oci_archive(app, tmp_path):
    saved = tmp_path / "tug-oci.tar"
    app("save", "--format", "oci", "-o", str(saved), "app:1", check=True)
    skopeo("copy", f"oci-archive:{saved}:app:1", f"oci:{tmp_path / 'layout'}:copied")
    cfg = json.loads(skopeo("inspect", "--config", f"oci:{tmp_path / 'layout'}:copied").stdout)
    assert len(cfg["rootfs"]["diff_ids"]) == 2


@pytest.fixture
def short_runroot():
    d = tempfile.mkdtemp(prefix="tugp-", dir="/tmp")  # podman wants a runroot path under 50 characters
    yield d
    shutil.rmtree(d, ignore_errors=True)


def test_podman_loads_tug_archive_and_runs_it(app, tmp_path, short_runroot):
    podman = [need("podman"), "--root", str(tmp_path / "p-root"), "--runroot", short_runroot,
              "--storage-driver", "vfs", "--cgroup-manager", "cgroupfs", "--events-backend", "none"]
    saved = tmp_path / "tug.tar"
    app("save", "-o", str(saved), "app:1", check=True)
    r = subprocess.run([*podman, "load", "-i", str(saved)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "app:1" in r.stdout
    r = subprocess.run([*podman, "run", "--rm", "--network", "none", "--cgroups", "disabled",
                        "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024", "app:1", "cat", "/marker"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "from-tug\n"


def test_skopeo_oci_layout_dir_loads_in_tug(app, tmp_path):
    saved = tmp_path / "tug.tar"
    app("save", "-o", str(saved), "app:1", check=True)
    layout = tmp_path / "layout"
    skopeo("copy", f"docker-archive:{saved}", f"oci:{layout}:peer.example/app:3")
    r = app("load", "-i", str(layout), check=True)
    assert r.stdout.strip() == "Loaded image: peer.example/app:3"
    r = app("run", "--rm", "--runtime", runtime_for(app), "peer.example/app:3", "cat", "/marker", check=True)
    assert r.stdout == "from-tug\n"
