"""Drawing pull/push progress as docker does: one line per layer, redrawn in place on a terminal, plain lines
(state changes only) otherwise."""

from __future__ import annotations

import sys

from tug.engine.progress import DOWNLOADING, PUSHING, ProgressEvent

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import TextIO

BAR = 50


def _bar(cur: int, total: int) -> str:
    from tug.engine.humanize import human_size

    if total <= 0:
        return ""
    n = min(BAR, int(BAR * cur / total))
    arrow = "=" * max(0, n - 1) + (">" if n else "")
    return f"[{arrow.ljust(BAR)}]  {human_size(cur)}/{human_size(total)}"


class Printer:
    def __init__(self, out: TextIO | None = None, quiet: bool = False) -> None:
        self.out = out or sys.stdout
        self.quiet = quiet
        self.tty = self.out.isatty()
        self.lines: list[str] = []  # layer ids in the order first seen
        self.text: dict[str, str] = {}
        self.last_state: dict[str, str] = {}

    def __call__(self, e: ProgressEvent) -> None:
        if self.quiet:
            return
        if not e.id:
            self._print(e.detail)
            return
        line = f"{e.id}: {e.state}"
        if e.state in (DOWNLOADING, PUSHING) and e.total:
            line += " " + _bar(e.current, e.total)
        if e.detail:
            line += f" {e.detail}"
        if not self.tty:
            if self.last_state.get(e.id) != e.state and e.state not in (DOWNLOADING,):
                self._print(line)
            self.last_state[e.id] = e.state
            return
        if e.id not in self.text:
            self.lines.append(e.id)
            self.text[e.id] = line
            self.out.write(line + "\n")
        else:
            self.text[e.id] = line
            up = len(self.lines) - self.lines.index(e.id)
            self.out.write(f"\x1b[{up}A\r\x1b[2K{line}\x1b[{up}B\r")
        self.out.flush()

    def _print(self, text: str) -> None:
        self.lines.clear()
        self.text.clear()
        self.out.write(text + "\n")
        self.out.flush()
