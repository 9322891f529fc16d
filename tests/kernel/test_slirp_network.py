"""`--network slirp4netns[:allow_host_loopback=true]` (issue 7): a user-mode network through slirp4netns, with the
host's loopback reachable at 10.0.2.2 only when asked for, and the slirp4netns process gone with the container."""

from __future__ import annotations

import http.server
import os
import shutil
import threading
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(shutil.which("slirp4netns") is None, reason="slirp4netns is not installed")


@pytest.fixture
def server():
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the stdlib's name
            body = b"from-the-host\n"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield srv.server_address[1]
    srv.shutdown()
    srv.server_close()


def _slirps() -> set[int]:
    """Live (not zombie) slirp4netns processes."""
    out = set()
    for p in filter(str.isdigit, os.listdir("/proc")):
        try:
            st = Path(f"/proc/{p}/stat").read_text()
        except OSError:
            continue
        if "(slirp4netns)" in st and st.rsplit(")", 1)[1].split()[0] != "Z":
            out.add(int(p))
    return out


def test_slirp_reaches_host_loopback_only_when_allowed(busybox_store, server):
    before = _slirps()
    r = busybox_store("run", "--rm", "--network", "slirp4netns:allow_host_loopback=true", "busybox", "sh", "-c",
                      f"ip -4 addr show tap0 | grep -o 'inet [0-9./]*'; cat /etc/resolv.conf; "
                      f"wget -qO- http://10.0.2.2:{server}/")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split("\n")[:3] == ["inet 10.0.2.100/24", "nameserver 10.0.2.3", "from-the-host"]
    r = busybox_store("run", "--rm", "--network", "slirp4netns", "busybox", "wget", "-T", "3", "-qO-",
                      f"http://10.0.2.2:{server}/")
    assert r.returncode != 0 and "from-the-host" not in r.stdout
    for _ in range(100):  # the monitor releases the network of a --rm container just after it ends
        if _slirps() <= before:
            break
        time.sleep(0.05)
    assert _slirps() <= before  # the container's slirp4netns went with it


def test_slirp_options_checked(busybox_store):
    r = busybox_store("run", "--rm", "--network", "slirp4netns:mtu=10", "busybox", "true")
    assert r.returncode == 125 and "slirp4netns option" in r.stderr
    r = busybox_store("run", "--rm", "--network", "slirp4netns", "-p", "8080:80", "busybox", "true")
    assert r.returncode == 125 and "publishing" in r.stderr
