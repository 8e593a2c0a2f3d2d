"""[1][8] the local API's one API-key check, for HTTP, strawberry's WebSocket protocols and AppSync real-time.

The words are AppSync's own, so a client's error handling works unchanged against both."""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Any

UNAUTHORIZED = "UnauthorizedException"
MISSING_KEY = "Valid authorization header not provided."  # AppSync's answer to a missing x-api-key
WRONG_KEY = "You are not authorized to make this call."
HEADER = "x-api-key"


def unauthorized(message: str = WRONG_KEY) -> dict[str, Any]:
    """The error object AppSync sends for a refused key."""
    return {"errorType": UNAUTHORIZED, "message": message}


class ApiKeyAuth:
    def __init__(self, api_key: str) -> None:
        self._key = api_key.encode()

    def key_ok(self, given: object) -> bool:
        # compare_digest: how long the comparison takes says nothing about the key.
        return isinstance(given, str) and hmac.compare_digest(given.encode(), self._key)

    def headers_ok(self, headers: object) -> bool:
        """An AppSync auth object (`{"host": ..., "x-api-key": ...}`), header names in any case."""
        if not isinstance(headers, Mapping):
            return False
        return self.key_ok(next((v for k, v in headers.items() if str(k).lower() == HEADER), None))
