"""Docker's ways of printing: tables (Go tabwriter), human sizes and durations, truncated ids.

Pure functions; the verbs in cli/ call them.
"""

from __future__ import annotations

from collections.abc import Sequence

from tug.engine.humanize import ago, human_duration, human_size, parse_time  # noqa: F401 - re-exported


def table(rows: Sequence[Sequence[str]], minwidth: int = 10, padding: int = 3) -> str:
    """Align cells as Go's tabwriter does with docker's settings (minwidth 10, padding 3); last column unpadded."""
    if not rows:
        return ""
    ncols = max(len(r) for r in rows)
    widths = [0] * ncols
    for r in rows:
        for i, cell in enumerate(r[:-1]):
            widths[i] = max(widths[i], len(cell) + padding, minwidth)
    lines = []
    for r in rows:
        parts = [cell.ljust(widths[i]) if i < len(r) - 1 else cell for i, cell in enumerate(r)]
        lines.append("".join(parts))
    return "\n".join(lines) + "\n"


def short_id(full: str) -> str:
    return full.removeprefix("sha256:")[:12]


def ellipsis(text: str, width: int) -> str:
    """Docker truncates COMMAND to 20 columns with a trailing '…'."""
    return text if len(text) <= width else text[: width - 1] + "…"
