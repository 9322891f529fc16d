"""One HTTP exchange with a registry: scheme choice, TLS, auth, manual redirects, retries and Retry-After.

Redirects are followed here, not by urllib3, so that the Authorization header (a registry token or Basic
credentials) is dropped as soon as a hop leaves the registry's origin (scheme, host and port), as blob storage
redirects do; it is never added back on later hops. An https -> http redirect is refused unless the target is on
loopback. 429 and 503 answers are retried after their Retry-After delay when it is within `max_retry_wait`, else
they fail at once with one line.
"""

from __future__ import annotations

import threading
import time
import urllib.parse
from collections.abc import Callable
from typing import IO, Any

import urllib3
from urllib3.exceptions import HTTPError, InsecureRequestWarning, ProtocolError, SSLError

from tug.errors import Unauthorized, Unavailable
from tug.registry.auth import Authenticator
from tug.registry.challenge import parse_retry_after, parse_www_authenticate
from tug.registry.config import RegistryConfig, is_loopback

MAX_REDIRECTS = 5
REDIRECTS = (301, 302, 303, 307, 308)
Body = bytes | Callable[[], IO[bytes]] | None


def safe_url(url: str) -> str:
    """A URL fit for an error message: no query (pre-signed storage URLs carry signatures there), no user info."""
    p = urllib.parse.urlsplit(url)
    netloc = p.netloc.rpartition("@")[2]
    return urllib.parse.urlunsplit((p.scheme, netloc, p.path, "", ""))


def origin(url: str) -> tuple[str, str]:
    p = urllib.parse.urlsplit(url)
    port = p.port or (443 if p.scheme == "https" else 80)
    return p.scheme, f"{(p.hostname or '').lower()}:{port}"


def _is_cert_error(err: BaseException) -> bool:
    text = str(err).lower()
    return "certificate verify failed" in text or "hostname mismatch" in text


def drain(resp: Any) -> None:
    """Give the connection back: read a small rest of the body to reuse it, else close it (never read a blob)."""
    try:
        length = resp.headers.get("Content-Length", "")
        if resp.closed or (length.isdigit() and int(length) <= 65536):
            resp.drain_conn()
        else:
            resp.close()
    except (HTTPError, OSError):
        pass
    resp.release_conn()


