"""Saved registry credentials in docker's `config.json` format (what `tug login` writes and `tug logout` removes).

tug shares docker's file: `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`, so a `docker login` done
before works with tug and the other way round. Entries live under `auths` keyed by registry host (Docker Hub's key
is `https://index.docker.io/v1/`), each with `auth` = base64("user:secret"). The file is rewritten atomically with
mode 0600 and its other keys kept. Credential helpers (`credHelpers` / `credsStore`, `docker-credential-<name>`)
are consulted for reading. Secrets are never logged and never part of a repr.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from tug.errors import Invalid

HUB_KEY = "https://index.docker.io/v1/"
_HUB_NAMES = {"docker.io", "index.docker.io", "registry-1.docker.io"}


def default_path() -> Path:
    base = os.environ.get("DOCKER_CONFIG") or os.path.join(os.path.expanduser("~"), ".docker")
    return Path(base) / "config.json"


def _host_of(key: str) -> str:
    """`https://index.docker.io/v1/` -> `index.docker.io`; `http://h:5000` -> `h:5000`; `h:5000` -> `h:5000`."""
    k = key.strip()
    if "://" in k:
        k = k.split("://", 1)[1]
    return k.split("/", 1)[0].lower()


def canonical_host(host: str) -> str:
    h = _host_of(host)
    return "docker.io" if h in _HUB_NAMES else h


def config_key(host: str) -> str:
    """The key docker writes for a host."""
    return HUB_KEY if canonical_host(host) == "docker.io" else canonical_host(host)


class AuthStore:
    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path) if path is not None else default_path()

    def __repr__(self) -> str:
        return f"AuthStore({str(self.path)!r})"

    def _read(self) -> dict:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return {}
        if not data.strip():
            return {}
        try:
            doc = json.loads(data)
        except (ValueError, UnicodeDecodeError) as e:
            raise Invalid(f"docker config is not JSON: {e}", where=str(self.path)) from None
        if not isinstance(doc, dict):
            raise Invalid("docker config is not a JSON object", where=str(self.path))
        return doc

    def _write(self, doc: dict) -> None:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".config.json.", dir=self.path.parent)
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w") as f:
                json.dump(doc, f, indent="\t")
                f.write("\n")
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
            raise

    def _entry_key(self, auths: dict, host: str) -> str | None:
        want = canonical_host(host)
        for key in auths:
            if canonical_host(key) == want:
                return key
        return None

    def get(self, host: str) -> tuple[str, str] | None:
        """(user, secret) saved for `host`, or None."""
        doc = self._read()
        helper = (doc.get("credHelpers") or {}).get(canonical_host(host)) or doc.get("credsStore")
        if isinstance(helper, str) and helper:
            found = _from_helper(helper, config_key(host))
            if found is not None:
                return found
        auths = doc.get("auths") or {}
        if not isinstance(auths, dict):
            return None
        key = self._entry_key(auths, host)
        entry = auths.get(key) if key is not None else None
        if not isinstance(entry, dict):
            return None
        if entry.get("auth"):
            try:
                user, sep, secret = base64.b64decode(entry["auth"], validate=False).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError, ValueError):
                raise Invalid(f"the saved auth for {host} is not base64 of user:secret",
                              where=str(self.path)) from None
            if sep and user:
                return user, secret
        if entry.get("username") and entry.get("password"):
            return str(entry["username"]), str(entry["password"])
        return None

    def login(self, host: str, user: str, secret: str) -> None:
        if not user or ":" in user:
            raise Invalid("a user name must be non-empty and contain no ':'")
        doc = self._read()
        auths = doc.setdefault("auths", {})
        old = self._entry_key(auths, host)
        if old is not None:
            del auths[old]
        auths[config_key(host)] = {"auth": base64.b64encode(f"{user}:{secret}".encode()).decode()}
        self._write(doc)

    def logout(self, host: str) -> bool:
        """Forget `host`'s credentials; False when none were saved."""
        doc = self._read()
        auths = doc.get("auths") or {}
        key = self._entry_key(auths, host)
        if key is None:
            return False
        del auths[key]
        self._write(doc)
        return True


def _from_helper(helper: str, server: str) -> tuple[str, str] | None:
    exe = shutil.which(f"docker-credential-{helper}")
    if exe is None:
        return None
    try:
        r = subprocess.run([exe, "get"], input=server.encode(), capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if r.returncode != 0:
        return None
    try:
        doc = json.loads(r.stdout)
        return str(doc["Username"]), str(doc["Secret"])
    except (ValueError, KeyError, TypeError):
        return None
