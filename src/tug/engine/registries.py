"""Building a registry client from tug's configuration, for pull and push."""

from __future__ import annotations

from tug.engine.engine import Engine
from tug.registry.client import RegistryClient
from tug.registry.config import api_host, load_default


def client(eng: Engine, tls_verify: bool | None = None, registry: str | None = None) -> RegistryClient:
    """`tls_verify=False` (`--tls-verify=false`) skips certificate checks for `registry` only."""
    cfg = load_default(eng.root)
    if tls_verify is False and registry:
        cfg.insecure = {*cfg.insecure, api_host(registry)}
    return RegistryClient(cfg)


def login(eng: Engine, server: str, username: str, password: str, tls_verify: bool | None = None) -> None:
    """Check the credentials against the registry, then save them (docker's config.json format, mode 0600)."""
    from tug.registry.auth_store import AuthStore

    client(eng, tls_verify, server).check_login(server, username, password)
    AuthStore().login(server, username, password)


def logout(server: str) -> bool:
    from tug.registry.auth_store import AuthStore

    return AuthStore().logout(server)
