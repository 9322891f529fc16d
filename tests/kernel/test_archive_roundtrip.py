"""`tug save` / `tug load` in both formats, files and pipes, and `tug export`, between fresh stores."""

from __future__ import annotations

import gzip
import io
import json
import os
import subprocess
import tarfile

import pytest
from layers_helpers import runtime_for

from conftest import TUG, Tug, mountinfo


@pytest.fixture
def committed(busybox_tug):
    """busybox plus `app:1`, a committed image with a file in its own layer."""
    rt = runtime_for(busybox_tug)
    busybox_tug("run", "--runtime", rt, "--name", "wk", "busybox", "sh", "-c", "echo payload > /payload",
                check=True)
    busybox_tug("commit", "-m", "msg", "wk", "app:1", check=True)
    return busybox_tug


def fresh(tmp_path, name: str) -> Tug:
    return Tug(tmp_path / name / "root", tmp_path / name / "run")


def image_ids(t: Tug) -> dict[str, str]:
    out = t("images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}", check=True).stdout.split("\n")
    return dict(line.split() for line in out if line.strip())


def test_docker_archive_round_trip_and_layout(committed, tmp_path):
    out = tmp_path / "app.tar"
    committed("save", "-o", str(out), "app:1", check=True)
    with tarfile.open(out) as tf:
        names = tf.getnames()
        manifest = json.loads(tf.extractfile("manifest.json").read())
        repos = json.loads(tf.extractfile("repositories").read())
    assert {"manifest.json", "index.json", "oci-layout", "repositories"} <= set(names)
    assert manifest[0]["RepoTags"] == ["app:1"] and len(manifest[0]["Layers"]) == 2
    assert list(repos) == ["app"]
    other = fresh(tmp_path, "other")
    r = other("load", "-i", str(out), check=True)
    assert r.stdout.strip() == "Loaded image: app:1"
    assert image_ids(other)["app:1"] == image_ids(committed)["app:1"]  # same config bytes, same id
    r = other("run", "--rm", "--runtime", runtime_for(committed), "app:1", "cat", "/payload", check=True)
    assert r.stdout == "payload\n"
    hist = other("history", "app:1", check=True).stdout
    assert "msg" in hist


def test_oci_archive_stdout_stdin_and_layout_dir(committed, tmp_path):
    data = subprocess.run([TUG, "save", "--format", "oci", "app:1", "busybox"], env=committed.env,
                          capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(data)) as tf:
        index = json.loads(tf.extractfile("index.json").read())
        assert "manifest.json" not in tf.getnames()
    refs = sorted(m["annotations"]["org.opencontainers.image.ref.name"] for m in index["manifests"])
    assert refs == ["app:1", "busybox:latest"]
    other = fresh(tmp_path, "o2")
    r = other("load", input=data)
    assert r.returncode == 0, r.stderr
    assert sorted(r.stdout.decode().splitlines()) == ["Loaded image: app:1", "Loaded image: busybox:latest"]
    assert image_ids(other) == image_ids(committed)
    layout = tmp_path / "layout"
    committed("save", "--format", "oci-dir", "-o", str(layout), "app:1", check=True)
    assert (layout / "oci-layout").is_file() and (layout / "index.json").is_file()
    third = fresh(tmp_path, "o3")
    assert third("load", "-i", str(layout), check=True).stdout.strip() == "Loaded image: app:1"


def test_compressed_archive_and_untagged_image(committed, tmp_path):
    image_id = image_ids(committed)["app:1"]
    raw = subprocess.run([TUG, "save", image_id], env=committed.env, capture_output=True, check=True).stdout
    other = fresh(tmp_path, "gz")
    r = other("load", input=gzip.compress(raw, 1))
    assert r.returncode == 0, r.stderr
    line = r.stdout.decode().strip()
    assert line.startswith("Loaded image ID: sha256:" + image_id)


def test_bad_archive_leaves_store_as_it_was(committed, tmp_path):
    out = tmp_path / "app.tar"
    committed("save", "-o", str(out), "app:1", check=True)
    broken = tmp_path / "broken.tar"
    with tarfile.open(out) as src, tarfile.open(broken, "w") as dst:
        manifest = json.loads(src.extractfile("manifest.json").read())
        last_layer = manifest[0]["Layers"][-1]
        for m in src.getmembers():
            f = src.extractfile(m) if m.isreg() else None
            if m.name == last_layer:
                body = bytearray(f.read())
                body[600] ^= 0xFF  # inside the first file's data: still a tar, wrong diff id
                dst.addfile(m, io.BytesIO(bytes(body)))
            else:
                dst.addfile(m, f)
    other = fresh(tmp_path, "bad")
    other("load", "-i", str(out), check=True)  # a store that already has these layers
    other("rmi", "app:1", check=True)
    blobs = sorted(os.listdir(other.root / "blobs" / "sha256"))
    snaps = sorted(os.listdir(other.root / "snapshots"))
    r = other("load", "-i", str(broken))
    assert r.returncode != 0 and "diff id" in r.stderr
    assert sorted(os.listdir(other.root / "blobs" / "sha256")) == blobs
    assert sorted(os.listdir(other.root / "snapshots")) == snaps
    assert "app:1" not in image_ids(other)
    assert other("load", "-i", str(tmp_path / "nope.tar")).returncode != 0


def test_export_is_the_merged_tree(committed, tmp_path):
    rt = runtime_for(committed)
    committed("run", "--runtime", rt, "--name", "ex", "app:1", "sh", "-c", "rm /etc/group; echo more >> /payload",
              check=True)
    before = mountinfo()
    out = tmp_path / "e.tar"
    committed("export", "-o", str(out), "ex", check=True)
    assert mountinfo() == before
    with tarfile.open(out) as tf:
        names = set(tf.getnames())
        assert tf.extractfile("payload").read() == b"payload\nmore\n"
    assert "etc/group" not in names and "etc/passwd" in names and "bin/busybox" in names
    assert not any(".wh." in n for n in names)
    r = committed("import", "-c", 'CMD ["sh"]', str(out), "flat:1", check=True)
    assert r.stdout.startswith("sha256:")
    r = committed("run", "--rm", "--runtime", rt, "flat:1", "cat", "/payload", check=True)
    assert r.stdout == "payload\nmore\n"
