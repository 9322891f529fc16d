"""Turning a registry's error answer (status + `{"errors": [{"code", "message"}]}`) into one tug error line."""

from __future__ import annotations

import json
from typing import Any

from tug.errors import Denied, Invalid, NotFound, TugError, Unauthorized, Unavailable

MAX_ERROR_BODY = 64 * 1024


def _codes(body: bytes) -> str:
    try:
        doc = json.loads(body)
        errs = doc.get("errors") if isinstance(doc, dict) else None
        if isinstance(errs, list) and errs:
            parts = []
            for e in errs[:3]:
                if isinstance(e, dict):
                    code, msg = e.get("code") or "", e.get("message") or ""
                    parts.append(f"{code}: {msg}".strip(": ") if code or msg else "")
            return "; ".join(p for p in parts if p)
    except (ValueError, UnicodeDecodeError):
        pass
    return ""


def status_error(resp: Any, what: str, host: str) -> TugError:
    """The error for an unexpected answer `resp` to `what` (e.g. "manifest busybox:latest")."""
    try:
        body = resp.read(MAX_ERROR_BODY) or (resp.data or b"")[:MAX_ERROR_BODY]  # streamed, else preloaded
    except Exception:  # noqa: BLE001 - the body is only decoration for the message
        body = b""
    detail = _codes(body)
    status = resp.status
    text = f"registry {host} answered {status} for {what}" + (f" ({detail})" if detail else "")
    if status == 404:
        return NotFound(f"{what} not found on {host}" + (f" ({detail})" if detail else ""))
    if status == 401:
        return Unauthorized(text)
    if status == 403:
        return Denied(text)
    if status in (400, 405, 411, 413, 415, 416, 422):
        return Invalid(text)
    return Unavailable(text)
