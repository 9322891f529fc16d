"""`--change` / `-c` instructions (as `docker import` and `docker commit` take them) applied to an image config."""

from __future__ import annotations

import json
import shlex
from typing import Any

from tug.errors import Invalid

ALLOWED = ("CMD", "ENTRYPOINT", "ENV", "EXPOSE", "LABEL", "ONBUILD", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR")


def _command_form(rest: str) -> list[str]:
    text = rest.strip()
    if text.startswith("["):
        try:
            value = json.loads(text)
        except ValueError:
            value = None
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return value
    return ["/bin/sh", "-c", text]


def _pairs(rest: str, what: str) -> list[tuple[str, str]]:
    words = shlex.split(rest)
    if words and "=" not in words[0]:
        # legacy form: `ENV name value with spaces`
        name, _, value = rest.strip().partition(" ")
        return [(name, value.strip())]
    out = []
    for w in words:
        k, sep, v = w.partition("=")
        if not sep or not k:
            raise Invalid(f"{what} needs NAME=VALUE pairs, got {w!r}")
        out.append((k, v))
    return out


def apply_changes(config: dict[str, Any], changes: list[str]) -> dict[str, Any]:
    """Return `config` (the image's `config` object) updated by each change, in order."""
    cfg = dict(config)
    for change in changes:
        keyword, _, rest = change.strip().partition(" ")
        kw = keyword.upper()
        if kw not in ALLOWED:
            raise Invalid(f"{keyword} is not a valid change command", hint=f"valid: {', '.join(ALLOWED)}")
        if kw in ("CMD", "ENTRYPOINT"):
            cfg["Cmd" if kw == "CMD" else "Entrypoint"] = _command_form(rest)
        elif kw == "ENV":
            env = [e for e in cfg.get("Env") or []]
            for k, v in _pairs(rest, "ENV"):
                env = [e for e in env if e.split("=", 1)[0] != k] + [f"{k}={v}"]
            cfg["Env"] = env
        elif kw == "LABEL":
            labels = dict(cfg.get("Labels") or {})
            labels.update(dict(_pairs(rest, "LABEL")))
            cfg["Labels"] = labels
        elif kw == "EXPOSE":
            ports = dict(cfg.get("ExposedPorts") or {})
            for p in rest.split():
                ports[p if "/" in p else f"{p}/tcp"] = {}
            cfg["ExposedPorts"] = ports
        elif kw == "VOLUME":
            vols = dict(cfg.get("Volumes") or {})
            text = rest.strip()
            names = json.loads(text) if text.startswith("[") else text.split()
            for v in names:
                vols[v] = {}
            cfg["Volumes"] = vols
        elif kw == "USER":
            cfg["User"] = rest.strip()
        elif kw == "WORKDIR":
            cfg["WorkingDir"] = rest.strip()
        elif kw == "STOPSIGNAL":
            cfg["StopSignal"] = rest.strip()
        elif kw == "ONBUILD":
            cfg["OnBuild"] = [*(cfg.get("OnBuild") or []), rest.strip()]
    return cfg
