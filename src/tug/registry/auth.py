"""Registry authorization: answering `WWW-Authenticate` challenges with Basic credentials or bearer tokens.

Tokens are cached per (host, scopes) until shortly before they expire. Credentials come from the config's
provider (host -> (user, secret)) and go only to the registry host they belong to, or to the token realm that
registry names in its challenge, and never to a plain-http realm unless it is on loopback. Nothing here logs, and
no object holding a secret has a repr that shows it.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import urllib.parse
from typing import TYPE_CHECKING

from tug.errors import Invalid, Unauthorized, Unavailable
from tug.records import field, record
from tug.registry.challenge import Challenge
from tug.registry.config import RegistryConfig, is_loopback

if TYPE_CHECKING:
    from tug.registry.transport import Transport

DEFAULT_TOKEN_LIFETIME = 60.0
EXPIRY_MARGIN = 5.0


@record
class _Cached:
    header: str = field(repr=False)
    expires: float


def basic_header(user: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()


def repository_scope(repository: str, actions: str = "pull") -> str:
    return f"repository:{repository}:{actions}"


class Authenticator:
    def __init__(self, config: RegistryConfig, transport: Transport, clock=time.monotonic) -> None:
        self.config = config
        self.transport = transport
        self.clock = clock
        self._lock = threading.Lock()
        self._challenges: dict[str, Challenge] = {}
        self._tokens: dict[tuple[str, tuple[str, ...]], _Cached] = {}

    def __repr__(self) -> str:
        return f"Authenticator(hosts={sorted(self._challenges)})"

    def remember(self, host: str, challenges: list[Challenge]) -> Challenge | None:
        """Keep the challenge we can answer (Bearer preferred over Basic); None if there is none."""
        usable = [c for c in challenges if c.scheme == "bearer" and c.realm] or \
                 [c for c in challenges if c.scheme == "basic"]
        if not usable:
            return None
        with self._lock:
            self._challenges[host] = usable[0]
        return usable[0]

    def header(self, host: str, scopes: list[str]) -> str | None:
        """The Authorization value for a request to `host` needing `scopes`; None when the host asked for none."""
        with self._lock:
            chal = self._challenges.get(host)
            cached = self._tokens.get((host, tuple(sorted(scopes))))
        if chal is None:
            return None
        if cached is not None and cached.expires > self.clock():
            return cached.header
        return self._answer(host, chal, scopes)

    def answer(self, host: str, challenges: list[Challenge], scopes: list[str]) -> str:
        """Answer a fresh 401: fetch a token (or build Basic); raises Unauthorized when we cannot."""
        chal = self.remember(host, challenges)
        if chal is None:
            raise Unauthorized(f"registry {host} asks for an authentication scheme tug does not support")
        with self._lock:
            self._tokens.pop((host, tuple(sorted(scopes))), None)
        return self._answer(host, chal, scopes, merge=True)

    def forget(self, host: str, scopes: list[str]) -> None:
        with self._lock:
            self._tokens.pop((host, tuple(sorted(scopes))), None)

    def _answer(self, host: str, chal: Challenge, scopes: list[str], merge: bool = False) -> str:
        """`merge`: also ask for the scopes the challenge names (a fresh 401 says what it needs; the /v2/ ping's
        challenge may name a placeholder scope that must not be requested)."""
        creds = self.config.credentials(host)
        if chal.scheme == "basic":
            if creds is None:
                raise Unauthorized(f"registry {host} requires a login", hint=f"tug login {host}")
            return basic_header(*creds)
        wanted = list(dict.fromkeys([*scopes, *(chal.scopes if merge else [])]))
        header, lifetime = self._fetch_token(host, chal, wanted, creds)
        with self._lock:
            self._tokens[(host, tuple(sorted(scopes)))] = _Cached(header, self.clock() + lifetime - EXPIRY_MARGIN)
        return header

    def _fetch_token(self, host: str, chal: Challenge, scopes: list[str],
                     creds: tuple[str, str] | None) -> tuple[str, float]:
        realm = urllib.parse.urlsplit(chal.realm)
        if realm.scheme not in ("http", "https") or not realm.netloc:
            raise Invalid(f"registry {host} names a bad token realm {chal.realm!r}")
        if creds is not None and realm.scheme == "http" and not is_loopback(realm.netloc):
            raise Unauthorized(f"registry {host} asks for credentials over plain http at {realm.netloc}; refused")
        query = [(k, v) for k, v in urllib.parse.parse_qsl(realm.query)]
        if chal.service:
            query.append(("service", chal.service))
        query += [("scope", s) for s in scopes]
        url = urllib.parse.urlunsplit((realm.scheme, realm.netloc, realm.path, urllib.parse.urlencode(query), ""))
        headers = {"User-Agent": self.config.user_agent, "Accept": "application/json"}
        if creds is not None:
            headers["Authorization"] = basic_header(*creds)
        resp = self.transport.raw("GET", url, headers, host=realm.netloc)
        body = resp.data[: 1 << 20]
        who = "the credentials" if creds else "anonymous access"
        if resp.status in (401, 403):
            raise Unauthorized(f"token server {realm.netloc} refused {who} for {host} ({resp.status})",
                               hint=None if creds else f"tug login {host}")
        if resp.status != 200:
            raise Unavailable(f"token server {realm.netloc} answered {resp.status} for {host}")
        try:
            doc = json.loads(body)
            token = doc.get("token") or doc.get("access_token")
        except (ValueError, UnicodeDecodeError, AttributeError):
            token, doc = None, {}
        if not isinstance(token, str) or not token:
            raise Invalid(f"token server {realm.netloc} sent no token for {host}")
        lifetime = doc.get("expires_in")
        if not isinstance(lifetime, int | float) or isinstance(lifetime, bool) or lifetime <= 0:
            lifetime = DEFAULT_TOKEN_LIFETIME
        return f"Bearer {token}", float(lifetime)
