"""The same bundles under tug-runtime, runc and crun give the same results (root, real peers)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "kernel"))
from runtime_support import RUNTIME, cleanup, make_bundle, rt  # noqa: E402

SCRIPT = ("echo pid=$$; hostname; id; umask; pwd; ulimit -n; ls /proc/1/fd; "
          "grep -E '^Cap(Eff|Prm|Bnd|Inh|Amb)' /proc/self/status; ls /dev; grep NoNewPrivs /proc/self/status; "
          "touch /ro 2>/dev/null || echo read-only-root; cat /proc/keys | wc -c; true")


def _peer(name: str) -> list[str]:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed")
    return [path]


@pytest.fixture
def roots(tmp_path):
    r = {"tug": tmp_path / "tug-state", "runc": tmp_path / "runc-state", "crun": tmp_path / "crun-state"}
    yield r
    cleanup(r["tug"])
    for peer in ("runc", "crun"):
        if shutil.which(peer):
            cleanup(r[peer], runtime=[peer])


def test_same_bundle_same_output_under_runc_and_tug(tmp_path, busybox_rootfs, roots):
    def edit(spec):
        spec["hostname"] = "interop"
        spec["process"]["user"] = {"uid": 0, "gid": 0}

    b = make_bundle(tmp_path, busybox_rootfs, ["sh", "-c", SCRIPT], edit)
    ours = rt(roots["tug"], "run", "--bundle", str(b), "same1")
    theirs = rt(roots["runc"], "run", "--bundle", str(b), "same1", runtime=_peer("runc"))
    assert theirs.returncode == 0, theirs.stderr
    assert ours.returncode == 0, ours.stderr
    assert ours.stdout == theirs.stdout


def test_exit_codes_and_missing_command_match_runc(tmp_path, busybox_rootfs, roots):
    runc = _peer("runc")
    for i, (args, code) in enumerate([(["sh", "-c", "exit 3"], 3), (["nosuchcmd"], None)]):
        b = make_bundle(tmp_path / str(i), busybox_rootfs, args)
        ours = rt(roots["tug"], "run", "--bundle", str(b), f"x{i}")
        theirs = rt(roots["runc"], "run", "--bundle", str(b), f"x{i}", runtime=runc)
        if code is not None:
            assert ours.returncode == theirs.returncode == code
        else:
            assert theirs.returncode != 0 and ours.returncode == 127
            assert 'exec: \\"nosuchcmd\\": executable file not found in $PATH' in theirs.stderr  # runc logs it quoted
            assert 'exec: "nosuchcmd": executable file not found in $PATH' in ours.stderr


def test_a_runc_spec_bundle_runs_under_tug(tmp_path, busybox_rootfs, roots):
    runc = _peer("runc")

    def edit(spec):
        spec["hostname"] = "from-runc-spec"

    b = make_bundle(tmp_path, busybox_rootfs, ["sh", "-c", "hostname; echo $$; cat /proc/self/status | grep CapEff"],
                    edit, runtime=runc)
    spec = json.loads((b / "config.json").read_text())
    assert spec["ociVersion"].startswith("1.0") and spec["hostname"] == "from-runc-spec"
    ours = rt(roots["tug"], "run", "--bundle", str(b), "rs1")
    assert ours.returncode == 0, ours.stderr
    theirs = rt(roots["runc"], "run", "--bundle", str(b), "rs1", runtime=runc)
    assert ours.stdout == theirs.stdout
    assert ours.stdout.split()[:2] == ["from-runc-spec", "1"]


def test_same_bundle_under_crun_where_crun_works(tmp_path, busybox_rootfs, roots):
    crun = _peer("crun")
    b = make_bundle(tmp_path, busybox_rootfs, ["sh", "-c", "echo $$; hostname; ls /proc/1/fd; true"],
                    lambda s: s.update(hostname="crun-too"))
    theirs = rt(roots["crun"], "run", "--bundle", str(b), "cr1", runtime=crun)
    if theirs.returncode != 0:
        pytest.skip(f"crun cannot run here: {theirs.stderr.strip()[:200]}")
    ours = rt(roots["tug"], "run", "--bundle", str(b), "cr1")
    assert ours.returncode == 0, ours.stderr
    assert ours.stdout == theirs.stdout == "1\ncrun-too\n0\n1\n2\n"


def test_runc_style_lifecycle_output_is_compatible(tmp_path, busybox_rootfs, roots):
    runc = _peer("runc")
    b = make_bundle(tmp_path, busybox_rootfs, ["sleep", "30"])
    states = {}
    for name, runtime in (("tug", RUNTIME), ("runc", runc)):
        r = rt(roots[name], "create", "--bundle", str(b), "lc", runtime=runtime, stdout=subprocess.DEVNULL,
               stderr=subprocess.DEVNULL, capture_output=False)
        assert r.returncode == 0
        states[name] = json.loads(rt(roots[name], "state", "lc", runtime=runtime).stdout)
        assert rt(roots[name], "delete", "-f", "lc", runtime=runtime).returncode == 0
    for key in ("ociVersion", "id", "status", "bundle", "rootfs"):
        assert (key in states["tug"]) and (key in states["runc"])
    assert states["tug"]["status"] == states["runc"]["status"] == "created"
    assert states["tug"]["bundle"] == states["runc"]["bundle"] and states["tug"]["rootfs"] == states["runc"]["rootfs"]
