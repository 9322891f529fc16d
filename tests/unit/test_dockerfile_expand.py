"""Variable expansion and word splitting, as docker's shell lexer does them (cases learnt from BuildKit's tables)."""

from __future__ import annotations

import pytest

from tug.dockerfile.expand import ExpandError, ShellLex
from tug.errors import Invalid

ENV = {"PWD": "/home", "SHELL": "bash", "KOREAN": "한국어", "NULL": ""}
ERROR = object()

# (word, expected value or ERROR) with ENV above and the backslash escape.
WORD_CASES = [
    ("hello", "hello"),
    ("he'll'o", "hello"),
    ("he'llo", ERROR),
    ("he\\'llo", "he'llo"),
    ("he\\\\'llo", ERROR),
    ("abc\\tdef", "abctdef"),
    ('"abc\\tdef"', "abc\\tdef"),
    ('"abc\\\\tdef"', "abc\\tdef"),
    ("'abc\\tdef'", "abc\\tdef"),
    ("hello\\", "hello"),
    ("hello\\\\", "hello\\"),
    ('"hello', ERROR),
    ('"hello\\"', ERROR),
    ('"hel\'lo"', "hel'lo"),
    ("'hello", ERROR),
    ("'hello\\'", "hello\\"),
    ("'hello\\there'", "hello\\there"),
    ("'hello\\\\there'", "hello\\\\there"),
    ("\"''\"", "''"),
    ("$.", "$."),
    ("he$1x", "hex"),
    ("he$.x", "he$.x"),
    ("he$pwd.", "he."),
    ("he$PWD", "he/home"),
    ("he\\$PWD", "he$PWD"),
    ("he\\\\$PWD", "he\\/home"),
    ('"he\\$PWD"', "he$PWD"),
    ('"he\\\\$PWD"', "he\\/home"),
    ("\\${}", "${}"),
    ("\\${}aaa", "${}aaa"),
    ("he\\${}", "he${}"),
    ("he\\${}xx", "he${}xx"),
    ("${}", ERROR),
    ("${}aaa", ERROR),
    ("he${}", ERROR),
    ("he${}xx", ERROR),
    ("he${hi}", "he"),
    ("he${hi}xx", "hexx"),
    ("he${PWD}", "he/home"),
    ("he${.}", ERROR),
    ("he${XXX:-000}xx", "he000xx"),
    ("he${PWD:-000}xx", "he/homexx"),
    ("he${XXX:-$PWD}xx", "he/homexx"),
    ("he${XXX:-${PWD:-yyy}}xx", "he/homexx"),
    ("he${XXX:-${YYY:-yyy}}xx", "heyyyxx"),
    ("he${XXX:YYY}", ERROR),
    ("he${XXX?}", ERROR),
    ("he${XXX:?}", ERROR),
    ("he${PWD?}", "he/home"),
    ("he${PWD:?}", "he/home"),
    ("he${NULL?}", "he"),
    ("he${NULL:?}", ERROR),
    ("he${XXX:+${PWD}}xx", "hexx"),
    ("he${PWD:+${XXX}}xx", "hexx"),
    ("he${PWD:+${SHELL}}xx", "hebashxx"),
    ("he${XXX:+000}xx", "hexx"),
    ("he${PWD:+000}xx", "he000xx"),
    ("'he${XX}'", "he${XX}"),
    ('"he${PWD}"', "he/home"),
    ("\"he'$PWD'\"", "he'/home'"),
    ('"$PWD"', "/home"),
    ("'$PWD'", "$PWD"),
    ("'\\$PWD'", "\\$PWD"),
    ("'\"hello\"'", '"hello"'),
    ("'he\\$PWD'", "he\\$PWD"),
    ("he${PWD", ERROR),
    ("he${PWD:=000}xx", ERROR),
    ("he${PWD:+${PWD}:}xx", "he/home:xx"),
    ("he${XXX:-\\$PWD:}xx", "he$PWD:xx"),
    ("he${XXX:-\\${PWD}z}xx", "he${PWDz}xx"),
    ("안녕하세요", "안녕하세요"),
    ("안'녕'하세요", "안녕하세요"),
    ("안'녕하세요", ERROR),
    ("안녕$PWD", "안녕/home"),
    ("안녕${XXX:-${YYY:-yyy}}xx", "안녕yyyxx"),
    ("$KOREAN", "한국어"),
    ("안녕$KOREAN", "안녕한국어"),
    ("${{aaa}", ERROR),
    ("${aaa}}", "}"),
    ("${aaa", ERROR),
    ("${{aaa:-bbb}", ERROR),
    ("${aaa:-bbb}}", "bbb}"),
    ("${aaa:-bbb", ERROR),
    ("${aaa:-bbb}", "bbb"),
    ("${aaa:-${bbb:-ccc}}", "ccc"),
    ("${aaa:-bbb ${foo}", ERROR),
    ("${aaa:-bbb {foo}", "bbb {foo"),
    ("${:}", ERROR),
    ("${:-bbb}", ERROR),
    ("${:+bbb}", ERROR),
    # positional and special parameters are never set
    ("$1", ""),
    ("${1}", ""),
    ("${1:+bbb}", ""),
    ("${1:-bbb}", "bbb"),
    ("$999aaa", "aaa"),
    ("${999:-bbb}aaa", "bbbaaa"),
    ("$001aaa", "aaa"),
    ("$@", ""),
    ("$@@@", "@@"),
    ("${@:-bbb}aaa", "bbbaaa"),
    ("$*", ""),
    ("${#:-bbb}", "bbb"),
    ("${?:+bbb}", ""),
    ("$-", ""),
    ("$$", ""),
    ("${$:-bbb}", "bbb"),
    ("$!", ""),
    ("${0:-bbb}", "bbb"),
]


