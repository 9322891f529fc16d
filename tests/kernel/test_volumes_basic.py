"""Volumes on the real kernel: named volumes outlive containers, image VOLUMEs are pre-filled, volumes in use are
kept, anonymous volumes go with `rm -v`, bind sources follow docker's -v/--mount rules."""

from __future__ import annotations

import shutil

import pytest

from conftest import tar_directory

pytestmark = pytest.mark.timeout(180)


def test_named_volume_keeps_data_across_containers(busybox_tug):
    t = busybox_tug
    r = t("run", "--name", "writer", "-v", "keep:/data", "busybox", "sh", "-c", "echo persisted > /data/f")
    assert r.returncode == 0, r.stderr
    assert "keep" in t("volume", "ls", "-q").stdout.split()
    r = t("run", "--rm", "-v", "keep:/data:ro", "busybox", "sh", "-c", "cat /data/f; touch /data/g || echo ro")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["persisted", "ro"]
    # in use by the (stopped) writer: refused without -f
    r = t("volume", "rm", "keep")
    assert r.returncode != 0 and "in use" in r.stderr
    assert t("volume", "inspect", "keep").returncode == 0
    assert t("volume", "rm", "-f", "keep").returncode == 0
    assert t("volume", "inspect", "keep").returncode != 0


def test_volumes_from_and_mount_readonly(busybox_tug):
    t = busybox_tug
    t("volume", "create", "shared", check=True)
    t("run", "--name", "src", "--mount", "type=volume,src=shared,dst=/s", "busybox", "sh", "-c", "echo from-src > /s/x",
      check=True)
    r = t("run", "--rm", "--volumes-from", "src:ro", "busybox", "sh", "-c", "cat /s/x; touch /s/y || echo ro")
    assert r.stdout.split() == ["from-src", "ro"], r.stderr


def test_image_volume_prefilled_and_anonymous_removed_with_rm_v(busybox_tug, busybox_rootfs, tmp_path):
    t = busybox_tug
    root = tmp_path / "rootfs"
    shutil.copytree(busybox_rootfs, root, symlinks=True)
    (root / "data").mkdir()
    (root / "data" / "seed").write_text("from-the-image\n")
    tar = tar_directory(root, tmp_path / "vol.tar")
    r = t("import", "--change", 'CMD ["sh"]', "--change", "VOLUME /data", str(tar), "withvol:latest")
    assert r.returncode == 0, r.stderr
    before = set(t("volume", "ls", "-q").stdout.split())
    r = t("run", "--name", "v1", "withvol", "sh", "-c", "cat /data/seed; echo more > /data/added")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "from-the-image"
    new = set(t("volume", "ls", "-q").stdout.split()) - before
    assert len(new) == 1
    (name,) = new
    assert len(name) == 64
    # a volume in use cannot be pruned
    t("volume", "prune", "-f", check=True)
    assert name in t("volume", "ls", "-q").stdout.split()
    assert t("rm", "-v", "v1").returncode == 0
    assert name not in t("volume", "ls", "-q").stdout.split()


def test_bind_sources(busybox_tug, tmp_path):
    t = busybox_tug
    missing = tmp_path / "made-by-v"
    r = t("run", "--rm", "-v", f"{missing}:/m", "busybox", "true")
    assert r.returncode == 0, r.stderr
    assert missing.is_dir()
    r = t("run", "--rm", "--mount", f"type=bind,src={tmp_path / 'absent'},dst=/m", "busybox", "true")
    assert r.returncode == 125
    assert "does not exist" in r.stderr
    assert not (tmp_path / "absent").exists()
