"""Real and fake registries on loopback for the registry client's interop tests.

- `RegistryProcess`: Debian's `docker-registry` (distribution 2.8) on 127.0.0.1:<free port> in a temp dir, plain
  HTTP or TLS (self-signed certificate made with openssl) with htpasswd auth (`htpasswd -Bbn`). Stopped by pid.
- `build_layout`: an OCI layout with busybox-static images for two platforms, made with umoci.
- `skopeo_copy`: push a layout image to a registry as Docker v2s2 or OCI.
- `FakeServer`: http.server in a thread on 127.0.0.1 with a route function, recording every request, for the
  token flow, redirects and hostile answers.

Session-wide objects are cached in this module (`shared(...)`), so test modules that import the fixtures share one
registry per session; every process started here is stopped by its pid at the end.
"""

from __future__ import annotations

import http.server
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tug.oci import mediatypes as mt
from tug.oci.digest import Digest

# `from registry_fixtures import *` brings in the fixtures only; helpers are used as `rf.name`
__all__ = ["plain_registry", "pushed_images", "tls_registry"]

REGISTRY_BIN = "/usr/bin/docker-registry"
USER, PASSWORD = "tugtest", "s3cret-pw"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def need(*tools: str) -> None:
    for t in tools:
        if shutil.which(t) is None and not os.path.exists(t):
            pytest.skip(f"{t} is not installed (scripts/setup.sh installs it)")


# -- docker-registry ----------------------------------------------------------------------------------------------

