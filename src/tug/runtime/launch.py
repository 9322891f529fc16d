"""How to start `tug-runtime` fast and isolated: the interpreter with -I -S and tug's own source dir on sys.path."""

from __future__ import annotations

import os
import sys

import tug


def site_dir() -> str:
    """The directory that holds the `tug` package (an editable checkout's src/ or site-packages)."""
    return os.path.dirname(os.path.dirname(os.path.realpath(tug.__file__)))  # no pathlib: `tug run` calls this first


def runtime_argv(python: str | None = None) -> list[str]:
    """argv prefix of `tug-runtime` for this interpreter; append global options and the command.

    argv[0] is the interpreter's path; a caller that spawns it now swaps in a sealed copy with
    `tug.runtime.sealed.sealed_argv` (otherwise tug-runtime re-executes itself from one, which costs a start-up)."""
    # os._exit skips the interpreter's teardown (a few ms on every container start); stdio is flushed first; the
    # cyclic GC is off: a run allocates little and lives briefly, and a collection in the forked init copies pages
    code = (f"import gc; gc.disable(); import sys; sys.path.insert(0, {site_dir()!r}); "
            "from tug.runtime.main import main; c = main(); "
            "sys.stdout.flush(); sys.stderr.flush(); import os; os._exit(c)")
    return [python or sys.executable, "-I", "-S", "-c", code]
