"""/graphql/realtime when the client is gone before the server notices: the connection ends quietly."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from starlette.websockets import WebSocket

from asyncml.local.api.auth import ApiKeyAuth
from asyncml.local.api.realtime import RealtimeEndpoint
from asyncml.local.api.schema import ApiContext
from asyncml.local.broadcast import Broadcast

KEY = "da2-goodbye"


async def test_a_send_that_finds_the_client_gone_ends_the_connection_without_an_error() -> None:
    """The writer's send fails first (the peer went away); starlette then refuses the reader's next
    receive with 'Need to call "accept" first'. That is a goodbye, not an ASGI error."""
    inbox: list[dict[str, Any]] = [
        {"type": "websocket.connect"},
        {"type": "websocket.receive", "text": json.dumps({"type": "connection_init"})},
        {"type": "websocket.receive", "text": json.dumps({"type": "connection_init"})},
    ]
    sent: list[str] = []

    async def receive() -> dict[str, Any]:
        if len(inbox) < 3:
            await asyncio.sleep(0.05)  # the writer runs meanwhile, and fails
        return inbox.pop(0) if inbox else {"type": "websocket.disconnect", "code": 1006}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message["type"])
        if message["type"] == "websocket.send":
            raise OSError("connection reset by peer")

    scope = {"type": "websocket", "path": "/graphql/realtime", "headers": [(b"x-api-key", KEY.encode())]}
    scope |= {"query_string": b"", "subprotocols": ["graphql-ws"]}
    broadcast = Broadcast()
    endpoint = RealtimeEndpoint(
        context=lambda: ApiContext(ports=None, topics=broadcast), auth=ApiKeyAuth(KEY)
    )  # type: ignore[arg-type]

    await asyncio.wait_for(endpoint.handle(WebSocket(scope, receive, send)), 5)  # returns, raises nothing

    assert sent[:2] == ["websocket.accept", "websocket.send"]
