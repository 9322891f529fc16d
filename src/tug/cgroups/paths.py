"""OCI `linux.cgroupsPath` -> a plain cgroup path.

Absolute paths are taken as given (below each hierarchy's root), relative ones are placed under the caller's own
cgroup (as runc does), and systemd's `slice:prefix:name` form is mapped to the path systemd would use, since tug
has no systemd to ask: `system.slice:tug:abc` -> `/system.slice/tug-abc.scope`.
"""

from __future__ import annotations

from tug.errors import Invalid


def _clean(path: str, original: str) -> str:
    parts = [p for p in path.split("/") if p and p != "."]
    if any(p == ".." for p in parts):
        raise Invalid(f"cgroups path {original!r} must not contain '..'", where="linux.cgroupsPath")
    return "/".join(parts)


def expand_slice(slice_name: str, original: str) -> str:
    """`a-b-c.slice` -> `/a.slice/a-b.slice/a-b-c.slice`; `-.slice` (the root slice) -> ``."""
    if slice_name == "-.slice":
        return ""
    if not slice_name.endswith(".slice") or "/" in slice_name:
        raise Invalid(f"{slice_name!r} is not a systemd slice name", where=original)
    stem = slice_name.removesuffix(".slice")
    if not stem or stem.startswith("-") or stem.endswith("-") or "--" in stem:
        raise Invalid(f"{slice_name!r} is not a valid systemd slice name", where=original)
    words = stem.split("-")
    return "/".join("-".join(words[: i + 1]) + ".slice" for i in range(len(words)))


def is_systemd_form(cgroups_path: str) -> bool:
    return not cgroups_path.startswith("/") and cgroups_path.count(":") == 2


def normalize(cgroups_path: str) -> tuple[bool, str]:
    """(is absolute, path without leading slash). Raises Invalid on empty, `..`, or a malformed systemd form."""
    if not cgroups_path or not cgroups_path.strip("/"):
        raise Invalid("cgroups path is empty", where="linux.cgroupsPath")
    if is_systemd_form(cgroups_path):
        slice_name, prefix, name = cgroups_path.split(":")
        if not name:
            raise Invalid(f"systemd cgroups path {cgroups_path!r} has no name", where="linux.cgroupsPath")
        parent = expand_slice(slice_name or "system.slice", cgroups_path)
        if name.endswith(".slice"):
            unit = name
        else:
            unit = f"{prefix}-{name}.scope" if prefix else f"{name}.scope"
        return True, _clean(f"{parent}/{unit}", cgroups_path)
    return cgroups_path.startswith("/"), _clean(cgroups_path, cgroups_path)
