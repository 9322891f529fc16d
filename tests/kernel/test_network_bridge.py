"""Bridge networking on the real kernel: names between containers, --internal, 127.0.0.1 publishing, 20 concurrent
starts. Each test runs tug on its own bridge and nft table (tugt<random>), so a real `tug0` is never touched; the
only traffic is on those bridges, inside container namespaces and in one namespace the tests create."""

from __future__ import annotations

import json
import socket
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from network_helpers import NetTug, OwnNetns, cleanup_network_objects, host_snapshot, unique, wait_for

pytestmark = pytest.mark.timeout(240)


@pytest.fixture(scope="module")
def host_state():
    before = host_snapshot()
    with open("/proc/sys/net/ipv4/ip_forward") as f:
        forward = f.read()
    yield
    with open("/proc/sys/net/ipv4/ip_forward", "w") as f:
        f.write(forward)
    after = host_snapshot()
    assert after == before, "host routes or non-tug nftables rules changed"
    links = subprocess.run(["ip", "-j", "link"], capture_output=True, text=True).stdout
    assert '"tugt' not in links, "a test bridge or veth was left behind"


@pytest.fixture
def ntug(tmp_path, busybox_tar, host_state):
    prefix = unique()
    t = NetTug(tmp_path / "root", tmp_path / "run", {"TUG_BRIDGE": prefix, "TUG_NFT_TABLE": prefix})
    t.prefix = prefix  # type: ignore[attr-defined]
    assert t("import", "--change", 'CMD ["sh"]', str(busybox_tar), "busybox:latest").returncode == 0
    try:
        yield t
    finally:
        cleanup_network_objects(t, prefix)


def _ip(t: NetTug, name: str, net: str | None = None) -> str:
    doc = json.loads(t("inspect", name, check=True).stdout)[0]
    nets = doc["NetworkSettings"]["Networks"]
    return nets[net]["IPAddress"] if net else doc["NetworkSettings"]["IPAddress"]


def _echo_server(t: NetTug, name: str, net: str, *extra: str) -> None:
    t("run", "-d", "--name", name, "--network", net, *extra, "busybox", "nc", "-ll", "-p", "5000", "-e", "cat",
      check=True)


def test_user_network_names_and_aliases(ntug):
    net = ntug.prefix + "n"
    ntug("network", "create", net, "-o", f"com.docker.network.bridge.name={ntug.prefix}b", check=True)
    _echo_server(ntug, "srv", net, "--network-alias", "echo-service")
    for target in ("srv", "echo-service"):
        r = ntug("run", "--rm", "--network", net, "busybox", "sh", "-c", f"echo hi-{target} | nc -w 3 {target} 5000")
        assert r.returncode == 0, r.stderr
        assert r.stdout.strip() == f"hi-{target}"
    # a container on another network does not know the name
    r = ntug("run", "--rm", "busybox", "sh", "-c", "echo x | nc -w 2 srv 5000")
    assert r.stdout.strip() != "x"
    ins = json.loads(ntug("network", "inspect", net, check=True).stdout)[0]
    assert [c["Name"] for c in ins["Containers"].values()] == ["srv"]
    r = ntug("network", "rm", net)
    assert r.returncode != 0 and "active endpoints" in r.stderr


def _host_listener(addr: str) -> tuple[socket.socket, int]:
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, 0))
    s.listen(8)

    def serve():
        while True:
            try:
                c, _ = s.accept()
            except OSError:
                return
            c.sendall(b"host-answer\n")
            c.close()

    threading.Thread(target=serve, daemon=True).start()
    return s, s.getsockname()[1]


