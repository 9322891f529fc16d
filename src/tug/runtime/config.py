"""Reading an OCI bundle's config.json: the checks the runtime needs before it forks anything.

The runtime works on the plain dict (it reads any bundle, not only tug's); this module validates the parts it
acts on and answers the few questions several verbs ask.
"""

from __future__ import annotations

import os

from tug.errors import Invalid, NotFound
from tug.runtime import jsonio

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

SUPPORTED_MAJOR = 1
# linux.namespaces[].type values (tug.sys.ns.BY_OCI_TYPE has their flags; not imported here, it loads ctypes)
NAMESPACE_TYPES = ("pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time")
_ID_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_+-.")


def check_id(cid: str) -> str:
    if not cid or not set(cid) <= _ID_CHARS or cid in (".", ".."):
        raise Invalid(f"invalid container id format: {cid!r}")
    return cid


def load(bundle: str) -> dict[str, Any]:
    path = os.path.join(bundle, "config.json")
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise NotFound(f"JSON specification file {path} not found", where=path) from None
    spec = jsonio.loads(raw, where=path)
    validate(spec)
    return spec


def validate(spec: Any) -> None:
    """Raise Invalid naming the first problem; accepts every 1.x ociVersion."""
    if not isinstance(spec, dict):
        raise Invalid("config.json: the document is not an object")
    version = spec.get("ociVersion")
    if not isinstance(version, str) or not version:
        raise Invalid("config.json: ociVersion is missing")
    major = version.split(".", 1)[0]
    if not major.isdigit() or int(major) != SUPPORTED_MAJOR:
        raise Invalid(f"config.json: unsupported ociVersion {version!r} (tug-runtime runs 1.x specs)")
    root = spec.get("root")
    if not isinstance(root, dict) or not isinstance(root.get("path"), str) or not root["path"]:
        raise Invalid("config.json: root.path is missing")
    proc = spec.get("process")
    if not isinstance(proc, dict):
        raise Invalid("config.json: process is missing")
    validate_process(proc)
    linux = spec.get("linux") or {}
    if not isinstance(linux, dict):
        raise Invalid("config.json: linux is not an object")
    seen = set()
    for ns in linux.get("namespaces") or ():
        t = ns.get("type") if isinstance(ns, dict) else None
        if t not in NAMESPACE_TYPES:
            raise Invalid(f"config.json: unknown namespace type {t!r}")
        if t in seen:
            raise Invalid(f"config.json: namespace {t!r} is listed twice")
        seen.add(t)
    if "mount" not in seen:
        raise Invalid("config.json: tug-runtime needs a mount namespace (linux.namespaces has no 'mount')")
    if "user" in seen and not namespace_path(spec, "user") and not (linux.get("uidMappings")
                                                                      and linux.get("gidMappings")):
        raise Invalid("config.json: new user namespaces need linux.uidMappings and linux.gidMappings")
    if spec.get("hostname") and "uts" not in seen:
        raise Invalid("config.json: setting the hostname needs a private UTS namespace")
    for i, mnt in enumerate(spec.get("mounts") or ()):
        if not isinstance(mnt, dict) or not isinstance(mnt.get("destination"), str) or not mnt["destination"]:
            raise Invalid(f"config.json: mounts[{i}] has no destination")


def validate_process(proc: dict[str, Any]) -> None:
    args = proc.get("args")
    if not isinstance(args, list) or not args or not all(isinstance(a, str) for a in args):
        raise Invalid("config.json: process.args must be a non-empty list of strings")
    cwd = proc.get("cwd", "/")
    if not isinstance(cwd, str) or not cwd.startswith("/"):
        raise Invalid(f"config.json: process.cwd must be an absolute path, not {cwd!r}")
    user = proc.get("user") or {}
    for k in ("uid", "gid"):
        if not isinstance(user.get(k, 0), int) or user.get(k, 0) < 0:
            raise Invalid(f"config.json: process.user.{k} must be a non-negative integer")
    for e in proc.get("env") or ():
        if not isinstance(e, str):
            raise Invalid("config.json: process.env entries must be strings")


def namespaces(spec: dict[str, Any]) -> dict[str, str | None]:
    """OCI namespace type -> path to join (None: a new one)."""
    return {ns["type"]: ns.get("path") or None for ns in (spec.get("linux") or {}).get("namespaces") or ()}


def namespace_path(spec: dict[str, Any], kind: str) -> str | None:
    return namespaces(spec).get(kind)


def rootfs_path(spec: dict[str, Any], bundle: str) -> str:
    return os.path.normpath(os.path.join(bundle, spec["root"]["path"]))