@pytest.mark.parametrize(("word", "expected"), WORD_CASES, ids=[c[0] for c in WORD_CASES])
def test_word(word: str, expected: object) -> None:
    lex = ShellLex("\\")
    if expected is ERROR:
        with pytest.raises(ExpandError):
            lex.word(word, ENV)
    else:
        assert lex.word(word, ENV) == expected


# (word, env, expected) for the modifiers beyond -, +, ?
MODIFIER_CASES = [
    ("${FOO-aaa} ${BAR-bbb} ${BAZ-ccc}", {"FOO": "xxx", "BAR": ""}, "xxx  ccc"),
    ("${FOO:-aaa} ${BAR:-bbb} ${BAZ:-ccc}", {"FOO": "xxx", "BAR": ""}, "xxx bbb ccc"),
    ("${FOO+aaa} ${BAR+bbb} ${BAZ+ccc}", {"FOO": "xxx", "BAR": ""}, "aaa bbb "),
    ("${FOO:+aaa} ${BAR:+bbb} ${BAZ:+ccc}", {"FOO": "xxx", "BAR": ""}, "aaa  "),
    ("${BAR?bbb}", {"BAR": ""}, ""),
    ("${BAZ?ccc}", {}, ERROR),
    ("${BAR:?bbb}", {"BAR": ""}, ERROR),
    ("${FOO=aaa}", {"FOO": "xxx"}, ERROR),
    ("${FOO#()[]{\\}^$.\\*\\?|\\\\}", {"FOO": "()[]{}^$.*?|\\x"}, "x"),
    ("${FOO%%\\**}", {"FOO": "xx**"}, "xx"),
    ("${FOO#*x*y}", {"FOO": "xxyy"}, "y"),
    ("${FOO#*}", {"FOO": "xxyy"}, "xxyy"),
    ("${FOO#$BAR}", {"FOO": "xxyy", "BAR": "x"}, "xyy"),
    ("${FOO##*x}", {"FOO": "xxyy"}, "yy"),
    ("${FOO#?\\?}", {"FOO": "???y"}, "?y"),
    ("${ABC:-.}${FOO%x}${ABC:-.}", {"FOO": "xxyy"}, ".xxyy."),
    ("${FOO%%\\**\\*}", {"FOO": "a***yy*"}, "a"),
    ("${FOO%y}", {"FOO": "xxyy"}, "xxy"),
    ("${FOO%%y*}", {"FOO": "xxyy"}, "xx"),
    ("${FOO:#}", {}, ERROR),
    ("${FOO:%%}", {}, ERROR),
    ("${FOO/$NEEDLE/.} - ${FOO//$NEEDLE/.}", {"FOO": "/foo*/*/*.txt", "NEEDLE": "\\*/"}, "/foo.*/*.txt - /foo..*.txt"),
    ("${FOO/$NEEDLE/} - ${FOO//$NEEDLE/}", {"FOO": "/tmp/tmp/bar.txt", "NEEDLE": "/tmp"}, "/tmp/bar.txt - /bar.txt"),
    ("${FOO/$N/$R} - ${FOO//$N/$R}", {"FOO": "/a/foo/b/c.txt", "N": "/?/", "R": "/"}, "/foo/b/c.txt - /foo/c.txt"),
    ("${FOO//\\//\\/}", {"FOO": "/tmp/foo.txt"}, "\\/tmp\\/foo.txt"),
    ("${FOO/$BAR/ww}", {"FOO": "xxyy", "BAR": ""}, "wwxxyy"),
    ("${FOO//ww}", {"FOO": "xxyy"}, ERROR),
    ("${FOO///}", {"FOO": "xxyy"}, "xxyy"),
    ("${VAR:?message here$ARG}", {"VAR": "plain", "ARG": "x"}, "plain"),
    ("${VAR?message here$ARG}", {"VAR": "", "ARG": "x"}, ""),
    ("something-${V}.${OS}-${ARCH}${VARIANT:+-${VARIANT}}.tgz",
     {"V": "v1", "OS": "linux", "ARCH": "arm", "VARIANT": "v7"}, "something-v1.linux-arm-v7.tgz"),
    ("something-${V}.${OS}-${ARCH}${VARIANT:+-${VARIANT}}.tgz", {"V": "v1", "OS": "linux", "ARCH": "arm64"},
     "something-v1.linux-arm64.tgz"),
]