def test_internal_network_reaches_peers_but_nothing_outside(ntug):
    inet, onet = ntug.prefix + "i", ntug.prefix + "o"
    ntug("network", "create", "--internal", inet, "-o", f"com.docker.network.bridge.name={ntug.prefix}i", check=True)
    ntug("network", "create", onet, "-o", f"com.docker.network.bridge.name={ntug.prefix}o", check=True)
    _echo_server(ntug, "peer", inet)
    probes = {}
    for net in (inet, onet):
        gw = json.loads(ntug("network", "inspect", net, check=True).stdout)[0]["IPAM"]["Config"][0]["Gateway"]
        lst, port = _host_listener(gw)
        probes[net] = (lst, gw, port)
    try:
        gw, port = probes[inet][1:]
        r = ntug("run", "--rm", "--network", inet, "busybox", "sh", "-c",
                 f"echo peer-ok | nc -w 3 peer 5000; ip route; nc -w 2 {gw} {port} </dev/null; echo end")
        assert r.returncode == 0, r.stderr
        lines = r.stdout.splitlines()
        assert lines[0] == "peer-ok"
        assert not any(ln.startswith("default") for ln in lines)
        assert "host-answer" not in r.stdout
        # the same probe from a normal network reaches the host: the check above could fail
        gw, port = probes[onet][1:]
        r = ntug("run", "--rm", "--network", onet, "busybox", "sh", "-c", f"nc -w 3 {gw} {port} </dev/null")
        assert "host-answer" in r.stdout, r.stderr
    finally:
        for lst, _, _ in probes.values():
            lst.close()


def _http_get(addr: str, port: int, timeout: float = 3.0) -> str:
    with socket.create_connection((addr, port), timeout=timeout) as s:
        s.sendall(b"GET /index.html HTTP/1.0\r\n\r\n")
        data = b""
        while chunk := s.recv(4096):
            data += chunk
    return data.decode(errors="replace")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_publish_on_loopback_serves_host_only(ntug):
    local_port, any_port = _free_port(), _free_port()
    ntug("run", "-d", "--name", "web", "-p", f"127.0.0.1:{local_port}:80", "-p", f"{any_port}:80", "busybox", "sh",
         "-c", "echo served-by-tug > /tmp/index.html; exec httpd -f -p 80 -h /tmp", check=True)
    assert wait_for(lambda: _try(lambda: "served-by-tug" in _http_get("127.0.0.1", local_port)))
    ps = ntug("ps", "--format", "{{.Ports}}", check=True).stdout
    assert f"127.0.0.1:{local_port}->80/tcp" in ps and f"0.0.0.0:{any_port}->80/tcp" in ps
    assert sorted(ntug("port", "web", "80/tcp", check=True).stdout.split()) == sorted(
        [f"127.0.0.1:{local_port}", f"0.0.0.0:{any_port}"])
    lines = ntug("port", "web", check=True).stdout.splitlines()
    assert f"80/tcp -> 127.0.0.1:{local_port}" in lines and f"80/tcp -> 0.0.0.0:{any_port}" in lines

    other = OwnNetns()
    host_if, peer_if = ntug.prefix + "h", ntug.prefix + "p"
    try:
        subprocess.run(["ip", "link", "add", host_if, "type", "veth", "peer", "name", peer_if, "netns",
                        str(other.proc.pid)], check=True)
        subprocess.run(["ip", "addr", "add", "100.127.253.1/30", "dev", host_if], check=True)
        subprocess.run(["ip", "link", "set", host_if, "up"], check=True)
        for cmd in (["ip", "addr", "add", "100.127.253.2/30", "dev", peer_if], ["ip", "link", "set", peer_if, "up"],
                    ["ip", "link", "set", "lo", "up"], ["ip", "route", "add", "default", "via", "100.127.253.1"]):
            assert other.run(*cmd).returncode == 0
        probe = ("import socket,sys\ntry:\n s=socket.create_connection((sys.argv[1],int(sys.argv[2])),timeout=3)\n"
                 " s.sendall(b'GET /index.html HTTP/1.0\\r\\n\\r\\n'); d=b''\n"
                 " while (c := s.recv(4096)): d += c\n print(d.decode())\n"
                 "except OSError as e: print('failed', e)\n")
        import sys

        def from_other(addr: str, port: int) -> str:
            return other.run(sys.executable, "-c", probe, addr, str(port)).stdout
        # the port published on every address is reachable from the other namespace (the path works) ...
        assert "served-by-tug" in from_other("100.127.253.1", any_port)
        # ... the one published on 127.0.0.1 is not, neither through the host's address nor the namespace's own
        assert "served-by-tug" not in from_other("100.127.253.1", local_port)
        assert "served-by-tug" not in from_other("127.0.0.1", local_port)
    finally:
        other.close()
        subprocess.run(["ip", "link", "del", host_if], capture_output=True)