@dataclass
class RegistryProcess:
    workdir: Path
    tls: bool = False
    htpasswd: bool = False
    port: int = 0
    proc: subprocess.Popen | None = None
    cert: Path | None = None

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> RegistryProcess:
        need(REGISTRY_BIN)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        lines = [
            "version: 0.1", "log:", "  level: warn", "storage:", "  filesystem:",
            f"    rootdirectory: {self.workdir / 'data'}", "  delete:", "    enabled: true",
            "http:", f"  addr: 127.0.0.1:{self.port}",
        ]
        if self.tls:
            self.cert, key = make_cert(self.workdir)
            lines += ["  tls:", f"    certificate: {self.cert}", f"    key: {key}"]
        if self.htpasswd:
            pw = self.workdir / "htpasswd"
            out = subprocess.run(["htpasswd", "-Bbn", USER, PASSWORD], check=True, capture_output=True, text=True)
            pw.write_text(out.stdout)
            lines += ["auth:", "  htpasswd:", "    realm: tug-test", f"    path: {pw}"]
        conf = self.workdir / "config.yml"
        conf.write_text("\n".join(lines) + "\n")
        log = open(self.workdir / "registry.log", "wb")  # noqa: SIM115 - kept open for the child's lifetime
        self.proc = subprocess.Popen([REGISTRY_BIN, "serve", str(conf)], stdout=log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"docker-registry exited: {(self.workdir / 'registry.log').read_text()[-2000:]}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("docker-registry did not start listening")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None


def make_cert(workdir: Path) -> tuple[Path, Path]:
    need("openssl")
    cert, key = workdir / "cert.pem", workdir / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
                    "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


# -- images -------------------------------------------------------------------------------------------------------

def _umoci(*args: str) -> None:
    subprocess.run(["umoci", *args], check=True, capture_output=True)


def build_layout(workdir: Path, rootfs: Path) -> Path:
    """`<workdir>/oci` with tags `busybox` (linux/amd64) and `busybox-arm64` (linux/arm64/v8, same layer)."""
    need("umoci")
    layout = workdir / "oci"
    _umoci("init", "--layout", str(layout))
    _umoci("new", "--image", f"{layout}:busybox")
    bundle = workdir / "bundle"
    _umoci("unpack", "--image", f"{layout}:busybox", str(bundle))
    subprocess.run(["cp", "-a", f"{rootfs}/.", str(bundle / "rootfs")], check=True)
    _umoci("repack", "--image", f"{layout}:busybox", str(bundle))
    shutil.rmtree(bundle)
    _umoci("config", "--image", f"{layout}:busybox", "--config.cmd", "sh", "--architecture", "amd64",
           "--os", "linux", "--config.env", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
    _umoci("config", "--image", f"{layout}:busybox", "--tag", "busybox-arm64", "--architecture", "arm64",
           "--os", "linux")
    return layout


def skopeo_copy(src: str, dest: str, *extra: str) -> None:
    need("skopeo")
    r = subprocess.run(["skopeo", "copy", "--quiet", *extra, src, dest], capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        raise RuntimeError(f"skopeo copy {src} {dest} failed: {r.stderr.strip()}")


def skopeo_inspect(ref: str, raw: bool = False, *extra: str) -> dict:
    args = ["skopeo", "inspect", "--tls-verify=false", *extra] + (["--raw"] if raw else []) + [f"docker://{ref}"]
    r = subprocess.run(args, capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise RuntimeError(f"skopeo inspect {ref} failed: {r.stderr.strip()}")
    return json.loads(r.stdout)


# -- fake servers -------------------------------------------------------------------------------------------------

@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]


Route = Callable[["http.server.BaseHTTPRequestHandler", "FakeServer"], None]


@dataclass
class FakeServer:
    """`route(handler, server)` answers each request; `requests` records them; `sent` counts body bytes sent."""

    route: Route
    requests: list[Recorded] = field(default_factory=list)
    sent: int = 0
    state: dict = field(default_factory=dict)
    httpd: http.server.ThreadingHTTPServer | None = None
    thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        assert self.httpd is not None
        return self.httpd.server_address[1]

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> FakeServer:
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # quiet
                pass

            def _any(self) -> None:
                server.requests.append(Recorded(self.command, self.path, {k: v for k, v in self.headers.items()}))
                length = int(self.headers.get("Content-Length") or 0)
                self.body = self.rfile.read(length) if length else b""
                server.route(self, server)

            do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = _any

        class Server(http.server.ThreadingHTTPServer):
            def handle_error(self, request, client_address) -> None:  # a client that hangs up is expected here
                pass

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def reply(h, status: int, body: bytes = b"", headers: dict[str, str] | None = None, server: FakeServer | None = None,
          length: int | None = None) -> None:
    """Send a full answer; `length` overrides Content-Length (to lie about it)."""
    h.send_response(status)
    hdrs = {"Content-Length": str(len(body) if length is None else length), **(headers or {})}
    for k, v in hdrs.items():
        h.send_header(k, v)
    h.end_headers()
    if h.command != "HEAD" and body:
        if server is not None:  # counted before sending: the client may finish before this thread runs again
            server.sent += len(body)
        h.wfile.write(body)
    h.wfile.flush()


def add_index_to_layout(layout: Path, tags: dict[str, str], name: str) -> Digest:
    """Write an OCI index over the layout's `tags` (tag -> "os/arch[/variant]") as tag `name`; returns its digest."""
    top = json.loads((layout / "index.json").read_text())
    by_tag = {m["annotations"]["org.opencontainers.image.ref.name"]: m for m in top["manifests"]}
    entries = []
    for tag, plat in tags.items():
        parts = plat.split("/")
        d = {k: v for k, v in by_tag[tag].items() if k != "annotations"}
        d["platform"] = {"architecture": parts[1], "os": parts[0], **({"variant": parts[2]} if len(parts) > 2 else {})}
        entries.append(d)
    raw = json.dumps({"schemaVersion": 2, "mediaType": mt.OCI_INDEX, "manifests": entries}).encode()
    digest = Digest.of(raw)
    (layout / "blobs" / "sha256" / digest.hex).write_bytes(raw)
    top["manifests"].append({"mediaType": mt.OCI_INDEX, "digest": str(digest), "size": len(raw),
                             "annotations": {"org.opencontainers.image.ref.name": name}})
    (layout / "index.json").write_text(json.dumps(top))
    return digest


# -- session-wide fixtures (cached here so every module importing them shares one instance) ------------------------

_SHARED: dict[str, object] = {}


@dataclass
class Images:
    registry: RegistryProcess
    layout: Path
    oci_index_digest: Digest


@pytest.fixture(scope="session")
def plain_registry(tmp_path_factory) -> RegistryProcess:
    reg = _SHARED.get("plain")
    if reg is None:
        reg = _SHARED["plain"] = RegistryProcess(tmp_path_factory.mktemp("registry-plain")).start()
    yield reg
    reg.stop()


@pytest.fixture(scope="session")
def tls_registry(tmp_path_factory) -> RegistryProcess:
    reg = _SHARED.get("tls")
    if reg is None:
        reg = _SHARED["tls"] = RegistryProcess(tmp_path_factory.mktemp("registry-tls"), tls=True,
                                               htpasswd=True).start()
    yield reg
    reg.stop()


@pytest.fixture(scope="session")
def pushed_images(plain_registry, busybox_rootfs, tmp_path_factory) -> Images:
    """busybox pushed by skopeo as `busybox:latest` (v2s2), `oci/busybox:latest` (OCI), the arm64 variants as
    `:arm64`, and an OCI index over both platforms as `oci/multi:latest` (skopeo copy --all)."""
    images = _SHARED.get("images")
    if images is None:
        layout = build_layout(tmp_path_factory.mktemp("layout"), busybox_rootfs)
        digest = add_index_to_layout(layout, {"busybox": "linux/amd64", "busybox-arm64": "linux/arm64/v8"}, "multi")
        reg = plain_registry.host
        for tag, dest in (("busybox", "latest"), ("busybox-arm64", "arm64")):
            skopeo_copy(f"oci:{layout}:{tag}", f"docker://{reg}/busybox:{dest}", "--dest-tls-verify=false",
                        "--format", "v2s2")
            skopeo_copy(f"oci:{layout}:{tag}", f"docker://{reg}/oci/busybox:{dest}", "--dest-tls-verify=false",
                        "--format", "oci")
        skopeo_copy(f"oci:{layout}:multi", f"docker://{reg}/oci/multi:latest", "--dest-tls-verify=false",
                    "--all", "--format", "oci")
        images = _SHARED["images"] = Images(plain_registry, layout, digest)
    return images
