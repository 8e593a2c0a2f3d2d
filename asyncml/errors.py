"""User-facing errors: each names the field and the limit; both runtimes map `error_type` the same way."""

from __future__ import annotations


class AsyncmlError(Exception):
    """Base of every error a client may see. `error_type` becomes GraphQL's `errorType`."""

    error_type = "InternalError"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class ValidationError(AsyncmlError):
    """The input breaks a documented limit; nothing was stored."""

    error_type = "ValidationError"


class NotFound(AsyncmlError):
    error_type = "NotFound"


class Unauthorized(AsyncmlError):
    error_type = "Unauthorized"


class Conflict(AsyncmlError):
    """The request is valid but the object's current state forbids it (e.g. cancelling a BATCHED job)."""

    error_type = "Conflict"


class Unavailable(AsyncmlError):
    """The request is valid but the service cannot take it now (a full disk, say); nothing was stored."""

    error_type = "ServiceUnavailable"
