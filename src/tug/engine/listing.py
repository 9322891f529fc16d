"""`ps`: which containers to list (docker's `-a`, `-n`, `-l`, `--filter`) and the fields of each row.

Filters: the same key given twice is OR, different keys AND, as docker does: `id=` (prefix), `name=` (substring,
regular expression), `status=`, `ancestor=` (image name, with or without tag, or id prefix), `label=KEY` or
`label=KEY=VALUE`, `exited=CODE`. A `status` or `exited` filter lists stopped containers without `-a`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from tug.engine.containers import Container
from tug.engine.humanize import human_duration, parse_time
from tug.errors import Invalid

STATUSES = ("created", "restarting", "running", "removing", "paused", "exited", "dead")
KEYS = ("id", "name", "status", "ancestor", "label", "exited", "before", "since", "health", "volume", "network",
        "publish", "expose", "is-task")


def parse_filters(values: list[str] | tuple[str, ...], keys: tuple[str, ...] = KEYS) -> dict[str, list[str]]:
    """docker's `--filter key=value` list, grouped by key; `keys` are the ones the verb knows (ps's by default)."""
    out: dict[str, list[str]] = {}
    for v in values:
        key, sep, val = v.partition("=")
        if not sep:
            raise Invalid(f"bad format of filter (expected name=value): {v}")
        if key not in keys:
            raise Invalid(f"invalid filter '{key}'")
        if key == "status" and val not in STATUSES:
            raise Invalid(f"invalid filter 'status={val}'", hint="one of " + ", ".join(STATUSES))
        out.setdefault(key, []).append(val)
    return out


def _labels(ctr: Container) -> dict[str, str]:
    out: dict[str, str] = dict(ctr.extra.get("image_labels") or {})
    for lbl in ctr.options.labels:
        k, _, v = lbl.partition("=")
        out[k] = v
    return out


def _tagged(ref: str) -> str:
    last = ref.rsplit("/", 1)[-1]
    return ref if ":" in last or "@" in last else ref + ":latest"


def _ancestor(ctr: Container, want: str) -> bool:
    if _tagged(want) == _tagged(ctr.image_name):
        return True
    iid = (ctr.image_id or "").removeprefix("sha256:")
    w = want.removeprefix("sha256:")
    return bool(iid) and len(w) >= 4 and iid.startswith(w)


def matches(ctr: Container, filters: dict[str, list[str]]) -> bool:
    for key, values in filters.items():
        if key == "id" and not any(ctr.id.startswith(v) for v in values):
            return False
        if key == "name" and not any(re.search(v, ctr.name) for v in values):
            return False
        if key == "status" and ctr.status not in values:
            return False
        if key == "ancestor" and not any(_ancestor(ctr, v) for v in values):
            return False
        if key == "exited" and not (ctr.status == "exited"
                                    and str(ctr.state.get("ExitCode", 0)) in values):
            return False
        if key == "health":
            health = (ctr.state.get("Health") or {}).get("Status") or "none"
            if health not in values:
                return False
        if key == "label":
            labels = _labels(ctr)
            for v in values:
                k, sep, val = v.partition("=")
                if k not in labels or (sep and labels[k] != val):
                    return False
    return True


def select(ctrs: list[Container], all_: bool, last: int, filters: dict[str, list[str]]) -> list[Container]:
    ctrs = sorted(ctrs, key=lambda c: c.created, reverse=True)
    if "status" in filters or "exited" in filters:
        all_ = True
    if last < 0 and not all_:
        ctrs = [c for c in ctrs if c.status in ("running", "paused", "restarting")]
    ctrs = [c for c in ctrs if matches(c, filters)]
    return ctrs[:last] if last >= 0 else ctrs


def created_at(text: str) -> str:
    """docker's `{{.CreatedAt}}`: `2024-01-02 15:04:05 +0000 UTC`."""
    dt = parse_time(text)
    return dt.strftime("%Y-%m-%d %H:%M:%S +0000 UTC") if dt else text


def status_text(ctr: Container, now: datetime | None = None) -> str:
    """`Created`, `Up 7 seconds`, `Up 3 minutes (healthy)`, `Exited (0) 2 minutes ago`, as docker words them."""
    now = now or datetime.now(UTC)
    st = ctr.state
    status = ctr.status
    if status == "created":
        return "Created"
    if status in ("running", "paused"):
        started = parse_time(st.get("StartedAt") or "") or now
        text = "Up " + human_duration(max(0.0, (now - started).total_seconds()))
        if status == "paused":
            return text + " (Paused)"
        health = (st.get("Health") or {}).get("Status")
        if health:
            text += f" ({'health: starting' if health == 'starting' else health})"
        return text
    if status == "restarting":
        finished = parse_time(st.get("FinishedAt") or "") or now
        return (f"Restarting ({st.get('ExitCode', 0)}) "
                f"{human_duration(max(0.0, (now - finished).total_seconds()))} ago")
    if status == "removing":
        return "Removal In Progress"
    if status == "dead":
        return "Dead"
    finished = parse_time(st.get("FinishedAt") or "")
    if finished is None:
        return f"Exited ({st.get('ExitCode', 0)})"
    return f"Exited ({st.get('ExitCode', 0)}) {human_duration(max(0.0, (now - finished).total_seconds()))} ago"


def ports_text(ctr: Container) -> str:
    """Exposed ports while the container runs (`22/tcp, 4403/tcp`); published ones come from networking."""
    if ctr.status not in ("running", "paused", "restarting"):
        return ""
    published = ctr.extra.get("published_ports_text")
    if published:
        return str(published)
    return ", ".join(ctr.extra.get("exposed_ports") or [])


def row(ctr: Container, no_trunc: bool = False, now: datetime | None = None) -> dict[str, Any]:
    from tug.engine.humanize import ago

    args = list(ctr.extra.get("args") or [])
    command = " ".join(args)
    if not no_trunc and len(command) > 20:
        command = command[:19] + "…"
    labels = _labels(ctr)
    return {
        "ID": ctr.id if no_trunc else ctr.id[:12],
        "Image": ctr.image_name,
        "Command": f'"{command}"',
        "CreatedAt": created_at(ctr.created),
        "RunningFor": ago(ctr.created, now),
        "Status": status_text(ctr, now),
        "State": ctr.status,
        "Ports": ports_text(ctr),
        "Names": ctr.name,
        "Labels": ",".join(f"{k}={v}" for k, v in sorted(labels.items())),
        "Mounts": ",".join(v.split(":")[0] for v in ctr.options.volumes),
        "Networks": ctr.options.network or "bridge",
        "Size": "",
    }
