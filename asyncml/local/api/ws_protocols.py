"""[8] subscription (local API): strawberry's graphql-transport-ws and graphql-ws, on the realtime fast path.

Strawberry executes the subscription document for every update; a plain selection is answered the
way `/graphql/realtime` answers it instead (`realtime_plan.Plan`): fields picked from the update, the
body encoded once per update for every subscriber. Every frame goes through a byte-bounded `Outbox`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Mapping
from typing import Any

from starlette.websockets import WebSocket
from strawberry.asgi import ASGIWebSocketAdapter
from strawberry.http.async_base_view import AsyncBaseHTTPView
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import SubscribeMessage
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler
from strawberry.subscriptions.protocols.graphql_ws.types import StartMessage

from asyncml.local.api.outbox import MAX_QUEUED_BYTES, Outbox
from asyncml.local.api.realtime_plan import Plan, PlanError
from asyncml.local.api.realtime_session import GRAPHQL, plan_of
from asyncml.local.api.schema import ApiContext
from asyncml.local.broadcast import Subscription, Topic

FLUSH_TIMEOUT = 1.0  # how long a finished connection's last frames may take to leave


class BufferedWebSocket(ASGIWebSocketAdapter):
    """Strawberry's adapter, but a send never waits for the client: frames queue in an Outbox."""

    def __init__(self, view: AsyncBaseHTTPView[Any, Any, Any, Any, Any, Any, Any], request: WebSocket,
                 response: WebSocket) -> None:  # fmt: skip
        super().__init__(view, request, response)
        budget = getattr(view, "max_queued_bytes", MAX_QUEUED_BYTES)
        self.outbox = Outbox(self.ws.send_text, self._close_socket, budget=budget)

    async def send_json(self, message: Mapping[str, object]) -> None:
        encoded = self.view.encode_json(message)
        self.outbox.put(encoded if isinstance(encoded, str) else encoded.decode())

    async def close(self, code: int, reason: str) -> None:
        self.outbox.close(code, reason)

    async def _close_socket(self, code: int, reason: str) -> None:
        await self.ws.close(code=code, reason=reason)


def _outbox(websocket: object) -> Outbox:
    assert isinstance(websocket, BufferedWebSocket)
    return websocket.outbox


def _plain(payload: Any) -> tuple[Plan, dict[str, Any]] | PlanError | None:
    """The plan of a plain subscription, its error, or None when strawberry should handle it."""
    if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
        return None
    variables, op_name = payload.get("variables"), payload.get("operationName")
    if not isinstance(variables, dict | None) or not isinstance(op_name, str | None):
        return None
    try:
        plan = plan_of(payload["query"], op_name)
        filters = plan.filters(GRAPHQL, variables)
    except PlanError as exc:
        return exc
    return (plan, filters) if plan.selection is not None else None


def _topic(context: ApiContext, plan: Plan) -> Topic[Any]:
    topics = context.topics
    by_field: dict[str, Topic[Any]] = {
        "onJobUpdated": topics.jobs,
        "onJobsMoved": topics.moves,
        "onBatchUpdated": topics.batches,
    }
    return by_field[plan.root_name]


async def _hold(topic: Topic[Any], sub: Subscription) -> None:
    try:
        await asyncio.get_running_loop().create_future()  # until the operation is ended
    finally:
        topic.remove(sub)


def _dumps(message: dict[str, Any]) -> str:
    return json.dumps(message, separators=(",", ":"))


def _error(message: PlanError) -> dict[str, Any]:
    return {"message": message.message, "errorType": message.error_type,
            "extensions": {"errorType": message.error_type}}  # fmt: skip


class TransportWsHandler(BaseGraphQLTransportWSHandler[ApiContext, None]):
    """graphql-transport-ws (graphql-ws the library, Apollo Client 3, urql)."""

    async def handle(self) -> None:
        outbox = _outbox(self.websocket)
        outbox.on_too_slow = self._end_all
        try:
            await super().handle()
        finally:
            await outbox.flush(FLUSH_TIMEOUT)

    def _end_all(self) -> None:
        for op in self.operations.values():
            if op.task is not None:
                op.task.cancel()

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        op_id = message.get("id")
        plain = _plain(message.get("payload"))
        if isinstance(plain, PlanError) and plain.error_type == "UnsupportedOperation":
            plain = None  # queries and mutations run through strawberry on this protocol
        room = self.max_subscriptions_per_connection is None or (
            len(self.operations) < self.max_subscriptions_per_connection
        )
        if plain is None or not self.connection_acknowledged or op_id in self.operations or not room:
            await super().handle_subscribe(message)
            return
        assert isinstance(op_id, str)
        if isinstance(plain, PlanError):
            _outbox(self.websocket).put(_dumps({"id": op_id, "type": "error", "payload": [_error(plain)]}))
            return
        plan, filters = plain
        topic, encode = _topic(self.context, plan), plan.encoder(op_id, "next")
        outbox = _outbox(self.websocket)
        sub = topic.add(filters, lambda fields, memo: outbox.put(encode(fields, memo)))
        operation = Operation(self, op_id, message["payload"]["query"], None, None)
        operation.task = asyncio.create_task(_hold(topic, sub))
        self.operations[op_id] = operation


class GraphQLWsHandler(BaseGraphQLWSHandler[ApiContext, None]):
    """graphql-ws, the older subscriptions-transport-ws protocol (Apollo Client 2)."""

    async def handle(self) -> None:
        outbox = _outbox(self.websocket)
        outbox.on_too_slow = self._end_all
        # The protocol has no init timeout of its own (graphql-transport-ws has): use the same one.
        wait = self.view.connection_init_wait_timeout.total_seconds()
        timer = asyncio.get_running_loop().call_later(wait, self._init_timeout, outbox)
        try:
            await super().handle()
        finally:
            timer.cancel()
            await outbox.flush(FLUSH_TIMEOUT)

    def _init_timeout(self, outbox: Outbox) -> None:
        if not self.connection_acknowledged:
            outbox.close(4408, "Connection initialisation timeout")

    def _end_all(self) -> None:
        for task in self.tasks.values():
            task.cancel()

    async def handle_start(self, message: StartMessage) -> None:
        op_id = message.get("id")
        plain = _plain(message.get("payload"))
        if plain is None or not self.connection_acknowledged or not isinstance(op_id, str):
            await super().handle_start(message)
            return
        if op_id in self.tasks:
            await self.cleanup_operation(op_id)
        if isinstance(plain, PlanError):
            # Queries too: strawberry would hand them to `subscribe` and fail with an InternalError.
            _outbox(self.websocket).put(_dumps({"type": "error", "id": op_id, "payload": _error(plain)}))
            return
        limit = self.max_subscriptions_per_connection
        if limit is not None and len(self.tasks) >= limit:
            await super().handle_start(message)  # strawberry's own refusal
            return
        plan, filters = plain
        topic, encode = _topic(self.context, plan), plan.encoder(op_id)
        outbox = _outbox(self.websocket)
        sub = topic.add(filters, lambda fields, memo: outbox.put(encode(fields, memo)))
        self.tasks[op_id] = asyncio.create_task(self._run_plain(op_id, topic, sub))

    async def _run_plain(self, op_id: str, topic: Topic[Any], sub: Subscription) -> None:
        try:
            with contextlib.suppress(asyncio.CancelledError):
                await _hold(topic, sub)
            await self.send_message({"type": "complete", "id": op_id})  # as strawberry does on `stop`
        finally:
            self.tasks.pop(op_id, None)
