"""The v1 <-> v2 arithmetic, as tables."""

from __future__ import annotations

import pytest

from tug.cgroups.convert import blkio_weight_to_io_weight, shares_to_weight, swap_for_v2, v2_cpu_max, weight_to_shares
from tug.cgroups.stats import parse_blkio_v1, parse_io_stat_v2, parse_keyed, parse_limit
from tug.errors import Invalid


@pytest.mark.parametrize("shares, weight", [
    (0, 0),          # unset stays unset
    (1, 1), (2, 1),  # the floor
    (512, 59),
    (1024, 100),     # docker's default shares land on v2's default weight
    (2048, 174),
    (262144, 10000), (500000, 10000),  # the ceiling
])
def test_shares_to_weight_table(shares, weight):
    assert shares_to_weight(shares) == weight


def test_shares_to_weight_is_monotonic_and_in_range():
    weights = [shares_to_weight(s) for s in range(2, 262145, 97)]
    assert weights == sorted(weights)
    assert min(weights) >= 1 and max(weights) <= 10000


@pytest.mark.parametrize("shares", [2, 100, 512, 1024, 4096, 100000, 262144])
def test_weight_to_shares_inverts_within_rounding(shares):
    back = weight_to_shares(shares_to_weight(shares))
    # weights are whole numbers rounded up, so the round trip lands within one weight step of the original
    assert abs(shares_to_weight(back) - shares_to_weight(shares)) <= 1


def test_default_weight_maps_back_to_default_shares():
    assert weight_to_shares(100) == 1024


def test_weight_to_shares_ends():
    assert weight_to_shares(0) == 0
    assert weight_to_shares(1) == 2
    assert weight_to_shares(10000) == 262144


@pytest.mark.parametrize("blkio, io", [(0, 0), (10, 1), (500, 4950), (1000, 10000)])
def test_blkio_weight_to_io_weight(blkio, io):
    assert blkio_weight_to_io_weight(blkio) == io


@pytest.mark.parametrize("swap, limit, expected", [
    (None, None, None), (0, 1 << 20, None), (None, -1, -1), (-1, 1 << 20, -1),
    (3 << 20, 1 << 20, 2 << 20), (1 << 20, 1 << 20, 0),
])
def test_swap_for_v2(swap, limit, expected):
    assert swap_for_v2(swap, limit) == expected


@pytest.mark.parametrize("swap, limit", [(1 << 20, None), (1 << 20, -1), (1 << 20, 2 << 20)])
def test_swap_for_v2_refuses(swap, limit):
    with pytest.raises(Invalid):
        swap_for_v2(swap, limit)


@pytest.mark.parametrize("quota, period, text", [
    (50000, 100000, "50000 100000"), (None, None, None), (-1, 100000, "max 100000"), (25000, None, "25000"),
    (None, 20000, "max 20000"),
])
def test_v2_cpu_max(quota, period, text):
    assert v2_cpu_max(quota, period) == text


def test_stat_parsers():
    assert parse_keyed("a 1\nb x\nc 3 4\nd 5\n") == {"a": 1, "d": 5}
    assert parse_limit("max\n") is None and parse_limit("9223372036854771712") is None and parse_limit("42") == 42
    assert parse_blkio_v1("8:0 Read 10\n8:0 Write 20\n8:0 Sync 5\nTotal 35\n") == (10, 20)
    assert parse_io_stat_v2("8:0 rbytes=1 wbytes=2 rios=3\n") == (1, 2)
