"""links.default_route_dev: the IPv4 default route's interface read from /proc/net/route, as `ip route` picks it."""

from tug.network.links import default_route_dev

HEADER = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"


def table(*rows: str) -> str:
    return HEADER + "".join(r + "\n" for r in rows)


def test_default_route_with_the_lowest_metric_wins():
    t = table("wlan0\t00000000\t010200C0\t0003\t0\t0\t600\t00000000\t0\t0\t0",
              "eth0\t00000000\t010200C0\t0003\t0\t0\t100\t00000000\t0\t0\t0",
              "tug0\t0000570A\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0")
    assert default_route_dev(t) == "eth0"


def test_no_default_route_or_a_down_one():
    assert default_route_dev(table("tug0\t0000570A\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0")) == ""
    assert default_route_dev(table("eth0\t00000000\t010200C0\t0002\t0\t0\t0\t00000000\t0\t0\t0")) == ""
    assert default_route_dev(HEADER) == "" and default_route_dev("") == ""


def test_a_host_route_to_zero_is_not_a_default():
    assert default_route_dev(table("eth1\t00000000\t00000000\t0001\t0\t0\t0\tFFFFFFFF\t0\t0\t0")) == ""
