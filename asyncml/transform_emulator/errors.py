"""[4] transform: the emulator's own errors (it imports nothing else of asyncml, so it could ship alone)."""

from __future__ import annotations


class InvalidTransformRequest(Exception):
    """A CreateTransformJob-shaped request that SageMaker's own validation would refuse.

    `error_type` is what boto3 shows as the error code (`ValidationException`); `field` the dotted
    path of the first offending field, when there is one."""

    error_type = "ValidationException"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
