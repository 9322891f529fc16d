"""Here-documents in RUN, COPY and ADD (`<<EOF`, `<<-EOF`, `<<"EOF"`, `3<<EOF`), found the way docker finds them.

A word is a heredoc opener when it reads `[fd]<<[-]WORD`. Quoting any part of WORD (`<<'EOF'`, `<<E"O"F`) turns
expansion of the body off; `<<-` strips leading tabs from the body and from the terminator line.
"""

from __future__ import annotations

import re

from tug.dockerfile.expand import ShellLex
from tug.errors import Invalid
from tug.records import record

_OPENER = re.compile(r"^(\d*)<<(-?)[\t\n\f\r ]*([^<]*)$")
_LEADING_TABS = re.compile(r"^\t+", re.M)


@record(frozen=True)
class Heredoc:
    """One here-document: its terminator word, its body (with the final newline of each line), and how to use it."""

    name: str
    content: str = ""
    expand: bool = True
    chomp: bool = False
    fd: int = 0

    def data(self) -> str:
        """The body as the instruction uses it: leading tabs removed for `<<-`."""
        return chomp(self.content) if self.chomp else self.content


def chomp(content: str) -> str:
    return _LEADING_TABS.sub("", content)


def parse_heredoc(word: str) -> Heredoc | None:
    """The heredoc a single word opens, or None. Raises Invalid for an opener with an unbalanced quote."""
    m = _OPENER.match(word)
    if not m:
        return None
    fd_text, dash, rest = m.groups()
    if not rest:
        return None
    env: dict[str, str] = {}
    words = ShellLex("\\", skip_unset=True).words(rest, env)
    if len(words) != 1:
        return None
    raw = ShellLex("\\", skip_unset=True, raw_quotes=True).words(rest, env)
    name = words[0]
    quotes = name.count("'") + name.count('"')
    raw_quotes = raw[0].count("'") + raw[0].count('"')
    return Heredoc(name=name, expand=quotes == raw_quotes, chomp=dash == "-", fd=int(fd_text) if fd_text else 0)


def heredocs_in_line(line: str) -> list[Heredoc]:
    """Every heredoc opened on an instruction line, in order (quoted `"<<EOF"` words do not count)."""
    lex = ShellLex("\\", raw_quotes=True, raw_escapes=True, skip_unset=True)
    try:
        words = lex.words(line, {})
    except Invalid:  # docker ignores lexing errors here; the instruction's own parsing reports them
        return []
    docs = []
    for word in words:
        doc = parse_heredoc(word)
        if doc is not None:
            docs.append(doc)
    return docs
