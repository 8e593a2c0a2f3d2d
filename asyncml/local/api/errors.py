"""[8] subscription (local API): core errors as AppSync-shaped GraphQL errors; anything unexpected masked."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from graphql import GraphQLError
from strawberry.extensions import MaskErrors

from asyncml.errors import AsyncmlError

log = logging.getLogger("asyncml.graphql")

UNEXPECTED = "Unexpected error."
# AppSync answers a document that fails GraphQL validation with this errorType too.
DOCUMENT_ERROR = "ValidationError"
INTERNAL_ERROR = AsyncmlError.error_type


def translate(error: GraphQLError) -> GraphQLError:
    """Give every error an `errorType` extension; hide what the user cannot act on."""
    orig = error.original_error
    if isinstance(orig, AsyncmlError):
        ext: dict[str, Any] = {"errorType": orig.error_type}
        if orig.field:
            ext["field"] = orig.field
        message = orig.message
    elif orig is None or isinstance(orig, GraphQLError):
        # Parse and validation errors, and permission refusals (which carry their own errorType).
        ext = {"errorType": DOCUMENT_ERROR, **(error.extensions or {})}
        message = error.message
    else:
        ext = {"errorType": INTERNAL_ERROR}
        message = UNEXPECTED
    return GraphQLError(
        message, error.nodes, error.source, error.positions, error.path, original_error=None, extensions=ext
    )


def formatted(error: GraphQLError) -> dict[str, Any]:
    """The error as AppSync sends it: `errorType` at the top level (what AppSync clients read), and
    in `extensions` too (what generic GraphQL clients read)."""
    out = translate(error).formatted
    ext = dict(out.get("extensions") or {})
    return {**out, "errorType": ext.get("errorType", DOCUMENT_ERROR)}


class AppSyncErrors(MaskErrors):
    """MaskErrors' hooks cover single results and streamed ones; only the per-error rule differs."""

    def _process_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        return [translate(e) for e in errors]


def log_unexpected(errors: Iterable[GraphQLError]) -> None:
    for error in errors:
        orig = error.original_error
        if orig is not None and not isinstance(orig, AsyncmlError | GraphQLError):
            log.error("unexpected error in %s", error.path, exc_info=orig)
