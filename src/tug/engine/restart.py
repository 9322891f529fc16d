"""Restart policies (`--restart no|on-failure[:N]|always|unless-stopped`): parsing and the monitor's decision.

Pure functions; the monitor applies them when a container's process ends. A daemonless engine restarts containers
whose process exits; nothing restarts them after the host reboots (there is no daemon to start at boot).
"""

from __future__ import annotations

POLICIES = ("no", "on-failure", "always", "unless-stopped")
FIRST_DELAY = 0.1  # seconds; doubled on each restart, up to MAX_DELAY, as docker does
MAX_DELAY = 60.0
RESET_AFTER = 10.0  # a run at least this long resets the back-off


class Policy:
    """A restart policy (a plain class: the monitor imports this module and `dataclasses` weighs 2 MB)."""

    __slots__ = ("name", "max_retries")

    def __init__(self, name: str = "no", max_retries: int = 0) -> None:
        self.name = name
        self.max_retries = max_retries  # on-failure:N; 0 = unlimited

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Policy) and (self.name, self.max_retries) == (other.name, other.max_retries)

    def __repr__(self) -> str:
        return f"Policy({self.name!r}, {self.max_retries})"

    def to_dict(self) -> dict[str, object]:
        return {"Name": self.name, "MaximumRetryCount": self.max_retries}


def parse(text: str | None) -> Policy:
    from tug.errors import Invalid

    if not text:
        return Policy()
    name, sep, count = text.partition(":")
    if name not in POLICIES:
        raise Invalid(f"invalid restart policy '{text}'", hint="use no, on-failure[:max-retries], always or "
                      "unless-stopped")
    if sep:
        if name != "on-failure":
            raise Invalid(f"invalid restart policy '{text}': maximum retry count can only be used with 'on-failure'")
        if not count.isdigit():
            raise Invalid(f"invalid restart policy '{text}': maximum retry count must be a non-negative integer")
        return Policy(name, int(count))
    return Policy(name)


def should_restart(policy: Policy, exit_code: int, restart_count: int, stopped_by_user: bool) -> bool:
    if stopped_by_user or policy.name == "no":
        return False
    if policy.name == "on-failure":
        return exit_code != 0 and (policy.max_retries == 0 or restart_count < policy.max_retries)
    return True


def next_delay(previous: float, ran_for: float) -> float:
    """The back-off before the next start: 100 ms, doubling, capped at a minute; reset after a long enough run."""
    if previous <= 0 or ran_for >= RESET_AFTER:
        return FIRST_DELAY
    return min(previous * 2, MAX_DELAY)
