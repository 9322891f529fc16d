"""The closed set of error kinds tug raises.

Every failure that reaches a user is a `TugError` subclass carrying a one-line message, the object or path it is
about (`where`) and, where it helps, a hint. Edges translate the kind once: `cli/` into an exit code, `api/` into an
HTTP status. A cleanup failure is attached with `add_cleanup_error` and never replaces the original error.
"""

from __future__ import annotations


class TugError(Exception):
    """Base of every error kind. `exit_code` is what the CLI exits with (docker's 125 for engine errors)."""

    kind = "error"
    exit_code = 125
    http_status = 500

    def __init__(self, message: str, *, where: str | None = None, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.where = where
        self.hint = hint
        self.cleanup_errors: list[BaseException] = []

    def add_cleanup_error(self, err: BaseException) -> None:
        self.cleanup_errors.append(err)

    def one_line(self) -> str:
        text = self.message
        if self.where and self.where not in text:
            text = f"{self.where}: {text}"
        if self.hint:
            text = f"{text} ({self.hint})"
        return text

    def __str__(self) -> str:
        return self.one_line()


class NotFound(TugError):
    kind = "not found"
    http_status = 404


class Conflict(TugError):
    kind = "conflict"
    http_status = 409


class Invalid(TugError):
    """Bad input: a flag, a reference, a manifest, a Dockerfile, a tar entry."""

    kind = "invalid"
    http_status = 400


class Unavailable(TugError):
    """Something outside is not there or not answering: a registry, a kernel feature, a peer."""

    kind = "unavailable"
    http_status = 503


class Corrupt(TugError):
    """Content that does not match what it claims: a digest that lies, a truncated blob, a broken store entry."""

    kind = "corrupt"
    http_status = 500


class Denied(TugError):
    kind = "denied"
    http_status = 403


class Unauthorized(TugError):
    kind = "unauthorized"
    http_status = 401


class SystemFailure(TugError):
    """A syscall or the kernel said no. Carries errno where one exists."""

    kind = "system"
    http_status = 500

    def __init__(self, message: str, *, errno: int | None = None, where: str | None = None, hint: str | None = None):
        super().__init__(message, where=where, hint=hint)
        self.errno = errno


class CannotInvoke(TugError):
    """The container's command exists but cannot be run (docker exit 126)."""

    kind = "cannot invoke"
    exit_code = 126
    http_status = 400


class CommandNotFound(TugError):
    """The container's command does not exist (docker exit 127)."""

    kind = "command not found"
    exit_code = 127
    http_status = 404