@pytest.mark.parametrize(("word", "env", "expected"), MODIFIER_CASES, ids=[c[0] for c in MODIFIER_CASES])
def test_modifiers(word: str, env: dict[str, str], expected: object) -> None:
    lex = ShellLex()
    if expected is ERROR:
        with pytest.raises(Invalid):
            lex.word(word, env)
    else:
        assert lex.word(word, env) == expected


def test_required_message_names_variable() -> None:
    with pytest.raises(ExpandError, match="VAR: message herex"):
        ShellLex().word("${VAR:?message here$ARG}", {"VAR": "", "ARG": "x"})


# Word splitting: (env lines, word, expected words)
WORDS_CASES = [
    ({}, "hello", ["hello"]),
    ({}, "hello${hi}bye", ["hellobye"]),
    ({"hi": "hi"}, "hello${hi}bye", ["hellohibye"]),
    ({"space": "abc  def"}, "hello${space}bye", ["helloabc", "defbye"]),
    ({"space": "abc  def"}, 'hello"${space}"bye', ["helloabc  defbye"]),
    ({"space": "abc  def"}, 'hello "${space}"bye', ["hello", "abc  defbye"]),
    ({"leading": "  ab c"}, "hello${leading}def", ["hello", "ab", "cdef"]),
    ({"leading": "  ab c"}, 'hello"${leading}" def', ["hello  ab c", "def"]),
    ({"leading": "  ab c"}, "hello${leading}", ["hello", "ab", "c"]),
    ({"trailing": "ab c   "}, "hello${trailing}", ["helloab", "c"]),
    ({"trailing": "ab c   "}, "hello${trailing}d", ["helloab", "c", "d"]),
    ({"trailing": "ab c   "}, 'hello"${trailing}"d', ["helloab c   d"]),
    ({"trailing": "ab c   "}, 'hel"lo${trailing}"', ["helloab c   "]),
    ({}, 'hello" there  "', ["hello there  "]),
    ({}, "hello there     ", ["hello", "there"]),
    ({}, "hello\\ there", ["hello there"]),
    ({}, 'hello\\" there', ['hello"', "there"]),
    ({}, 'hello"\\\\there"', ["hello\\there"]),
    ({}, 'hello"\\there"', ["hello\\there"]),
    ({}, "hello'\\\\there'", ["hello\\\\there"]),
    ({}, "hello'$there'", ["hello$there"]),
    ({"PORTS": "80 443/udp"}, "$PORTS", ["80", "443/udp"]),
    ({}, "<<  EOF  > foo", ["<<  EOF", ">", "foo"]),
]


@pytest.mark.parametrize(("env", "word", "expected"), WORDS_CASES, ids=[c[1] for c in WORDS_CASES])
def test_words(env: dict[str, str], word: str, expected: list[str]) -> None:
    assert ShellLex().words(word, env) == expected


def test_words_unbalanced_quote_is_an_error() -> None:
    with pytest.raises(ExpandError, match="double-quote"):
        ShellLex().words('hello" there', {})


# The backtick escape (`# escape=\``): backslashes are ordinary characters.
BACKTICK_CASES = [
    ("C:\\path\\$X", "C:\\path\\1"),
    ("a`$X", "a$X"),
    ('"a`"b"', 'a"b'),
    ("`$X`", "$X"),
]


@pytest.mark.parametrize(("word", "expected"), BACKTICK_CASES)
def test_backtick_escape(word: str, expected: str) -> None:
    assert ShellLex("`").word(word, {"X": "1"}) == expected


def test_skip_unset_and_raw_quotes_keep_text() -> None:
    lex = ShellLex(raw_quotes=True, skip_unset=True)
    assert lex.word("a $X ${Y} ${Z:-d} 'q' \"$SET\"", {"SET": "s"}) == "a $X ${Y} ${Z:-d} 'q' \"s\""


def test_matches_are_reported() -> None:
    result = ShellLex().process("${FOO:-x} $BAR", {"FOO": "1"})
    assert result.value == "1 "
    assert result.matched == {"FOO"}
    assert result.unmatched == {"BAR"}
