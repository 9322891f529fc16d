import email.utils

import pytest

from tug.registry.challenge import Challenge, parse_retry_after, parse_www_authenticate

CASES = [
    ('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
     'scope="repository:library/busybox:pull"',
     [Challenge("bearer", {"realm": "https://auth.docker.io/token", "service": "registry.docker.io",
                           "scope": "repository:library/busybox:pull"})]),
    ('Basic realm="Registry Realm"', [Challenge("basic", {"realm": "Registry Realm"})]),
    ('basic realm=registry', [Challenge("basic", {"realm": "registry"})]),
    ('BEARER Realm="https://a/t", Service="s"', [Challenge("bearer", {"realm": "https://a/t", "service": "s"})]),
    ('Bearer realm="https://a/t",service="s",scope="repository:a:pull repository:b:pull",error="insufficient_scope"',
     [Challenge("bearer", {"realm": "https://a/t", "service": "s", "scope": "repository:a:pull repository:b:pull",
                           "error": "insufficient_scope"})]),
    ('Basic realm="x", Bearer realm="https://y/t",service="y"',
     [Challenge("basic", {"realm": "x"}), Challenge("bearer", {"realm": "https://y/t", "service": "y"})]),
    ('Bearer realm="a \\"quoted\\" realm, with comma"',
     [Challenge("bearer", {"realm": 'a "quoted" realm, with comma'})]),
    ('Bearer  realm = "https://a/t" ,  service = "s"', [Challenge("bearer", {"realm": "https://a/t", "service": "s"})]),
    ("Bearer", [Challenge("bearer", {})]),
    ("", []),
    ('realm="orphan"', []),
    ('Bearer realm="unterminated', [Challenge("bearer", {"realm": "unterminated"})]),
]


@pytest.mark.parametrize("header,expect", CASES)
def test_www_authenticate(header, expect):
    assert parse_www_authenticate(header) == expect


def test_challenge_accessors():
    c = parse_www_authenticate('Bearer realm="r",service="s",scope="a b"')[0]
    assert (c.realm, c.service, c.scopes) == ("r", "s", ["a", "b"])


@pytest.mark.parametrize("value,expect", [
    ("0", 0.0), ("7", 7.0), (" 120 ", 120.0), (None, None), ("", None), ("-3", None), ("soon", None),
    ("1.5", None),
])
def test_retry_after_seconds(value, expect):
    assert parse_retry_after(value) == expect


def test_retry_after_http_date():
    now = 1_700_000_000.0
    assert parse_retry_after(email.utils.formatdate(now + 90, usegmt=True), now=now) == pytest.approx(90)
    assert parse_retry_after(email.utils.formatdate(now - 90, usegmt=True), now=now) == 0.0
