"""From logical lines to syntax nodes: keyword, `--flags`, and arguments split the way each instruction wants.

Per instruction (docker's rules): RUN, CMD, ENTRYPOINT and SHELL take a JSON array (exec form) or the rest of the line
(shell form); a line that starts with `[` but is not valid JSON falls back to shell form, while a JSON array holding
non-strings is an error. COPY, ADD and VOLUME take a JSON array or whitespace-separated words. ENV and LABEL take
`k=v` words (quotes kept for the expander) or the legacy `KEY value with spaces`. ARG takes `name[=value]` words.
FROM and EXPOSE take whitespace-separated words; USER, WORKDIR, STOPSIGNAL and MAINTAINER the rest of the line.
HEALTHCHECK takes a type word and a command; ONBUILD takes a whole nested instruction.
"""

from __future__ import annotations

import json
import re

from tug.dockerfile.heredoc import Heredoc, heredocs_in_line
from tug.dockerfile.lexer import DockerfileError, Lexer, LogicalLine
from tug.errors import Invalid
from tug.records import field, record

_WHITESPACE = re.compile(r"[\t\v\f\r ]+")
HEREDOC_KEYWORDS = frozenset({"run", "copy", "add"})


class NotStringArray(ValueError):
    pass


@record
class Node:
    """One parsed instruction before it is typed."""

    keyword: str  # as written, e.g. "run" or "RUN"
    flags: list[str]
    args: list[str]
    original: str
    start: int = 0
    end: int = 0
    json: bool = False
    child: Node | None = None  # the trigger of an ONBUILD
    heredocs: list[Heredoc] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)

    @property
    def command(self) -> str:
        return self.keyword.lower()


def extract_flags(line: str, escape: str) -> tuple[str, list[str]]:
    """Leading `--flag[=value]` words of an instruction's arguments, and the rest. `--` ends the flags."""
    words: list[str] = []
    buf: list[str] = []
    quote = ""
    phase = "space"
    blank_ok = False
    pos = 0
    n = len(line)
    while pos <= n:
        ch = line[pos] if pos < n else ""
        if phase == "space":
            if pos == n:
                break
            if ch.isspace():
                pos += 1
                continue
            if ch != "-" or pos + 1 == n or line[pos + 1] != "-":
                return line[pos:], words
            phase = "word"
        if pos == n:
            word = "".join(buf)
            if word != "--" and (blank_ok or word):
                words.append(word)
            break
        if phase == "word":
            if ch.isspace():
                word = "".join(buf)
                phase = "space"
                if word == "--":
                    return line[pos:], words
                if blank_ok or word:
                    words.append(word)
                buf = []
                blank_ok = False
            elif ch in "'\"":
                quote, blank_ok, phase = ch, True, "quote"
            else:
                if ch == escape:
                    if pos + 1 == n:
                        pos += 1
                        continue
                    pos += 1
                    ch = line[pos]
                buf.append(ch)
        else:  # inside quotes
            if ch == quote:
                phase = "word"
            else:
                if ch == escape:
                    if pos + 1 == n:
                        phase = "word"
                        pos += 1
                        continue
                    pos += 1
                    ch = line[pos]
                buf.append(ch)
        pos += 1
    return "", words


def split_words(rest: str, escape: str) -> list[str]:
    """Words separated by unquoted whitespace; quotes and escapes stay in the words for the expander."""
    words: list[str] = []
    buf: list[str] = []
    phase = "space"
    quote = ""
    blank_ok = False
    pos = 0
    n = len(rest)
    while pos <= n:
        ch = rest[pos] if pos < n else ""
        if phase == "space":
            if pos == n:
                break
            if ch.isspace():
                pos += 1
                continue
            phase = "word"
        if pos == n:
            if blank_ok or buf:
                words.append("".join(buf))
            break
        if phase == "word":
            if ch.isspace():
                phase = "space"
                if blank_ok or buf:
                    words.append("".join(buf))
                buf = []
                blank_ok = False
                pos += 1
                continue
            if ch in "'\"":
                quote, blank_ok, phase = ch, True, "quote"
            if ch == escape:
                if pos + 1 == n:
                    pos += 1
                    continue
                buf.append(ch)
                pos += 1
                ch = rest[pos]
            buf.append(ch)
        else:
            if ch == quote:
                phase = "word"
            if ch == escape and quote != "'":
                if pos + 1 == n:
                    phase = "word"
                    pos += 1
                    continue
                buf.append(ch)
                pos += 1
                ch = rest[pos]
            buf.append(ch)
        pos += 1
    return words


