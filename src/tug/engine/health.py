"""Healthchecks: the image's HEALTHCHECK merged with `--health-*` flags, and the state docker reports.

The monitor runs the probes (through the runtime's `exec`) and feeds each result to `HealthState.record`; `ps` and
`inspect` show what the monitor wrote. Pure, and small enough for the monitor to import.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

DEFAULT_INTERVAL = 30.0
DEFAULT_TIMEOUT = 30.0
DEFAULT_START_INTERVAL = 5.0
DEFAULT_RETRIES = 3
MAX_LOG_ENTRIES = 5
MAX_OUTPUT = 4096

_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str) -> float:
    """A Go duration (`30s`, `1m30s`, `500ms`) in seconds."""
    from tug.errors import Invalid

    t = text.strip()
    if t == "0":
        return 0.0
    total, i = 0.0, 0
    if not t:
        raise Invalid(f'invalid duration "{text}"')
    while i < len(t):
        j = i
        while j < len(t) and (t[j].isdigit() or t[j] == "."):
            j += 1
        k = j
        while k < len(t) and not (t[k].isdigit() or t[k] == "."):
            k += 1
        num, unit = t[i:j], t[j:k]
        if not num or unit not in _UNITS:
            raise Invalid(f'invalid duration "{text}"', hint="use units such as 500ms, 30s, 1m30s")
        total += float(num) * _UNITS[unit]
        i = k
    return total


def resolve(image_check: dict[str, Any] | None, opts: Any) -> dict[str, Any] | None:
    """The effective healthcheck as {test, interval, timeout, start_period, start_interval, retries} (seconds), or
    None when there is none (`--no-healthcheck`, `HEALTHCHECK NONE`, or neither image nor flags give one)."""
    if getattr(opts, "no_healthcheck", False):
        return None
    img = dict(image_check or {})
    test = list(img.get("Test") or [])
    if opts.health_cmd:
        test = ["CMD-SHELL", opts.health_cmd]
    if not test or test[0] == "NONE":
        return None

    def pick(flag: str | None, key: str, default: float) -> float:
        if flag:
            return parse_duration(flag)
        ns = img.get(key) or 0
        return ns / 1e9 if ns else default

    retries = getattr(opts, "health_retries", None) or img.get("Retries") or DEFAULT_RETRIES
    return {
        "test": test,
        "interval": pick(getattr(opts, "health_interval", None), "Interval", DEFAULT_INTERVAL),
        "timeout": pick(getattr(opts, "health_timeout", None), "Timeout", DEFAULT_TIMEOUT),
        "start_period": pick(getattr(opts, "health_start_period", None), "StartPeriod", 0.0),
        "start_interval": pick(getattr(opts, "health_start_interval", None), "StartInterval",
                               DEFAULT_START_INTERVAL),
        "retries": int(retries),
    }


def probe_args(test: list[str]) -> list[str]:
    if test[0] == "CMD-SHELL":
        return ["/bin/sh", "-c", " ".join(test[1:])]
    if test[0] == "CMD":
        return list(test[1:])
    return list(test)


def config_document(check: dict[str, Any] | None) -> dict[str, Any] | None:
    """The healthcheck as docker's `Config.Healthcheck` (durations in nanoseconds)."""
    if check is None:
        return None
    return {"Test": check["test"], "Interval": int(check["interval"] * 1e9), "Timeout": int(check["timeout"] * 1e9),
            "StartPeriod": int(check["start_period"] * 1e9), "StartInterval": int(check["start_interval"] * 1e9),
            "Retries": check["retries"]}


class HealthState:
    """docker's `State.Health`: Status starting|healthy|unhealthy, FailingStreak, the last five results."""

    def __init__(self, retries: int) -> None:
        self.retries = max(1, retries)
        self.doc: dict[str, Any] = {"Status": "starting", "FailingStreak": 0, "Log": []}

    def record(self, start: str, end: str, exit_code: int, output: str, in_start_period: bool) -> None:
        log = self.doc["Log"]
        log.append({"Start": start, "End": end, "ExitCode": exit_code, "Output": output[:MAX_OUTPUT]})
        del log[:-MAX_LOG_ENTRIES]
        if exit_code == 0:
            self.doc["Status"] = "healthy"
            self.doc["FailingStreak"] = 0
            return
        if in_start_period and self.doc["Status"] != "healthy":
            return  # failures during the start period do not count
        self.doc["FailingStreak"] += 1
        if self.doc["FailingStreak"] >= self.retries:
            self.doc["Status"] = "unhealthy"
