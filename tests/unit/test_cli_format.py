from datetime import UTC, datetime, timedelta

import pytest

from tug.cli.format import ellipsis, human_duration, human_size, table
from tug.engine.humanize import ago


@pytest.mark.parametrize("size,text", [(0, "0B"), (999, "999B"), (1000, "1kB"), (123456, "123kB"),
                                       (4261000, "4.26MB"), (1130000000, "1.13GB"), (7_800_000, "7.8MB")])
def test_human_size(size, text):
    assert human_size(size) == text


@pytest.mark.parametrize("secs,text", [(0.5, "Less than a second"), (1, "1 second"), (7, "7 seconds"),
                                       (60, "About a minute"), (125, "2 minutes"), (3600, "About an hour"),
                                       (3 * 3600, "3 hours"), (3 * 86400, "3 days"), (20 * 86400, "2 weeks"),
                                       (100 * 86400, "3 months"), (800 * 86400, "2 years")])
def test_human_duration(secs, text):
    assert human_duration(secs) == text


def test_ago_parses_go_nanoseconds():
    now = datetime(2026, 1, 1, tzinfo=UTC)
    t = (now - timedelta(seconds=12)).strftime("%Y-%m-%dT%H:%M:%S") + ".123456789Z"
    assert ago(t, now) == "11 seconds ago" or ago(t, now) == "12 seconds ago"


def test_table_like_docker():
    out = table([["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"],
                 ["busybox", "latest", "0123456789ab", "2 years ago", "4.26MB"]])
    assert out.splitlines()[0] == "REPOSITORY   TAG       IMAGE ID       CREATED       SIZE"
    assert out.splitlines()[1] == "busybox      latest    0123456789ab   2 years ago   4.26MB"


def test_ellipsis():
    assert ellipsis("/home/user/entrypoint.sh", 20) == "/home/user/entrypoi…"
