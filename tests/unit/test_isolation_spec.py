"""Pure parts of issue 7: block I/O throttles, cgroup parents, the stats arithmetic and formatting."""

from __future__ import annotations

import pytest

from tug.engine.isolation import cgroups_path
from tug.engine.stats import Sample, binary_size, net_dev, row
from tug.errors import Invalid
from tug.spec.options import RunOptions
from tug.spec.resources import build_resources, throttle_devices

DEV = {"/dev/vda": ("b", 254, 0, 0o660, 0, 6), "/dev/null": ("c", 1, 3, 0o666, 0, 0)}


def test_throttles_to_block_io():
    o = RunOptions(device_read_bps=["/dev/vda:1mb"], device_write_iops=["/dev/vda:100"], blkio_weight=300)
    res = build_resources(o, 2, [], DEV)
    assert res["blockIO"] == {"weight": 300, "throttleReadBpsDevice": [{"major": 254, "minor": 0, "rate": 1 << 20}],
                              "throttleWriteIOPSDevice": [{"major": 254, "minor": 0, "rate": 100}]}


@pytest.mark.parametrize("flag,value", [("device_read_bps", "/dev/null:1mb"), ("device_write_bps", "vda:1mb"),
                                        ("device_read_iops", "/dev/vda:x"), ("device_read_bps", "/dev/sdz:1m"),
                                        ("device_write_iops", "/dev/vda")])
def test_bad_throttles(flag, value):
    with pytest.raises(Invalid):
        throttle_devices(RunOptions(**{flag: [value]}), DEV)


def test_cgroup_parent():
    assert cgroups_path(RunOptions(), "abc") == "/tug/abc"
    assert cgroups_path(RunOptions(), "abc", "/tugs1/") == "/tugs1/abc"  # $TUG_CGROUP_PARENT
    assert cgroups_path(RunOptions(cgroup_parent="/mine/"), "abc") == "/mine/abc"
    assert cgroups_path(RunOptions(cgroup_parent="rel"), "abc") == "rel/abc"
    assert cgroups_path(RunOptions(cgroup_parent="my.slice"), "abc") == "my.slice:tug:abc"
    with pytest.raises(Invalid):
        cgroups_path(RunOptions(cgroup_parent="/a/../b"), "abc")


def test_net_dev_sums_all_but_loopback():
    text = ("Inter-|   Receive |  Transmit\n face |bytes packets errs drop fifo frame compressed multicast|bytes\n"
            "    lo:  500 5 0 0 0 0 0 0  500 5 0 0 0 0 0 0\n"
            "  eth0: 1200 3 0 0 0 0 0 0  300 2 0 0 0 0 0 0\n"
            "  eth1:   34 1 0 0 0 0 0 0    6 1 0 0 0 0 0 0\n")
    assert net_dev(text) == (1234, 306)


def test_binary_size_like_go_units():
    assert binary_size(0) == "0B" and binary_size(1536) == "1.5KiB" and binary_size(64 << 20) == "64MiB"
    assert binary_size(1577058) == "1.504MiB"


class _Ctr:
    id = "a" * 64
    name = "/web"


def test_row_cpu_percent_and_memory():
    before = Sample(_Ctr(), 10.0, 1_000_000_000, 0, 0, (0, 0), (0, 0), 0)
    now = Sample(_Ctr(), 12.0, 2_000_000_000, 32 << 20, 64 << 20, (1200, 0), (4096, 0), 3)
    r = row(_Ctr(), before, now)
    assert r["CPUPerc"] == "50.00%" and r["MemUsage"] == "32MiB / 64MiB" and r["MemPerc"] == "50.00%"
    assert r["NetIO"] == "1.2kB / 0B" and r["BlockIO"] == "4.1kB / 0B" and r["PIDs"] == "3"
    assert r["Name"] == "web" and r["ID"] == "a" * 12
    assert row(_Ctr(), None, None)["CPUPerc"] == "--"
