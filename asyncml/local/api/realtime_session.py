"""[8] subscription: one AppSync real-time connection: init/ack/ka, start/start_ack/data, stop/complete."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from graphql import build_schema
from starlette.websockets import WebSocket

from asyncml.local.api.auth import UNAUTHORIZED, WRONG_KEY, ApiKeyAuth
from asyncml.local.api.errors import formatted
from asyncml.local.api.outbox import MAX_QUEUED_BYTES, Outbox
from asyncml.local.api.realtime_plan import Plan, PlanError, make_planner
from asyncml.local.api.schema import ApiContext, schema
from asyncml.local.broadcast import Topic

MAX_SUBSCRIPTIONS = 100  # AppSync's default quota per connection
CONNECTION_TIMEOUT_MS = 300_000  # what AppSync puts in connection_ack: the longest wait between two `ka`
KA_INTERVAL = 10.0  # well within CONNECTION_TIMEOUT_MS, and within Amplify's 65 s "keep alive missed"
# The plan validates and coerces a `start` without executing it: graphql-core's schema, built from the
# very SDL strawberry prints (AppSync's directives are predefined there, hence assume_valid_sdl).
GRAPHQL = build_schema(schema.as_str(), assume_valid_sdl=True)
plan_of = make_planner(GRAPHQL)


def _dumps(message: dict[str, Any]) -> str:
    return json.dumps(message, separators=(",", ":"))


def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()


class Session:
    """`new_context` makes the context a strawberry-executed subscription runs with; `auth` checks the
    auth object that AppSync clients send with every `start`."""

    def __init__(
        self,
        ws: WebSocket,
        *,
        new_context: Callable[[], ApiContext],
        auth: ApiKeyAuth,
        authorized: bool,
        ka_interval: float,
        max_queued_bytes: int = MAX_QUEUED_BYTES,
    ) -> None:
        self.ws = ws
        self.new_context = new_context
        self.auth = auth
        self.authorized = authorized
        self.ka_interval = ka_interval
        self.subs: dict[str, Callable[[], None]] = {}  # id -> how to end it
        self.outbox = Outbox(
            ws.send_text, self._close_socket, budget=max_queued_bytes, on_too_slow=self._too_slow
        )
        self._ka: asyncio.Task[None] | None = None
        topics = new_context().topics
        self._topics: dict[str, Topic[Any]] = {
            "onJobUpdated": topics.jobs,
            "onJobsMoved": topics.moves,
            "onBatchUpdated": topics.batches,
        }

    # -- sending: one writer task keeps frames in order (start_ack always before the first data)
    @property
    def closing(self) -> bool:
        return self.outbox.closing

    def send(self, frame: str) -> None:
        self.outbox.put(frame)

    def error(self, sub_id: str | None, error_type: str, message: str, code: int = 400) -> None:
        frame: dict[str, Any] = {"type": "error", "payload": {"errors": [
            {"errorType": error_type, "message": message, "errorCode": code}
        ]}}  # fmt: skip
        if sub_id is not None:
            frame["id"] = sub_id
        self.send(_dumps(frame))

    def fail_connection(self, error_type: str, message: str, code: int) -> None:
        self.send(_dumps({"type": "connection_error", "payload": {"errors": [
            {"errorType": error_type, "message": message, "errorCode": code}
        ]}}))  # fmt: skip
        self.close(4000 + code if code < 1000 else code, message.encode()[:120].decode(errors="ignore"))

    async def _close_socket(self, code: int, reason: str) -> None:
        await self.ws.close(code=code, reason=reason)

    def close(self, code: int = 1000, reason: str = "") -> None:
        if not self.closing:
            self._end()
            self.outbox.close(code, reason)

    def _too_slow(self) -> None:
        self._end()
        limit = self.outbox.budget
        self.send(_dumps({"type": "connection_error", "payload": {"errors": [
            {"errorType": "LimitExceededError", "errorCode": 429,
             "message": f"the client reads updates too slowly: over {limit} bytes queued; closing"}
        ]}}))  # fmt: skip

    def _end(self) -> None:
        for end in self.subs.values():
            end()
        self.subs.clear()
        if self._ka is not None:
            self._ka.cancel()

    async def _keep_alive(self) -> None:
        while True:
            self.send('{"type":"ka"}')
            await asyncio.sleep(self.ka_interval)

    # -- receiving
    async def receive(self, text: str) -> None:
        try:
            message = json.loads(text)
            kind = message["type"]
        except (ValueError, TypeError, KeyError):
            self.error(None, "MalformedMessage", "a message must be a JSON object with a `type`")
            return
        if kind == "connection_init":
            if self._ka is None:
                ack = {"type": "connection_ack", "payload": {"connectionTimeoutMs": CONNECTION_TIMEOUT_MS}}
                self.send(_dumps(ack))
                self._ka = asyncio.create_task(self._keep_alive())
        elif kind == "start":
            await self._start(message.get("id"), message.get("payload"))
        elif kind == "stop":
            sub_id = message.get("id")
            end = self.subs.pop(sub_id, None) if isinstance(sub_id, str) else None
            if end is not None:
                end()
            # Sent for an unknown id too: a client closing waits for one `complete` per `stop`.
            self.send(_dumps({"type": "complete", "id": sub_id}))
        # Anything else (a client `ka`, Apollo's connection_terminate) needs no answer.

    async def _start(self, sub_id: Any, payload: Any) -> None:
        if not isinstance(sub_id, str) or not sub_id:
            self.error(None, "MalformedMessage", "start needs a string `id`")
            return
        if sub_id in self.subs:
            self.error(sub_id, "DuplicatedOperationError", f"Duplicated operation with id {sub_id}")
            return
        if len(self.subs) >= MAX_SUBSCRIPTIONS:
            limit = MAX_SUBSCRIPTIONS
            self.error(
                sub_id, "LimitExceededError", f"a connection may hold {limit} subscriptions; stop one first"
            )
            return
        payload = payload if isinstance(payload, dict) else {}
        auth = (payload.get("extensions") or {}).get("authorization")
        # AppSync clients send the auth object with every start; without one, the connection's counts.
        if not (self.auth.headers_ok(auth) if auth is not None else self.authorized):
            self.error(sub_id, UNAUTHORIZED, WRONG_KEY, 401)
            return
        try:
            request = json.loads(payload["data"])
            query, variables = request["query"], request.get("variables")
            op_name = request.get("operationName")
            if not isinstance(query, str) or not isinstance(variables, dict | None):
                raise TypeError
            plan = plan_of(query, op_name)
            filters = plan.filters(GRAPHQL, variables)
        except PlanError as exc:
            self.error(sub_id, exc.error_type, exc.message)
            return
        except (KeyError, TypeError, ValueError):
            self.error(sub_id, "MalformedMessage", "payload.data must be a JSON string of {query, variables}")
            return
        if plan.selection is not None:
            self._start_fast(sub_id, plan, filters)
        else:
            await self._start_executed(sub_id, query, variables, op_name)

    def _start_fast(self, sub_id: str, plan: Plan, filters: dict[str, Any]) -> None:
        topic = self._topics[plan.root_name]
        encode = plan.encoder(sub_id)
        sub = topic.add(filters, lambda fields, memo: self.send(encode(fields, memo)))
        self.subs[sub_id] = lambda: topic.remove(sub)
        # Registered before the ack and with no await in between: no update after start_ack is missed.
        self.send(_dumps({"type": "start_ack", "id": sub_id}))

    async def _start_executed(self, sub_id: str, query: str, variables: Any, op_name: str | None) -> None:
        """Fragments, aliases and the like: let strawberry execute the document for every update."""
        ctx = self.new_context()
        ctx.subscribed = asyncio.Event()
        acked = asyncio.Event()
        results = await schema.subscribe(
            query, variable_values=variables, context_value=ctx, operation_name=op_name
        )

        async def pump() -> None:
            async for result in results:
                errors = [formatted(e) for e in result.errors or ()]
                if errors and not acked.is_set():
                    self.error(sub_id, errors[0]["errorType"], errors[0]["message"])
                    return
                await acked.wait()
                body: dict[str, Any] = {"data": result.data}
                if errors:
                    body["errors"] = errors
                self.send(_dumps({"type": "data", "id": sub_id, "payload": body}))

        task = asyncio.create_task(pump())
        ready = asyncio.create_task(ctx.subscribed.wait())
        await asyncio.wait((task, ready), return_when=asyncio.FIRST_COMPLETED)
        if not ctx.subscribed.is_set():
            ready.cancel()
            return
        self.subs[sub_id] = lambda: _cancel(task)
        self.send(_dumps({"type": "start_ack", "id": sub_id}))
        acked.set()
