"""Helpers shared by the layer tests (commit, archive, df, anatomy)."""

from __future__ import annotations

import os

_chosen: list[str] = []


def runtime_for(tug) -> str:  # noqa: ANN001 - the conftest Tug runner
    """The OCI runtime these tests run containers with: $TUG_TEST_RUNTIME, else tug-runtime when it runs a
    container in this store, else runc. (They test layers, not the runtime; the runtime has its own suite.)"""
    if os.environ.get("TUG_TEST_RUNTIME"):
        return os.environ["TUG_TEST_RUNTIME"]
    if not _chosen:
        ok = tug("run", "--rm", "--runtime", "tug", "busybox", "true").returncode == 0
        _chosen.append("tug" if ok else "runc")
    return _chosen[0]
