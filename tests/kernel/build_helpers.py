"""Helpers for the build tests: write a context, build it, read a built image's config and files."""

from __future__ import annotations

import json
import os
from pathlib import Path


def write_context(root: Path, files: dict[str, str | bytes], modes: dict[str, int] | None = None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, bytes):
            p.write_bytes(data)
        else:
            p.write_text(data)
        os.chmod(p, (modes or {}).get(name, 0o644))
    return root


def build(tug, context: Path, *args: str, check: bool = True):
    r = tug("build", "--network", "none", *args, str(context), timeout=300)
    if check:
        assert r.returncode == 0, f"build failed:\n{r.stdout}\n{r.stderr}"
    return r


def image_id(tug, ref: str) -> str:
    r = tug("image", "inspect", ref, check=True)
    return json.loads(r.stdout)[0]["Id"]


def config(tug, ref: str) -> dict:
    return json.loads(tug("image", "inspect", ref, check=True).stdout)[0]["Config"]


def run(tug, ref: str, *cmd: str) -> str:
    r = tug("run", "--rm", "--network", "none", ref, *cmd)
    assert r.returncode == 0, f"run {cmd} failed:\n{r.stdout}\n{r.stderr}"
    return r.stdout


def containers_run(output: str) -> int:
    """How many build containers a build ran (docker's ` ---> Running in <id>` lines)."""
    return sum(1 for line in output.splitlines() if line.startswith(" ---> Running in "))
