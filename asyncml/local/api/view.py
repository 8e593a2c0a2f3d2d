"""[8] subscription (local API): strawberry's ASGI view with API-key auth and AppSync-shaped errors."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLHTTPResponse
from strawberry.schema import BaseSchema
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType
from strawberry.types.unset import UnsetType

from asyncml.local.api import fast_submit
from asyncml.local.api.auth import HEADER, ApiKeyAuth, unauthorized
from asyncml.local.api.errors import formatted
from asyncml.local.api.http_request import (
    MALFORMED,
    ClientDisconnect,
    Refusal,
    body_limit,
    parse_operation,
    read_body,
)
from asyncml.local.api.outbox import MAX_QUEUED_BYTES
from asyncml.local.api.realtime import INIT_WAIT
from asyncml.local.api.schema import ApiContext, schema
from asyncml.local.api.ws_protocols import BufferedWebSocket, GraphQLWsHandler, TransportWsHandler

_HTTP_OPERATIONS = frozenset({OperationType.QUERY, OperationType.MUTATION})
# GraphiQL's built files ship in the package (static/graphiql/README.md): strawberry's page loads
# them from a CDN, which leaves it blank on a machine with no network.
GRAPHIQL_DIR = Path(__file__).resolve().parent / "static" / "graphiql"


class GraphQLView(GraphQL[ApiContext, None]):
    """POST /graphql (the key is checked before this view runs) and WebSocket /graphql with
    strawberry's graphql-transport-ws and graphql-ws, whose key rides in connection_init."""

    websocket_adapter_class = BufferedWebSocket
    graphql_transport_ws_handler_class = TransportWsHandler
    graphql_ws_handler_class = GraphQLWsHandler

    def __init__(
        self,
        schema: BaseSchema,
        *,
        context: Callable[[], ApiContext],
        auth: ApiKeyAuth,
        origin_ok: Callable[[str | None], bool],
        max_queued_bytes: int = MAX_QUEUED_BYTES,
        init_wait: float = INIT_WAIT,
    ) -> None:
        # Queries via GET would dodge the POST-only key check, so GET serves GraphiQL alone.
        # A socket that never sends connection_init holds no key: it is closed after `init_wait`.
        super().__init__(
            schema,
            allow_queries_via_get=False,
            keep_alive=True,
            keep_alive_interval=10,
            connection_init_wait_timeout=timedelta(seconds=init_wait),
        )
        self._context = context
        self._auth = auth
        self._origin_ok = origin_ok
        self.max_queued_bytes = max_queued_bytes  # read by BufferedWebSocket

    async def get_context(self, request: Request | WebSocket, response: Any) -> ApiContext:
        ctx = self._context()
        ctx.request, ctx.response = request, response
        return ctx

    async def on_ws_connect(self, context: ApiContext) -> UnsetType | dict[str, object] | None:
        params = context.connection_params
        given = params.get(HEADER) if isinstance(params, dict) else None
        if given is None and context.request is not None:
            given = context.request.headers.get(HEADER)
        if not self._auth.key_ok(given):
            raise ConnectionRejectionError(unauthorized())
        return await super().on_ws_connect(context)

    async def render_graphql_ide(self, request: Request) -> Response:
        return HTMLResponse((GRAPHIQL_DIR / "index.html").read_text(encoding="utf-8"))

    def is_websocket_origin_allowed(self, request: WebSocket, origin: str) -> bool:
        return self._origin_ok(origin)

    async def process_result(self, request: Request, result: ExecutionResult) -> GraphQLHTTPResponse:
        body: GraphQLHTTPResponse = {"data": result.data}
        if result.errors:
            body["errors"] = [formatted(e) for e in result.errors]
        return body


async def execute_json(request: Request, context: ApiContext) -> Response:
    """One JSON operation, one JSON answer, straight to `schema.execute`: the view's generality
    (multipart, SSE, batching) costs about a sixth of a submitJob, and reads bodies without bound."""
    if not request.headers.get("content-type", "").startswith("application/json"):
        refusal = Refusal(415, MALFORMED, "send the operation as application/json", "content-type")
        return _json(refusal.body(), refusal.status)
    try:
        settings = context.ports.settings
        raw = await read_body(request, body_limit(settings), settings.request_timeout)
        op = parse_operation(raw)
    except Refusal as refusal:
        return _json(refusal.body(), refusal.status)
    except ClientDisconnect:
        return Response(status_code=400)  # nobody is left to read it
    context.request = request
    plan = fast_submit.plan_of(op.query)
    inputs = fast_submit.inputs_of(op.variables, plan) if plan is not None else None
    if plan is not None and inputs is not None:
        return Response(
            _dumps(fast_submit.answer(context.ports, plan, inputs)), media_type="application/json"
        )
    result = await schema.execute(
        op.query,
        variable_values=op.variables,
        context_value=context,
        operation_name=op.operation_name,
        allowed_operation_types=_HTTP_OPERATIONS,
    )
    answer: dict[str, Any] = {"data": result.data}
    if result.errors:
        answer["errors"] = [formatted(e) for e in result.errors]
    if context.large_answer:
        # A thousand payloads take a second or more to encode, and json.dumps holds the GIL all
        # along: encoded item by item in a thread, the event loop gets its turns in between.
        text = await asyncio.to_thread(lambda: "".join(_pieces(answer)))
        return Response(text, media_type="application/json")
    return Response(_dumps(answer), media_type="application/json")


def _dumps(answer: Any) -> str:
    return json.dumps(answer, separators=(",", ":"))


def _pieces(value: Any) -> Iterator[str]:
    """JSON of `value`, each element of a list encoded apart."""
    if isinstance(value, dict):
        yield "{"
        for i, (key, item) in enumerate(value.items()):
            yield ("," if i else "") + _dumps(key) + ":"
            yield from _pieces(item)
        yield "}"
    elif isinstance(value, list):
        yield "["
        for i, item in enumerate(value):
            yield ("," if i else "") + _dumps(item)
        yield "]"
    else:
        yield _dumps(value)


def _json(body: dict[str, Any], status: int) -> Response:
    return Response(_dumps(body), status, media_type="application/json")