class Transport:
    def __init__(self, config: RegistryConfig, sleep: Callable[[float], None] = time.sleep) -> None:
        self.config = config
        self.sleep = sleep
        self.auth = Authenticator(config, self)
        self._lock = threading.Lock()
        self._pools: dict[tuple[bool, str | None], urllib3.PoolManager] = {}
        self._schemes: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"Transport(hosts={sorted(self._schemes)})"

    # -- pools and raw exchanges -------------------------------------------------------------------------------
    def _pool(self, host: str) -> urllib3.PoolManager:
        verify = self.config.verify_tls(host)
        ca = self.config.ca_file(host)
        key = (verify, ca)
        with self._lock:
            pool = self._pools.get(key)
            if pool is None:
                timeout = urllib3.Timeout(connect=self.config.connect_timeout, read=self.config.read_timeout)
                if verify:
                    pool = urllib3.PoolManager(num_pools=32, maxsize=8, timeout=timeout, ca_certs=ca)
                else:
                    urllib3.disable_warnings(InsecureRequestWarning)
                    pool = urllib3.PoolManager(num_pools=32, maxsize=8, timeout=timeout, cert_reqs="CERT_NONE",
                                               assert_hostname=False)
                self._pools[key] = pool
        return pool

    def raw(self, method: str, url: str, headers: dict[str, str], body: Any = None, *, host: str,
            preload: bool = True) -> Any:
        """A single exchange, no redirects, no retries; connection failures become Unavailable."""
        try:
            return self._pool(host).request(method, url, headers=headers, body=body, redirect=False, retries=False,
                                            preload_content=preload, decode_content=False)
        except SSLError as e:
            if _is_cert_error(e):
                raise Unavailable(f"TLS certificate of {host} does not verify: {e}".splitlines()[0],
                                  hint="add its CA (ca_file) or mark the registry insecure") from None
            err = Unavailable(f"TLS with {host} failed: {e}".splitlines()[0])
            err.no_tls = True  # type: ignore[attr-defined]
            raise err from None
        except (HTTPError, OSError) as e:
            err = Unavailable(f"cannot reach {safe_url(url)}: {type(e).__name__}: {e}".splitlines()[0])
            err.transient = True  # type: ignore[attr-defined]  # worth another attempt
            # a plain-HTTP server answering a TLS hello usually just hangs up
            err.no_tls = url.startswith("https:") and isinstance(e, ProtocolError)  # type: ignore[attr-defined]
            raise err from None

    # -- scheme choice ------------------------------------------------------------------------------------------
    def base_url(self, host: str) -> str:
        """`https://host` or, for loopback / explicitly configured hosts that do not speak TLS, `http://host`."""
        with self._lock:
            scheme = self._schemes.get(host)
        if scheme is None:
            scheme = self._ping(host)
        return f"{scheme}://{host}"

    def _ping(self, host: str) -> str:
        if host in self.config.plain_http:
            schemes = ["http"]
        elif self.config.may_use_http(host):
            schemes = ["https", "http"]
        else:
            schemes = ["https"]
        last: Unavailable | None = None
        for scheme in schemes:
            try:
                resp = self.raw("GET", f"{scheme}://{host}/v2/", {"User-Agent": self.config.user_agent}, host=host)
            except Unavailable as e:
                # only a server that does not speak TLS at all may be retried over http (loopback / opted in):
                # a certificate that does not verify is never "fixed" by dropping TLS
                if scheme == "https" and getattr(e, "no_tls", False):
                    last = e
                    continue
                raise
            if resp.status == 401:
                self.auth.remember(host, parse_www_authenticate(resp.headers.get("WWW-Authenticate", "")))
            with self._lock:
                self._schemes[host] = scheme
            return scheme
        assert last is not None
        raise last

    # -- the full exchange --------------------------------------------------------------------------------------
    def request(self, method: str, host: str, path: str, *, scopes: list[str], headers: dict[str, str] | None = None,
                body: Body = None, stream: bool = False, idempotent: bool = True) -> Any:
        """Send `method` to `host` + `path` (or an absolute URL on that registry) with auth, retries and redirects.

        Returns the urllib3 response (status not checked, except 401/429/503 handled here). With `stream`, the
        caller reads the body and must release it.
        """
        base = self.base_url(host)
        url = path if "://" in path else base + path
        # an absolute URL (an upload Location) on another origin never gets the registry's credentials
        own = origin(url) == origin(base)
        attempt = 0
        answered = False
        while True:
            hdrs = {"User-Agent": self.config.user_agent, **(headers or {})}
            auth = self.auth.header(host, scopes) if own else None
            if auth:
                hdrs["Authorization"] = auth
            payload = body() if callable(body) else body
            try:
                resp = self._follow(method, url, hdrs, payload, host, stream)
            except Unavailable as e:
                if not getattr(e, "transient", False) or not idempotent or attempt >= self.config.retries:
                    raise
                attempt += 1
                self.sleep(min(2.0, 0.2 * 2**attempt))
                continue
            finally:
                if callable(body) and hasattr(payload, "close"):
                    payload.close()  # type: ignore[union-attr]
            if resp.status == 401:
                challenges = parse_www_authenticate(resp.headers.get("WWW-Authenticate", ""))
                drain(resp)
                if answered or (auth and not challenges):
                    err = next((c.params.get("error") for c in challenges if c.params.get("error")), None)
                    raise Unauthorized(f"registry {host} refused access to {safe_url(url)} (401"
                                       + (f", {err})" if err else ")"),
                                       hint="the repository may not exist, or it needs `tug login " + host + "`")
                answered = True
                self.auth.answer(host, challenges, scopes)
                continue
            if resp.status in (429, 503):
                wait = parse_retry_after(resp.headers.get("Retry-After"))
                drain(resp)
                what = "rate-limits tug (429)" if resp.status == 429 else "is unavailable (503)"
                if wait is not None and wait > self.config.max_retry_wait:
                    raise Unavailable(f"registry {host} {what}; it asks to retry after {wait:.0f}s")
                if attempt >= self.config.retries:
                    raise Unavailable(f"registry {host} {what}; gave up after {attempt + 1} attempts")
                attempt += 1
                self.sleep(wait if wait is not None else min(self.config.max_retry_wait, 0.5 * 2**attempt))
                continue
            return resp

    def _follow(self, method: str, url: str, hdrs: dict[str, str], body: Any, host: str, stream: bool) -> Any:
        for _ in range(MAX_REDIRECTS + 1):
            resp = self.raw(method, url, hdrs, body, host=urllib.parse.urlsplit(url).netloc, preload=not stream)
            location = resp.headers.get("Location")
            if resp.status not in REDIRECTS or not location:
                return resp
            drain(resp)
            new = urllib.parse.urljoin(url, location)
            new_parts = urllib.parse.urlsplit(new)
            if new_parts.scheme not in ("http", "https"):
                raise Unavailable(f"registry {host} redirected to a non-http URL {safe_url(new)}")
            if urllib.parse.urlsplit(url).scheme == "https" and new_parts.scheme == "http" \
                    and not is_loopback(new_parts.netloc):
                raise Unavailable(f"registry {host} redirected from https to plain http ({safe_url(new)}); refused")
            if origin(new) != origin(url):
                hdrs = {k: v for k, v in hdrs.items() if k.lower() != "authorization"}
            if resp.status == 303:
                method, body = "GET", None
            url = new
        raise Unavailable(f"registry {host} redirected more than {MAX_REDIRECTS} times")
