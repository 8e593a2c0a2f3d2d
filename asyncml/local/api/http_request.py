"""[8] subscription (local API): reading one POST /graphql: size and time bounded, then checked as JSON.

Everything a client can get wrong about the request itself (not the document's fields) is answered
here with HTTP 400 (413 for size) and a GraphQL-shaped error, instead of a plain-text 500."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from graphql import GraphQLError, OperationDefinitionNode, OperationType, parse
from starlette.requests import ClientDisconnect, Request

from asyncml.settings import Settings
from asyncml.submit import MAX_METADATA_BYTES

MALFORMED = "MalformedHttpRequestException"
TOO_LARGE = "PayloadTooLargeException"
_JSON_SLACK = 1024  # per input: field names, a clientToken, quotes and escapes
_CACHED_DOCUMENT = 16 * 1024


def body_limit(settings: Settings) -> int:
    """The largest body a legal request needs: a full submitJobs of maximal inputs."""
    per_input = settings.max_payload_bytes + MAX_METADATA_BYTES + _JSON_SLACK
    return settings.max_inputs_per_call * per_input


@dataclass(frozen=True)
class Refusal(Exception):
    status: int
    error_type: str
    message: str
    field: str | None = None

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"errorType": self.error_type, "message": self.message}
        if self.field is not None:
            error["extensions"] = {"errorType": self.error_type, "field": self.field}
        return {"data": None, "errors": [error]}


@dataclass(frozen=True)
class Operation:
    query: str
    variables: dict[str, Any] | None
    operation_name: str | None


async def read_body(request: Request, limit: int, within: float) -> bytes:
    """The body, refused as soon as it passes `limit` (never buffered beyond it) or stalls."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(int(declared), limit)
    chunks, size = [], 0
    try:
        async with asyncio.timeout(within):
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise _too_large(size, limit)
                chunks.append(chunk)
    except TimeoutError:
        raise Refusal(408, MALFORMED, f"the request body took longer than {within:g} s to arrive") from None
    return b"".join(chunks)


def _too_large(size: int, limit: int) -> Refusal:
    return Refusal(413, TOO_LARGE, f"the request body is over {limit} bytes (at least {size}); the limit is "
                   f"{limit} (500 inputs of the largest payload)", "body")  # fmt: skip


def parse_operation(raw: bytes) -> Operation:
    """{query, variables?, operationName?} as JSON, with the operation it names checked."""
    try:
        body = json.loads(raw)
    except RecursionError:
        raise Refusal(400, MALFORMED, "the request body nests too deeply", "body") from None
    except ValueError as exc:
        raise Refusal(400, MALFORMED, f"the request body is not JSON ({exc})", "body") from None
    if not isinstance(body, dict):
        raise Refusal(400, MALFORMED, "send one operation as a JSON object {query, variables?}", "body")
    query, variables, name = body.get("query"), body.get("variables"), body.get("operationName")
    if not isinstance(query, str) or not query.strip():
        raise Refusal(400, MALFORMED, "query is missing or empty; send a GraphQL document", "query")
    if not isinstance(variables, dict | None):
        raise Refusal(400, MALFORMED, "variables must be a JSON object", "variables")
    if not isinstance(name, str | None):
        kind = type(name).__name__
        raise Refusal(400, MALFORMED, f"operationName must be a string, not {kind}", "operationName")
    _check_operation(query, name)
    return Operation(query, variables, name)


def _check_operation(query: str, name: str | None) -> None:
    # Only small documents are cached: one holding 100 MB of inline payloads must not be kept.
    ops = _operations(query) if len(query) <= _CACHED_DOCUMENT else _operations.__wrapped__(query)
    if ops is None:
        return  # a syntax error: strawberry answers it as a ValidationError, as AppSync does
    if name:
        named = [o for o in ops if o.name and o.name.value == name]
        if not named:
            message = f"operationName {name!r} names no operation in the document"
            raise Refusal(400, "ValidationError", message, "operationName")
        kind = named[0].operation
    elif len(ops) > 1:
        message = f"operationName is missing and the document holds {len(ops)} operations; name one"
        raise Refusal(400, "ValidationError", message, "operationName")
    elif ops:
        kind = ops[0].operation
    else:
        return
    if kind is OperationType.SUBSCRIPTION:
        message = "query holds a subscription, which POST cannot carry; open a WebSocket to /graphql/realtime"
        raise Refusal(400, "UnsupportedOperation", message, "query")


@lru_cache(maxsize=512)
def _operations(query: str) -> tuple[OperationDefinitionNode, ...] | None:
    try:
        document = parse(query)
    except (GraphQLError, RecursionError):
        return None
    return tuple(d for d in document.definitions if isinstance(d, OperationDefinitionNode))


__all__ = ["ClientDisconnect", "Operation", "Refusal", "body_limit", "parse_operation", "read_body"]