def _try(fn) -> bool:
    try:
        return bool(fn())
    except OSError:
        return False


def test_twenty_concurrent_starts_get_distinct_addresses_and_clean_up(ntug):
    net = ntug.prefix + "c"
    ntug("network", "create", net, "-o", f"com.docker.network.bridge.name={ntug.prefix}c", check=True)
    bridge = ntug.prefix + "c"

    def start(i: int) -> str:
        return ntug("run", "-d", "--name", f"c{i}", "--network", net, "busybox", "sleep", "300",
                    check=True).stdout.strip()

    with ThreadPoolExecutor(20) as pool:
        ids = list(pool.map(start, range(20)))
    addrs = [_ip(ntug, f"c{i}", net) for i in range(20)]
    assert len(set(addrs)) == 20 and all(addrs)
    ports = json.loads(subprocess.run(["ip", "-j", "link", "show", "master", bridge], capture_output=True,
                                      text=True).stdout or "[]")
    assert len(ports) == 20
    # every container sees the others by name
    r = ntug("exec", "c0", "sh", "-c", r"grep -cE '\sc[0-9]+( |$)' /etc/hosts")
    assert r.returncode == 0, r.stderr
    assert int(r.stdout) == 20
    ntug("rm", "-f", *ids, check=True, timeout=180)
    assert wait_for(lambda: json.loads(subprocess.run(["ip", "-j", "link", "show", "master", bridge],
                                                      capture_output=True, text=True).stdout or "[]") == [])
    ins = json.loads(ntug("network", "inspect", net, check=True).stdout)[0]
    assert ins["Containers"] == {}
    listing = subprocess.run(["nft", "-j", "-a", "list", "table", "ip", ntug.prefix], capture_output=True,
                             text=True).stdout
    assert "tug ctr" not in listing
    assert not list((ntug.runroot / "networks").glob("*.json"))


def _net_rules(table: str, bridge: str) -> int:
    r = subprocess.run(["nft", "-j", "list", "table", "ip", table], capture_output=True, text=True)
    if r.returncode != 0:
        return 0
    return sum(1 for item in json.loads(r.stdout)["nftables"]
               if item.get("rule", {}).get("comment") == f"tug net {bridge}")


def test_bridge_rules_come_back_after_a_flush_or_delete(ntug):
    """A start lists tug's table only when the host's ruleset changed since the rules were last seen; a table
    deleted or flushed by hand (another tool, `nft flush ruleset`) is a change, so the next start puts them back."""
    table = bridge = ntug.prefix
    for _ in range(2):  # the first start makes the rules, the second sees (and remembers) them in place
        assert ntug("run", "--rm", "busybox", "true").returncode == 0
    wanted = _net_rules(table, bridge)
    assert wanted >= 3
    subprocess.run(["nft", "delete", "table", "ip", table], check=True)
    assert ntug("run", "--rm", "busybox", "true").returncode == 0
    assert _net_rules(table, bridge) == wanted
    assert ntug("run", "--rm", "busybox", "true").returncode == 0  # seen in place again
    subprocess.run(["nft", "flush", "table", "ip", table], check=True)
    assert _net_rules(table, bridge) == 0
    r = ntug("run", "--rm", "busybox", "sh", "-c", "echo ok")
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr
    assert _net_rules(table, bridge) == wanted
