"""Helpers for the tug-runtime kernel and interop tests: busybox bundles and a runtime runner."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from tug.runtime.launch import runtime_argv

RUNTIME = runtime_argv()


def make_bundle(base: Path, rootfs_src: Path, args: list[str], edit: Callable[[dict], None] | None = None,
                runtime: list[str] | None = None) -> Path:
    """A bundle with a private copy of the busybox rootfs and a config.json from `<runtime> spec`, edited."""
    bundle = base / "bundle"
    bundle.mkdir(parents=True)
    subprocess.run(["cp", "-a", str(rootfs_src), str(bundle / "rootfs")], check=True)
    subprocess.run([*(runtime or RUNTIME), "spec", "--bundle", str(bundle)], check=True)
    spec = json.loads((bundle / "config.json").read_text())
    spec["process"]["terminal"] = False
    spec["process"]["args"] = args
    if edit:
        edit(spec)
    (bundle / "config.json").write_text(json.dumps(spec))
    return bundle


def rt(root: Path, *args: str, runtime: list[str] | None = None, timeout: float = 60,
       **kw) -> subprocess.CompletedProcess:
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    if "stdin" not in kw and "input" not in kw:
        kw["stdin"] = subprocess.DEVNULL
    return subprocess.run([*(runtime or RUNTIME), "--root", str(root), *args], timeout=timeout, **kw)


def wait_for(cond: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.02)
    return False


def cleanup(root: Path, runtime: list[str] | None = None) -> None:
    """Force-delete every container left under `root` (kills only our own containers)."""
    if root.is_dir():
        for cid in os.listdir(root):
            rt(root, "delete", "-f", cid, runtime=runtime)
        shutil.rmtree(root, ignore_errors=True)
