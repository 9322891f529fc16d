"""`tug run`'s start-up is measured against podman (issue 2), and most of it is imports: the modules its path loads
must not bring back the heavy standard-library ones it was freed of (each costs 1-10 ms here)."""

from __future__ import annotations

import subprocess
import sys

# what `tug run --rm busybox true` imports at module level, from the CLI to the attach relay
RUN_PATH = [
    "tug.cli.main", "tug.cli.run", "tug.engine.pending", "tug.engine.roots", "tug.engine.engine", "tug.engine.run",
    "tug.engine.containers", "tug.engine.lifecycle", "tug.engine.bundle", "tug.engine.images", "tug.engine.names",
    "tug.engine.humanize", "tug.engine.netattach", "tug.engine.volumes", "tug.engine.isolation", "tug.engine.attach",
    "tug.engine.health", "tug.engine.restart", "tug.engine.logs", "tug.store.facade", "tug.store.metadata",
    "tug.store.layout", "tug.store.content", "tug.store.snapshots", "tug.spec.generate", "tug.oci.reference",
]
HEAVY = ["dataclasses", "inspect", "typing", "ctypes", "socket", "signal", "datetime", "sqlite3", "threading",
         "shutil", "tempfile", "ast"]


def test_tug_runs_path_imports_none_of_the_heavy_modules():
    code = (f"import importlib, sys\nfor m in {RUN_PATH!r}: importlib.import_module(m)\n"
            f"print(' '.join(m for m in {HEAVY!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == []
