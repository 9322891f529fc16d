"""Published ports: docker's `-p [HOST_IP:][HOST_PORT:]CONTAINER_PORT[/PROTO]` grammar, ranges, and how they print.

Pure: parsing gives `PortRequest`s (a host port 0 means "pick one"); the engine turns them into `PortMapping`s once
it chose the free host ports, and `format_mapping` prints them the way `docker ps` and `docker port` do.
"""

from __future__ import annotations

import ipaddress

from tug.errors import Invalid
from tug.records import record

PROTOCOLS = ("tcp", "udp", "sctp")
EPHEMERAL = (49153, 60999)  # where random host ports come from (docker's default range)


@record(frozen=True)
class PortRequest:
    host_ip: str  # "" = every address (0.0.0.0)
    host_ports: tuple[int, int]  # (0, 0) = any free port; (a, b) = one from that range
    container_port: int
    proto: str


@record(frozen=True)
class PortMapping:
    host_ip: str  # "" = every address
    host_port: int
    container_port: int
    proto: str

    def to_json(self) -> dict[str, object]:
        return {"HostIp": self.host_ip, "HostPort": self.host_port, "ContainerPort": self.container_port,
                "Proto": self.proto}

    @classmethod
    def from_json(cls, d: dict[str, object]) -> PortMapping:
        return cls(str(d["HostIp"]), int(d["HostPort"]), int(d["ContainerPort"]), str(d["Proto"]))  # type: ignore


def _port_range(text: str, what: str, spec: str) -> tuple[int, int]:
    lo_s, sep, hi_s = text.partition("-")
    try:
        lo = int(lo_s)
        hi = int(hi_s) if sep else lo
    except ValueError:
        raise Invalid(f"invalid {what} port '{text}' in '{spec}'") from None
    if not (0 < lo <= 65535 and 0 < hi <= 65535) or hi < lo:
        raise Invalid(f"invalid {what} port range '{text}' in '{spec}'")
    return lo, hi


def _split_ip(spec: str) -> tuple[str, str]:
    """Take a leading `[v6]:` or `v4:` host IP off a publish spec."""
    if spec.startswith("["):
        end = spec.find("]")
        if end < 0 or spec[end + 1:end + 2] != ":":
            raise Invalid(f"invalid IP address in '{spec}'")
        return spec[1:end], spec[end + 2:]
    parts = spec.split(":")
    if len(parts) == 3:
        return parts[0], f"{parts[1]}:{parts[2]}"
    if len(parts) > 3:
        raise Invalid(f"invalid publish specification '{spec}'")
    return "", spec


def parse_publish(spec: str) -> list[PortRequest]:
    """One `-p` value as one request per container port."""
    body, _, proto = spec.partition("/")
    proto = proto.lower() or "tcp"
    if proto not in PROTOCOLS:
        raise Invalid(f"invalid proto '{proto}' in '{spec}'")
    host_ip, ports = _split_ip(body)
    if host_ip:
        try:
            host_ip = str(ipaddress.ip_address(host_ip))
        except ValueError:
            raise Invalid(f"invalid IP address '{host_ip}' in '{spec}'") from None
        if host_ip in ("0.0.0.0", "::"):
            host_ip = ""
    host_part, sep, ctr_part = ports.rpartition(":")
    if not ctr_part:
        raise Invalid(f"no port specified: '{spec}'")
    c_lo, c_hi = _port_range(ctr_part, "container", spec)
    if not sep or not host_part:
        return [PortRequest(host_ip, (0, 0), p, proto) for p in range(c_lo, c_hi + 1)]
    h_lo, h_hi = _port_range(host_part, "host", spec)
    if c_lo == c_hi:
        return [PortRequest(host_ip, (h_lo, h_hi), c_lo, proto)]
    if h_hi - h_lo != c_hi - c_lo:
        raise Invalid(f"invalid ranges specified for container and host ports: '{spec}'")
    return [PortRequest(host_ip, (h_lo + i, h_lo + i), c_lo + i, proto) for i in range(c_hi - c_lo + 1)]


def parse_exposed(spec: str) -> tuple[int, int, str]:
    """`--expose 80`, `80/udp`, `8000-8010/tcp` or an image's ExposedPorts key as (low, high, proto)."""
    body, _, proto = spec.partition("/")
    proto = proto.lower() or "tcp"
    if proto not in PROTOCOLS:
        raise Invalid(f"invalid proto '{proto}' in '{spec}'")
    lo, hi = _port_range(body, "exposed", spec)
    return lo, hi, proto


