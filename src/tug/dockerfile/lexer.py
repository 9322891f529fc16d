"""From Dockerfile text to logical lines: parser directives, comments, line continuations and heredoc bodies.

Rules (docker's): directives (`# syntax=`, `# escape=`, `# check=`) count only before anything else, including blank
lines and other comments, and each may appear once. A line ending in the escape character continues on the next one;
comment lines inside a continuation are dropped, and so are empty ones (docker warns about those). Leading whitespace
is stripped from the first physical line of an instruction only. A UTF-8 byte-order mark is ignored.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from tug.dockerfile.heredoc import Heredoc
from tug.errors import Invalid
from tug.records import field, record

DIRECTIVES = ("syntax", "escape", "check")
_DIRECTIVE = re.compile(r"^([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$")


@record
class LogicalLine:
    """One instruction's text with its continuations joined, and where it came from."""

    text: str
    start: int
    end: int
    comments: list[str] = field(default_factory=list)
    empty_continuation: bool = False


class DockerfileError(Invalid):
    """A Dockerfile that cannot be parsed; the message names the file and line."""

    def __init__(self, filename: str, line: int, message: str) -> None:
        super().__init__(f"{filename}:{line}: {message}", where=filename)
        self.filename = filename
        self.line = line
        self.detail = message


def _is_comment(line: str) -> bool:
    return line.lstrip().startswith("#")


def _trim_newline(line: str) -> str:
    return line.rstrip("\r\n")


def split_physical_lines(text: str) -> list[str]:
    """Lines split on newline only, each keeping its line ending (as Go's scanner does for Dockerfiles)."""
    parts = text.split("\n")
    lines = [p + "\n" for p in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


class Lexer:
    """Walks the physical lines of one Dockerfile. Iterate for logical lines; call `read_heredoc` right after the
    line that opened it to consume its body."""

    def __init__(self, text: str, filename: str = "Dockerfile") -> None:
        if text.startswith("\ufeff"):
            text = text[1:]
        self.filename = filename
        self.lines = split_physical_lines(text)
        self.pos = 0  # index of the next physical line
        self.line_no = 0  # 1-based number of the last physical line consumed
        self.escape = "\\"
        self.directives: dict[str, str] = {}
        self._directives_done = False
        self.warnings: list[str] = []
        self._set_escape("\\")

    def error(self, line: int, message: str) -> DockerfileError:
        return DockerfileError(self.filename, line, message)

    def _set_escape(self, token: str) -> None:
        if token not in ("`", "\\"):
            raise self.error(max(self.line_no, 1), f"invalid escape token '{token}' does not match ` or \\")
        self.escape = token
        e = re.escape(token)
        self._continuation = re.compile(rf"([^{e}]){e}[ \t]*$|^{e}[ \t]*$")

    def _directive(self, line: str) -> bool:
        """Consume a parser directive if this line is one; True when it was."""
        if self._directives_done:
            return False
        if not line.startswith("#"):
            self._directives_done = True
            return False
        m = _DIRECTIVE.match(line[1:].lstrip())
        if not m or m.group(1).lower() not in DIRECTIVES:
            self._directives_done = True
            return False
        key, value = m.group(1).lower(), m.group(2)
        if key in self.directives:
            raise self.error(self.line_no, f"only one {key} parser directive can be used")
        self.directives[key] = value
        if key == "escape":
            self._set_escape(value)
        return True

    def _process(self, raw: str, strip_left: bool) -> str:
        line = _trim_newline(raw)
        if strip_left:
            line = line.lstrip()
        self._directive(line)
        return "" if _is_comment(line) else line

    def _trim_continuation(self, line: str) -> tuple[str, bool]:
        """The line without its continuation marker, and whether the instruction ends here."""
        m = self._continuation.search(line)
        if m is None:
            return line, True
        return line[: m.start()] + (m.group(1) or ""), False

    def _next_raw(self) -> str | None:
        if self.pos >= len(self.lines):
            return None
        raw = self.lines[self.pos]
        self.pos += 1
        self.line_no += 1
        return raw

    def __iter__(self) -> Iterator[LogicalLine]:
        comments: list[str] = []
        while (raw := self._next_raw()) is not None:
            if _is_comment(raw):
                text = raw.strip()[1:].strip()
                comments = [*comments, text] if text else []
            was_directive = not self._directives_done
            line = self._process(raw, strip_left=True)
            if was_directive and not self._directives_done:
                comments = comments[:-1]
            start = self.line_no
            line, done = self._trim_continuation(line)
            if done and not line:
                continue
            parts = [line]
            empty_continuation = False
            while not done and (raw := self._next_raw()) is not None:
                line = self._process(raw, strip_left=False)
                if _is_comment(raw):
                    continue
                if not line.strip():
                    empty_continuation = True
                    continue
                line, done = self._trim_continuation(line)
                parts.append(line)
            text = "".join(parts)
            if empty_continuation:
                self.warnings.append(f"{self.filename}:{self.line_no}: empty continuation line found in: {text}")
            yield LogicalLine(text, start, self.line_no, comments, empty_continuation)
            comments = []

    def read_heredoc(self, doc: Heredoc, start: int) -> Heredoc:
        """Consume the body of `doc` from the following lines; the instruction began on line `start`."""
        body: list[str] = []
        while (raw := self._next_raw()) is not None:
            candidate = _trim_newline(raw)
            if doc.chomp:
                candidate = candidate.lstrip("\t")
            if candidate == doc.name:
                return Heredoc(doc.name, "".join(body), doc.expand, doc.chomp, doc.fd)
            body.append(raw)
        raise self.error(start, f"unterminated heredoc {doc.name}")
