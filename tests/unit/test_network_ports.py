"""Publish specs, host port choice and docker's PORTS formatting (pure)."""

from __future__ import annotations

import pytest

from tug.errors import Invalid
from tug.network.ports import (
    PortMapping,
    PortRequest,
    choose_host_port,
    format_mapping,
    format_port_lines,
    format_ports,
    parse_publish,
    requests_for,
)


@pytest.mark.parametrize("spec, expected", [
    ("80", [PortRequest("", (0, 0), 80, "tcp")]),
    ("8080:80", [PortRequest("", (8080, 8080), 80, "tcp")]),
    ("127.0.0.1:8080:80", [PortRequest("127.0.0.1", (8080, 8080), 80, "tcp")]),
    ("127.0.0.1::80/udp", [PortRequest("127.0.0.1", (0, 0), 80, "udp")]),
    ("0.0.0.0:53:53/UDP", [PortRequest("", (53, 53), 53, "udp")]),
    ("[::1]:8080:80", [PortRequest("::1", (8080, 8080), 80, "tcp")]),
    ("8000-8001:80-81", [PortRequest("", (8000, 8000), 80, "tcp"), PortRequest("", (8001, 8001), 81, "tcp")]),
    ("8000-8010:80", [PortRequest("", (8000, 8010), 80, "tcp")]),
    ("80-81", [PortRequest("", (0, 0), 80, "tcp"), PortRequest("", (0, 0), 81, "tcp")]),
    ("9000:80/sctp", [PortRequest("", (9000, 9000), 80, "sctp")]),
])
def test_parse_publish(spec, expected):
    assert parse_publish(spec) == expected


@pytest.mark.parametrize("spec", ["", "80/icmp", "abc", "0", "70000", "8000-8002:80-81", "1.2.3.4.5:80:80",
                                  "90-80", "a:b:c:d", "[::1:80:80", "999.1.1.1:80:80", "8080:"])
def test_parse_publish_rejects(spec):
    with pytest.raises(Invalid):
        parse_publish(spec)


def test_publish_all_adds_exposed_ports_not_published():
    reqs = requests_for(["8080:80"], True, ["80/tcp", "443/tcp", "53/udp", "7000-7001/tcp"])
    assert [(r.container_port, r.proto, r.host_ports) for r in reqs] == [
        (80, "tcp", (8080, 8080)), (443, "tcp", (0, 0)), (53, "udp", (0, 0)), (7000, "tcp", (0, 0)),
        (7001, "tcp", (0, 0))]
    assert requests_for([], False, ["80/tcp"]) == []


def test_choose_host_port_fixed_random_and_conflicts():
    free = lambda ip, port, proto: True  # noqa: E731
    fixed = PortRequest("", (8080, 8080), 80, "tcp")
    assert choose_host_port(fixed, set(), free) == 8080
    with pytest.raises(Invalid, match="already allocated"):
        choose_host_port(fixed, {("127.0.0.1", 8080, "tcp")}, free)
    # another protocol or another specific address does not clash
    assert choose_host_port(fixed, {("", 8080, "udp")}, free) == 8080
    local = PortRequest("127.0.0.1", (8080, 8080), 80, "tcp")
    assert choose_host_port(local, {("127.0.0.2", 8080, "tcp")}, free) == 8080
    rnd = PortRequest("", (0, 0), 80, "tcp")
    assert choose_host_port(rnd, {("", 49153, "tcp")}, free) == 49154
    busy = {49153, 49154, 49155}
    assert choose_host_port(rnd, set(), lambda ip, port, proto: port not in busy) == 49156
    ranged = PortRequest("", (8000, 8001), 80, "tcp")
    assert choose_host_port(ranged, {("", 8000, "tcp")}, free) == 8001
    with pytest.raises(Invalid, match="no free host port"):
        choose_host_port(ranged, {("", 8000, "tcp"), ("", 8001, "tcp")}, free)


def test_formatting_as_docker_prints():
    assert format_mapping(PortMapping("", 8080, 80, "tcp")) == "0.0.0.0:8080->80/tcp"
    assert format_mapping(PortMapping("127.0.0.1", 8080, 80, "udp")) == "127.0.0.1:8080->80/udp"
    assert format_mapping(PortMapping("::1", 8080, 80, "tcp")) == "[::1]:8080->80/tcp"
    ms = [PortMapping("", 8001, 81, "tcp"), PortMapping("", 8000, 80, "tcp"), PortMapping("127.0.0.1", 9000, 90, "tcp")]
    assert format_ports(ms, ["80/tcp", "443/tcp"]) == "0.0.0.0:8000-8001->80-81/tcp, 127.0.0.1:9000->90/tcp, 443/tcp"
    assert format_port_lines(ms) == ["80/tcp -> 0.0.0.0:8000", "81/tcp -> 0.0.0.0:8001", "90/tcp -> 127.0.0.1:9000"]
    assert PortMapping.from_json(ms[0].to_json()) == ms[0]
