"""Registry settings: mirrors, TLS, plain HTTP, credentials, timeouts, retries; loaded from tug's TOML file.

File format (`registries.toml`; `load_default` reads `<store root>/registries.toml`, else
`$XDG_CONFIG_HOME/tug/registries.toml` (`~/.config/tug/registries.toml`); the first that exists wins)::

    user_agent = "tug/0.1"      # optional
    timeout = 30                # seconds to connect and between bytes read
    retries = 3                 # attempts after a broken connection or a 429/503
    max_retry_wait = 30         # longest Retry-After we sleep through; longer ones fail at once

    [registries."docker.io"]
    mirrors = ["mirror.gcr.io", "127.0.0.1:5001"]   # tried in order before the registry itself (pulls only)

    [registries."registry.example:5000"]
    insecure = true             # TLS without certificate verification (like --tls-verify=false)
    plain_http = true           # explicit opt-in to http:// for a non-loopback host
    ca_file = "/etc/tug/certs/registry.example.pem"  # CA bundle for this host (else certs.d, below)

Without `ca_file`, a host's CA is read from `/etc/docker/certs.d/<host>/ca.crt` or
`/etc/containers/certs.d/<host>/ca.crt` when present, as docker and podman do.

Loopback registries (127.0.0.0/8, ::1, localhost) may speak plain HTTP without any setting, as docker allows: tug
tries https first and uses http only when the server does not speak TLS at all. A certificate that does not verify
never turns into a plain-HTTP attempt, and no other host is ever downgraded silently.
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from collections.abc import Callable
from pathlib import Path

from tug.errors import Invalid
from tug.records import field, record

Credentials = tuple[str, str]
CredentialsProvider = Callable[[str], "Credentials | None"]

DOCKER_HUB = "docker.io"
CERTS_DIRS = ("/etc/docker/certs.d", "/etc/containers/certs.d")
DOCKER_HUB_API = "registry-1.docker.io"


def api_host(registry: str) -> str:
    """The host that serves the API for a registry name (`docker.io` is served by `registry-1.docker.io`)."""
    return DOCKER_HUB_API if registry in (DOCKER_HUB, "index.docker.io") else registry


def split_host(host: str) -> tuple[str, int | None]:
    """`127.0.0.1:5000` -> ("127.0.0.1", 5000); `[::1]:5000` -> ("::1", 5000); `quay.io` -> ("quay.io", None)."""
    if host.startswith("["):
        name, _, rest = host[1:].partition("]")
        port = rest.removeprefix(":")
        return name, int(port) if port.isdigit() else None
    name, sep, port = host.rpartition(":")
    if sep and port.isdigit() and ":" not in name:
        return name, int(port)
    return host, None


def is_loopback(host: str) -> bool:
    name, _ = split_host(host)
    if name.lower() == "localhost" or name.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _no_credentials(_host: str) -> Credentials | None:
    return None


@record
class RegistryConfig:
    mirrors: dict[str, list[str]] = field(default_factory=dict)
    insecure: set[str] = field(default_factory=set)
    plain_http: set[str] = field(default_factory=set)
    ca_files: dict[str, str] = field(default_factory=dict)
    credentials: CredentialsProvider = field(default=_no_credentials, repr=False)
    user_agent: str = "tug/0.1"
    connect_timeout: float = 30.0
    read_timeout: float = 60.0
    retries: int = 3
    max_retry_wait: float = 30.0
    certs_dirs: list[str] = field(default_factory=lambda: list(CERTS_DIRS))
    chunk_size: int = 0  # 0: monolithic uploads; otherwise PATCH chunks of this many bytes
    read_chunk: int = 256 * 1024

    def mirrors_for(self, registry: str) -> list[str]:
        return list(self.mirrors.get(registry) or self.mirrors.get(api_host(registry)) or [])

    def ca_file(self, host: str) -> str | None:
        """The CA bundle for `host`: `ca_file` from the config, else `<certs dir>/<host>/ca.crt` as docker and
        podman keep them (`/etc/docker/certs.d`, `/etc/containers/certs.d`); None for the system's CAs."""
        if host in self.ca_files:
            return self.ca_files[host]
        for d in self.certs_dirs:
            p = Path(d) / host / "ca.crt"
            if p.is_file():
                return str(p)
        return None

    def verify_tls(self, host: str) -> bool:
        return host not in self.insecure

    def may_use_http(self, host: str) -> bool:
        return host in self.plain_http or is_loopback(host)


def _str_list(value: object, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise Invalid("must be a list of host names", where=where)
    return list(value)


def from_dict(doc: dict, where: str = "registries.toml") -> RegistryConfig:
    cfg = RegistryConfig()
    if "user_agent" in doc:
        cfg.user_agent = str(doc["user_agent"])
    numbers = (("timeout", "read_timeout"), ("timeout", "connect_timeout"), ("max_retry_wait", "max_retry_wait"))
    for key, attr in numbers:
        if key in doc:
            v = doc[key]
            if not isinstance(v, int | float) or isinstance(v, bool) or v < 0:
                raise Invalid(f"{key} must be a non-negative number", where=where)
            setattr(cfg, attr, float(v))
    for key in ("retries", "chunk_size"):
        if key in doc:
            v = doc[key]
            if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                raise Invalid(f"{key} must be a non-negative integer", where=where)
            setattr(cfg, key, v)
    regs = doc.get("registries", {})
    if not isinstance(regs, dict):
        raise Invalid("[registries] must be a table", where=where)
    for host, table in regs.items():
        w = f"{where} [registries.{host!r}]"
        if not isinstance(table, dict):
            raise Invalid("must be a table", where=w)
        unknown = set(table) - {"mirrors", "insecure", "plain_http", "ca_file"}
        if unknown:
            raise Invalid(f"unknown setting(s) {', '.join(sorted(unknown))}", where=w)
        if "mirrors" in table:
            cfg.mirrors[host] = _str_list(table["mirrors"], f"{w} mirrors")
        for flag, target in (("insecure", cfg.insecure), ("plain_http", cfg.plain_http)):
            if flag in table:
                if not isinstance(table[flag], bool):
                    raise Invalid(f"{flag} must be true or false", where=w)
                if table[flag]:
                    target.add(host)
        if "ca_file" in table:
            cfg.ca_files[host] = str(table["ca_file"])
    return cfg


def load(path: str | os.PathLike[str], credentials: CredentialsProvider | None = None) -> RegistryConfig:
    """Read a registries.toml; a missing file gives the defaults. Credentials default to docker's config.json."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        doc: dict = {}
    else:
        try:
            doc = tomllib.loads(data.decode())
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
            raise Invalid(f"not valid TOML: {e}", where=str(p)) from None
    cfg = from_dict(doc, str(p))
    if credentials is None:
        from tug.registry import auth_store

        credentials = auth_store.AuthStore().get
    cfg.credentials = credentials
    return cfg


def default_paths(store_root: str | os.PathLike[str] | None = None) -> list[Path]:
    out = []
    if store_root is not None:
        out.append(Path(store_root) / "registries.toml")
    xdg = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    out.append(Path(xdg) / "tug" / "registries.toml")
    return out


def load_default(store_root: str | os.PathLike[str] | None = None,
                 credentials: CredentialsProvider | None = None) -> RegistryConfig:
    for p in default_paths(store_root):
        if p.exists():
            return load(p, credentials)
    return load(default_paths(store_root)[-1], credentials)
