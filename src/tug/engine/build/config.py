"""Pure edits of an image config by the instructions that change only metadata, and the history entry each step
adds. `apply_meta(raw, instr, ...)` returns nothing and edits `raw["config"]` in place, as docker's classic builder
does (ENTRYPOINT clears an inherited CMD, HEALTHCHECK NONE disables, ONBUILD appends a trigger...).
"""

from __future__ import annotations

import copy
import json
import posixpath
from datetime import UTC, datetime
from typing import Any

from tug.dockerfile import instructions as ins
from tug.dockerfile.history import command_with_shell

LEGACY_KEYS = ("container", "container_config", "parent", "id", "docker_version")


def epoch_text(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def config_bytes(raw: dict[str, Any]) -> bytes:
    """Canonical bytes: the same config always hashes to the same id."""
    return json.dumps(raw, separators=(",", ":"), sort_keys=True).encode()


def scratch(os_name: str = "linux", arch: str = "amd64", variant: str = "") -> dict[str, Any]:
    raw: dict[str, Any] = {"architecture": arch, "os": os_name, "config": {},
                           "rootfs": {"type": "layers", "diff_ids": []}, "history": []}
    if variant:
        raw["variant"] = variant
    return raw


def from_base(raw: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(raw)
    for key in LEGACY_KEYS:
        out.pop(key, None)
    out.setdefault("config", {})
    out.setdefault("rootfs", {"type": "layers", "diff_ids": []})
    out.setdefault("history", [])
    return out


def resolve_workdir(current: str, path: str) -> str:
    if not path.startswith("/"):
        path = posixpath.join(current or "/", path)
    cleaned = posixpath.normpath(path)
    return "/" if cleaned in ("//", "/.") else cleaned


def apply_meta(raw: dict[str, Any], instr: ins.Instruction, *, shell: list[str], env: list[str],
               cmd_set: bool) -> bool:
    """Apply one metadata instruction; returns the new `cmd_set` (CMD set in this stage)."""
    cfg = raw.setdefault("config", {})
    if isinstance(instr, ins.Label):
        labels = dict(cfg.get("Labels") or {})
        labels.update({p.key: p.value for p in instr.pairs})
        cfg["Labels"] = labels
    elif isinstance(instr, ins.Env):
        cfg["Env"] = list(env)
    elif isinstance(instr, ins.Cmd):
        cfg["Cmd"] = command_with_shell(instr.command, instr.shell_form, shell)
        return True
    elif isinstance(instr, ins.Entrypoint):
        cfg["Entrypoint"] = command_with_shell(instr.command, instr.shell_form, shell)
        if not cmd_set:
            cfg["Cmd"] = None
    elif isinstance(instr, ins.Workdir):
        cfg["WorkingDir"] = resolve_workdir(cfg.get("WorkingDir") or "", instr.path)
    elif isinstance(instr, ins.User):
        cfg["User"] = instr.user
    elif isinstance(instr, ins.Expose):
        ports = dict(cfg.get("ExposedPorts") or {})
        for p in instr.ports:
            ports[p if "/" in p else f"{p}/tcp"] = {}
        cfg["ExposedPorts"] = ports
    elif isinstance(instr, ins.Volume):
        vols = dict(cfg.get("Volumes") or {})
        for v in instr.volumes:
            if not v.strip():
                raise ValueError("VOLUME specified can not be an empty string")
            vols[v] = {}
        cfg["Volumes"] = vols
    elif isinstance(instr, ins.StopSignal):
        cfg["StopSignal"] = instr.signal
    elif isinstance(instr, ins.Healthcheck):
        if instr.test == ["NONE"]:
            cfg["Healthcheck"] = {"Test": ["NONE"]}
        else:
            old = cfg.get("Healthcheck") or {}
            hc = instr.config()
            for key in ("Interval", "Timeout", "StartPeriod", "StartInterval", "Retries"):
                if key not in hc and key in old and old.get("Test") != ["NONE"]:
                    pass  # docker does not inherit durations from an earlier HEALTHCHECK
            cfg["Healthcheck"] = hc
    elif isinstance(instr, ins.Shell):
        cfg["Shell"] = list(instr.shell)
    elif isinstance(instr, ins.Onbuild):
        cfg["OnBuild"] = [*(cfg.get("OnBuild") or []), instr.expression]
    elif isinstance(instr, ins.Maintainer):
        raw["author"] = instr.maintainer
    elif isinstance(instr, ins.Arg):
        pass
    else:
        raise TypeError(f"{type(instr).__name__} is not a metadata instruction")
    return cmd_set


def add_history(raw: dict[str, Any], created: str, created_by: str, empty_layer: bool) -> None:
    entry: dict[str, Any] = {"created": created, "created_by": created_by}
    if empty_layer:
        entry["empty_layer"] = True
    raw.setdefault("history", []).append(entry)
    raw["created"] = created


def drop_none(raw: dict[str, Any]) -> None:
    cfg = raw.get("config") or {}
    for key in [k for k, v in cfg.items() if v is None]:
        del cfg[key]
