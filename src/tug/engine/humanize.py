"""Docker's human words for sizes, durations and times (go-units), shared by the CLI and the API."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:  # datetime is imported where a function needs it: `tug run` records a time, parses none
    from datetime import datetime


def human_size(size: float, precision: int = 3) -> str:
    """go-units HumanSizeWithPrecision: decimal units, %.{precision}g."""
    units = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"]
    i = 0
    size = float(size)
    while size >= 1000.0 and i < len(units) - 1:
        size /= 1000.0
        i += 1
    return f"{size:.{precision}g}{units[i]}"


def human_duration(seconds: float) -> str:
    """go-units HumanDuration."""
    s = int(seconds)
    if s < 1:
        return "Less than a second"
    if s == 1:
        return "1 second"
    if s < 60:
        return f"{s} seconds"
    minutes = int(seconds // 60)
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    hours = int((seconds + 1800) // 3600)  # rounded to the nearest hour
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // 24 // 7} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // 24 // 30} months"
    return f"{int(seconds // 3600) // 24 // 365} years"


def parse_time(text: str) -> datetime | None:
    """RFC 3339 with any number of fractional digits (Go writes nanoseconds)."""
    if not text:
        return None
    t = text.strip().replace("Z", "+00:00")
    if "." in t:
        head, _, rest = t.partition(".")
        digits = ""
        i = 0
        while i < len(rest) and rest[i].isdigit():
            digits += rest[i]
            i += 1
        t = f"{head}.{digits[:6].ljust(6, '0')}{rest[i:]}"
    try:
        from datetime import UTC, datetime

        dt = datetime.fromisoformat(t)
    except ValueError:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def ago(text: str, now: datetime | None = None) -> str:
    dt = parse_time(text)
    if dt is None:
        return "N/A"
    from datetime import UTC, datetime

    now = now or datetime.now(UTC)
    return human_duration(max(0.0, (now - dt).total_seconds())) + " ago"
