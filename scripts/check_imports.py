#!/usr/bin/env python3
"""Keeps the rooms of shared/DESIGN.md honest: a module may import tug.X only if its room allows X.

Reads every module under src/tug with `ast` (no imports executed) and prints each forbidden import.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src" / "tug"

# room -> rooms it may import (besides itself). "errors", "records" (the record-class maker) and "jsontext" (JSON
# without the json package) are allowed everywhere.
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "records": set(),
    "jsontext": set(),
    "oci": set(),
    "spec": {"oci"},
    "dockerfile": {"oci"},
    "sys": set(),
    "cgroups": {"sys"},
    "store": {"oci", "sys"},
    "registry": {"oci"},
    "runtime": {"oci", "sys", "cgroups"},
    "network": {"sys"},
    "engine": {"oci", "spec", "dockerfile", "sys", "cgroups", "store", "registry", "runtime", "network"},
    "api": {"engine", "oci", "spec"},
    "cli": {"engine", "oci", "spec"},
    "__init__": set(),
}


def room_of(path: Path) -> str:
    rel = path.relative_to(SRC)
    return rel.parts[0].removesuffix(".py")


def imported_rooms(tree: ast.AST) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "tug" and len(parts) > 1:
                    out.append((node.lineno, parts[1]))
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            parts = node.module.split(".")
            if parts[0] == "tug":
                if len(parts) > 1:
                    out.append((node.lineno, parts[1]))
                else:
                    out.extend((node.lineno, a.name) for a in node.names)
    return out


def main() -> int:
    bad = []
    for path in sorted(SRC.rglob("*.py")):
        room = room_of(path)
        allowed = ALLOWED.get(room)
        if allowed is None:
            bad.append(f"{path}: room {room!r} is not in the design's table")
            continue
        tree = ast.parse(path.read_text(), str(path))
        for lineno, target in imported_rooms(tree):
            if target in ("errors", "records", "jsontext", "__version__", room) or target in allowed:
                continue
            bad.append(f"{path.relative_to(SRC.parent.parent)}:{lineno}: room {room!r} may not import tug.{target}")
    for line in bad:
        print(line)
    if bad:
        print(f"import-direction check: {len(bad)} violation(s)")
        return 1
    print(f"import-direction check: ok ({sum(1 for _ in SRC.rglob('*.py'))} modules)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
