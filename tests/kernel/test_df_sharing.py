"""Disk use that adds up: 3 images sharing a base, 10 containers on one of them; df and prune against `du -sbx`."""

from __future__ import annotations

import json
import subprocess

import pytest
from layers_helpers import runtime_for


def du(path) -> int:  # noqa: ANN001
    return int(subprocess.run(["du", "-sbx", str(path)], capture_output=True, text=True, check=True).stdout.split()[0])


def df_rows(tug) -> dict[str, dict]:  # noqa: ANN001
    out = tug("system", "df", "--format", "{{json .}}", check=True).stdout
    rows = [json.loads(line) for line in out.splitlines() if line.strip()]
    return {r["Type"]: r for r in rows}


def within(a: int, b: int, pct: float = 1.0) -> bool:
    return abs(a - b) <= max(a, b) * pct / 100


@pytest.fixture
def shared(busybox_tug):
    t = busybox_tug
    rt = runtime_for(t)
    for i, kb in ((1, 100), (2, 200), (3, 300)):
        t("run", "--runtime", rt, "--name", f"mk{i}", "busybox", "sh", "-c",
          f"head -c {kb * 1000} /dev/urandom > /data{i}", check=True)
        t("commit", f"mk{i}", f"app{i}", check=True)
    for n in range(10):
        t("run", "--runtime", rt, "--name", f"c{n}", "app1", "sh", "-c", "head -c 20000 /dev/urandom > /scratch",
          check=True)
    return t


def test_df_adds_up_and_shows_sharing(shared):
    rows = df_rows(shared)
    total = sum(r["SizeBytes"] for r in rows.values())
    assert within(total, du(shared.root))
    img, ctr = rows["Images"], rows["Containers"]
    assert (img["TotalCount"], img["Active"]) == (4, 2)  # busybox (under mk1..3) and app1 (under c0..c9)
    assert (ctr["TotalCount"], ctr["Active"]) == (13, 0)
    assert ctr["ReclaimableBytes"] == ctr["SizeBytes"] and ctr["SizeBytes"] >= 13 * 20000
    snaps = [p for p in (shared.root / "snapshots").iterdir() if len(p.name) == 64]
    assert len(snaps) == 4  # one base snapshot shared by all, one per committed layer
    per_image = sum(json.loads(shared("image", "inspect", n, check=True).stdout)[0]["Size"]
                    for n in ("app1", "app2", "app3"))
    base = json.loads(shared("image", "inspect", "busybox", check=True).stdout)[0]["Size"]
    # the images' sizes counted one by one hold the base 3 times; the store holds it once (blob + snapshot)
    assert per_image > 3 * base
    assert img["SizeBytes"] < per_image
    assert within(img["SizeBytes"], du(shared.root / "blobs") + sum(du(s) for s in snaps), 2)
    # app2 and app3 have no containers: removing them frees exactly their own layers, not the shared base
    assert img["ReclaimableBytes"] > 500_000 and img["ReclaimableBytes"] < img["SizeBytes"] - base


def test_prune_dry_run_predicts_what_prune_frees(shared):
    for args in (["system", "prune"], ["image", "prune", "-a"], ["system", "prune", "-a"]):
        out = shared(*args, "--dry-run", check=True).stdout
        predicted = int(out.strip().splitlines()[-1].rsplit("(", 1)[1].split()[0])
        before = du(shared.root)
        shared(*args, "-f", check=True)
        freed = before - du(shared.root)
        assert within(predicted, freed), (args, predicted, freed)
    assert shared("images", "-q", check=True).stdout.strip() == ""
    assert not [p for p in (shared.root / "snapshots").iterdir() if len(p.name) == 64]
    assert list((shared.root / "blobs" / "sha256").iterdir()) == []


def test_rmi_keeps_what_others_use(shared):
    rt = runtime_for(shared)
    assert shared("rmi", "app1").returncode != 0  # ten containers stand on it
    shared("rm", "mk3", check=True)
    top3 = json.loads(shared("image", "inspect", "app3", check=True).stdout)[0]["RootFS"]["Layers"][-1]
    r = shared("rmi", "app3", check=True)
    assert "Untagged: app3:latest" in r.stdout and "Deleted:" in r.stdout
    assert not (shared.root / "blobs" / "sha256" / top3.split(":")[1]).exists()
    assert len([p for p in (shared.root / "snapshots").iterdir() if len(p.name) == 64]) == 3
    for name in ("app1", "app2", "busybox"):
        shared("run", "--rm", "--runtime", rt, name, "true", check=True)


def test_image_tree_shows_the_shared_base_and_containers(shared):
    out = shared("image", "tree", check=True).stdout.splitlines()
    layers = [ln for ln in out if "layer " in ln]
    assert len(layers) == 4  # the base once, one per committed layer
    assert "[shared by 4 images]" in layers[0] and not layers[0].startswith(("├", "└", "|", "`"))
    assert sum("[shared by" in ln for ln in layers) == 1
    app1 = next(ln for ln in out if "image app1:latest" in ln)
    assert "10 containers" in app1
    busybox = next(ln for ln in out if "image busybox:latest" in ln)
    assert "3 containers: mk1, mk2, mk3" in busybox
    for i, kb in ((1, 100), (2, 200), (3, 300)):
        line = next(ln for ln in layers if f"/data{i}" in ln)
        assert f"{kb}kB" in line
    assert "4 images, 13 containers" in out[-1]
    only = shared("image", "tree", "app2", check=True).stdout
    assert "app2" in only and "app1" not in only and "app3" not in only
