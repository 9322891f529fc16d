"""ADD <url>: download through urllib3 (the registry's HTTP client) into a temp directory, verified if asked.

The file is named after the last segment of the URL's path (docker's rule), written 0600, and its content digest
is what the cache compares, so an unchanged download is a cache hit.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
from pathlib import Path
from urllib.parse import urlsplit

from tug.errors import Invalid, Unavailable

MAX_REDIRECTS = 10


def is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def file_name(url: str) -> str:
    path = urlsplit(url).path
    name = posixpath.basename(path.rstrip("/")) if path else ""
    return name or "__unnamed__"


def download(url: str, dest_dir: Path, checksum: str = "") -> tuple[Path, str]:
    """Fetch `url` to dest_dir/<name>; (path, sha256 hex). Unavailable on network or HTTP errors."""
    import urllib3

    dest_dir.mkdir(parents=True, exist_ok=True)
    target = dest_dir / file_name(url)
    http = urllib3.PoolManager(timeout=urllib3.Timeout(connect=30, read=300), retries=urllib3.Retry(
        total=3, redirect=MAX_REDIRECTS, backoff_factor=0.2))
    try:
        resp = http.request("GET", url, preload_content=False)
    except urllib3.exceptions.HTTPError as e:
        raise Unavailable(f"ADD {url}: {e}") from None
    h = hashlib.sha256()
    try:
        if resp.status != 200:
            raise Unavailable(f"ADD {url}: HTTP {resp.status}")
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        with os.fdopen(fd, "wb") as f:
            for chunk in resp.stream(1 << 20):
                h.update(chunk)
                f.write(chunk)
    except urllib3.exceptions.HTTPError as e:
        raise Unavailable(f"ADD {url}: {e}") from None
    finally:
        resp.release_conn()
    digest = h.hexdigest()
    if checksum:
        algo, _, want = checksum.partition(":")
        if algo != "sha256" or not want:
            raise Invalid(f"ADD --checksum={checksum}: only sha256:<hex> is supported")
        if want != digest:
            raise Invalid(f"ADD {url}: digest mismatch: expected {checksum}, got sha256:{digest}")
    os.chmod(target, 0o600)
    return target, digest
