"""The runtime <-> init channel's parent words: read exactly, in order; anything else ends the init."""

from __future__ import annotations

import os

from tug.runtime import sync


def test_words_written_together_are_read_one_at_a_time():
    r, w = os.pipe()
    try:
        os.write(w, b"cggo")
        sync.wait_for(r, b"cg")
        sync.wait_go(r)
    finally:
        os.close(r)
        os.close(w)


def _child_code(data: bytes, token: bytes) -> int:
    r, w = os.pipe()
    os.write(w, data)
    os.close(w)
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child exits inside wait_for or right after
        sync.wait_for(r, token)
        os._exit(0)
    os.close(r)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def test_a_wrong_word_or_eof_ends_the_init_with_125():
    assert _child_code(b"cg", b"cg") == 0
    assert _child_code(b"go", b"cg") == 125
    assert _child_code(b"c", b"cg") == 125  # the parent went away mid-word
    assert _child_code(b"", b"go") == 125