def parse_json_array(rest: str) -> list[str] | None:
    """The strings of a JSON array, or None when `rest` is not one. Raises NotStringArray for `["a", 1]`."""
    rest = rest.lstrip()
    if not rest.startswith("["):
        return None
    try:
        value = json.loads(rest)
    except ValueError:
        return None
    if not isinstance(value, list):
        return None
    if not all(isinstance(v, str) for v in value):
        raise NotStringArray("when using JSON array syntax, arrays must be comprised of strings only")
    return value


def _maybe_json(rest: str) -> tuple[list[str], bool]:
    if rest == "":
        return [], False
    arr = parse_json_array(rest)
    if arr is not None:
        return arr, True
    return [rest], False


def _maybe_json_list(rest: str) -> tuple[list[str], bool]:
    arr = parse_json_array(rest)
    if arr is not None:
        return arr, True
    return _whitespace_list(rest), False


def _whitespace_list(rest: str) -> list[str]:
    return _WHITESPACE.split(rest) if rest else []


def _name_values(rest: str, keyword: str, escape: str) -> list[str]:
    """ENV/LABEL arguments as (key, value, separator) triples flattened; separator "" marks the legacy form."""
    words = split_words(rest, escape)
    if not words:
        return []
    if "=" not in words[0]:
        parts = _WHITESPACE.split(rest, maxsplit=1)
        if len(parts) < 2:
            raise ValueError(f"{keyword} must have two arguments")
        return [parts[0], parts[1], ""]
    out: list[str] = []
    for word in words:
        if "=" not in word:
            raise ValueError(f'Syntax error - can\'t find = in "{word}". Must be of the form: name=value')
        key, value = word.split("=", 1)
        out += [key, value, "="]
    return out


def _health(rest: str) -> tuple[list[str], bool]:
    sep = 0
    while sep < len(rest) and not rest[sep].isspace():
        sep += 1
    if sep == 0:
        return [], False
    nxt = sep
    while nxt < len(rest) and rest[nxt].isspace():
        nxt += 1
    cmd, is_json = _maybe_json(rest[nxt:])
    return [rest[:sep], *cmd], is_json


def node_from_line(line: str, escape: str) -> Node:
    """Parse one logical line (no location yet). Raises ValueError with docker's message on a syntax error."""
    parts = _WHITESPACE.split(line.strip(), maxsplit=1)
    keyword = parts[0]
    rest, flags = extract_flags(parts[1], escape) if len(parts) == 2 else ("", [])
    rest = rest.strip()
    node = Node(keyword=keyword, flags=flags, args=[], original=line)
    cmd = keyword.lower()
    try:
        if cmd in ("run", "cmd", "entrypoint", "shell"):
            node.args, node.json = _maybe_json(rest)
        elif cmd in ("add", "copy", "volume"):
            node.args, node.json = _maybe_json_list(rest)
        elif cmd in ("env", "label"):
            node.args = _name_values(rest, "LABEL" if cmd == "label" else "ENV", escape)
        elif cmd == "arg":
            node.args = split_words(rest, escape)
        elif cmd in ("expose", "from"):
            node.args = _whitespace_list(rest)
        elif cmd in ("maintainer", "stopsignal", "user", "workdir"):
            node.args = [rest] if rest else []
        elif cmd == "healthcheck":
            node.args, node.json = _health(rest)
        elif cmd == "onbuild" and rest:
            node.child = node_from_line(rest, escape)
            node.args = [node.child.keyword, *node.child.args]
    except NotStringArray as err:
        raise ValueError(str(err)) from None
    return node


def _heredoc_target(node: Node) -> Node:
    return node.child if node.command == "onbuild" and node.child is not None else node


def parse_nodes(text: str, filename: str = "Dockerfile") -> tuple[list[Node], Lexer]:
    """All instruction nodes of a Dockerfile, with their lines and heredoc bodies. The Lexer keeps the directives."""
    lexer = Lexer(text, filename)
    nodes: list[Node] = []
    for logical in lexer:
        nodes.append(_node(lexer, logical))
    if not nodes:
        raise DockerfileError(filename, max(lexer.line_no, 1), "file with no instructions")
    return nodes, lexer


def _node(lexer: Lexer, logical: LogicalLine) -> Node:
    try:
        node = node_from_line(logical.text, lexer.escape)
    except ValueError as err:
        raise lexer.error(logical.start, str(err)) from None
    node.start, node.end, node.comments = logical.start, logical.end, logical.comments
    target = _heredoc_target(node)
    if target.command in HEREDOC_KEYWORDS and not target.json and "<<" in logical.text:
        try:
            docs = heredocs_in_line(logical.text)
        except Invalid as err:
            raise lexer.error(logical.start, err.message) from None
        for doc in docs:
            node.heredocs.append(lexer.read_heredoc(doc, logical.start))
        node.end = lexer.line_no
        if target is not node:
            target.heredocs = node.heredocs
    return node