def requests_for(publish: list[str], publish_all: bool, exposed: list[str]) -> list[PortRequest]:
    """All -p values, plus with -P every exposed port not already published, on a random host port."""
    reqs = [r for spec in publish for r in parse_publish(spec)]
    if publish_all:
        done = {(r.container_port, r.proto) for r in reqs}
        for spec in exposed:
            lo, hi, proto = parse_exposed(spec)
            for p in range(lo, hi + 1):
                if (p, proto) not in done:
                    done.add((p, proto))
                    reqs.append(PortRequest("", (0, 0), p, proto))
    return reqs


def choose_host_port(req: PortRequest, taken: set[tuple[str, int, str]], is_free) -> int:  # noqa: ANN001
    """The host port for a request: its own if fixed, else the first in its range (or the ephemeral range) that
    no other mapping holds on an overlapping address and `is_free(ip, port, proto)` accepts."""
    lo, hi = req.host_ports if req.host_ports != (0, 0) else EPHEMERAL

    def clash(port: int) -> bool:
        return any(p == port and pr == req.proto and (not ip or not req.host_ip or ip == req.host_ip)
                   for ip, p, pr in taken)

    for port in range(lo, hi + 1):
        if not clash(port) and (req.host_ports[0] == req.host_ports[1] != 0 or is_free(req.host_ip, port, req.proto)):
            return port
    shown = req.host_ip or "0.0.0.0"
    if lo == hi:
        raise Invalid(f"Bind for {shown}:{lo} failed: port is already allocated")
    raise Invalid(f"no free host port in {lo}-{hi} for {req.container_port}/{req.proto} on {shown}")


def _host(ip: str) -> str:
    if not ip:
        return "0.0.0.0"
    return f"[{ip}]" if ":" in ip else ip


def format_mapping(m: PortMapping) -> str:
    """`0.0.0.0:8080->80/tcp`, as `docker ps` prints one published port."""
    return f"{_host(m.host_ip)}:{m.host_port}->{m.container_port}/{m.proto}"


def format_ports(mappings: list[PortMapping], exposed: list[str] = ()) -> str:  # type: ignore[assignment]
    """The PORTS column: published ports (consecutive runs folded into ranges), then exposed-only ones."""
    ms = sorted(mappings, key=lambda m: (m.proto, m.host_ip, m.container_port))
    out: list[str] = []
    i = 0
    while i < len(ms):
        j = i
        while (j + 1 < len(ms) and ms[j + 1].proto == ms[i].proto and ms[j + 1].host_ip == ms[i].host_ip
               and ms[j + 1].container_port == ms[j].container_port + 1 and ms[j + 1].host_port == ms[j].host_port + 1):
            j += 1
        a, b = ms[i], ms[j]
        if i == j:
            out.append(format_mapping(a))
        else:
            out.append(f"{_host(a.host_ip)}:{a.host_port}-{b.host_port}->{a.container_port}-{b.container_port}/"
                       f"{a.proto}")
        i = j + 1
    published = {(m.container_port, m.proto) for m in mappings}
    for spec in exposed:
        lo, hi, proto = parse_exposed(spec)
        if not any((p, proto) in published for p in range(lo, hi + 1)):
            out.append(f"{lo}/{proto}" if lo == hi else f"{lo}-{hi}/{proto}")
    return ", ".join(out)


def format_port_lines(mappings: list[PortMapping]) -> list[str]:
    """`docker port` lines: `80/tcp -> 0.0.0.0:8080`."""
    ms = sorted(mappings, key=lambda m: (m.container_port, m.proto, m.host_ip))
    return [f"{m.container_port}/{m.proto} -> {_host(m.host_ip)}:{m.host_port}" for m in ms]


def port_free(host_ip: str, port: int, proto: str) -> bool:
    """Whether no socket of the host holds `port` on `host_ip` (all addresses when empty) now."""
    import socket

    kind = socket.SOCK_DGRAM if proto == "udp" else socket.SOCK_STREAM
    family = socket.AF_INET6 if ":" in host_ip else socket.AF_INET
    s = socket.socket(family, kind)
    try:
        s.bind((host_ip or "0.0.0.0", port))
    except OSError:
        return False
    finally:
        s.close()
    return True
