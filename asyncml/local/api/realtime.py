"""[8] subscription: AppSync's real-time WebSocket protocol on /graphql/realtime (gql's and Amplify's way)."""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketDisconnected

from asyncml.local.api.auth import HEADER, UNAUTHORIZED, WRONG_KEY, ApiKeyAuth
from asyncml.local.api.outbox import MAX_QUEUED_BYTES
from asyncml.local.api.realtime_session import KA_INTERVAL, Session
from asyncml.local.api.schema import ApiContext

SUBPROTOCOL = "graphql-ws"  # the old Apollo name; AppSync's own message set rides on it
INIT_WAIT = 10.0  # gql and Amplify wait 10-15 s for the ack; an unauthorized client is answered as fast


def decode_header(text: str) -> dict[str, Any] | None:
    """An auth header object from base64 JSON: standard (gql, `+` `/` `=`) or base64url without
    padding (Amplify's subprotocol). A `+` turned into a space by some URL decoder is restored."""
    text = text.replace(" ", "+").replace("-", "+").replace("_", "/")
    try:
        value = json.loads(base64.b64decode(text + "=" * (-len(text) % 4), validate=True))
    except (binascii.Error, ValueError):
        return None
    return value if isinstance(value, dict) else None


def connect_headers(ws: WebSocket) -> list[dict[str, Any]]:
    """Every auth header object offered at connect: `?header=`, a `header-…` subprotocol, plain headers."""
    found: list[dict[str, Any]] = []
    # Parsed by hand: parse_qs would turn the `+` of standard base64 into a space.
    for part in ws.scope.get("query_string", b"").decode("latin-1").split("&"):
        name, _, value = part.partition("=")
        if name == "header" and (obj := decode_header(unquote(value))) is not None:
            found.append(obj)
    for proto in ws.scope.get("subprotocols", ()):
        if proto.startswith("header-") and (obj := decode_header(proto[len("header-") :])) is not None:
            found.append(obj)
    if HEADER in ws.headers:
        found.append({HEADER: ws.headers[HEADER]})
    return found


class RealtimeEndpoint:
    """The WebSocket route; one Session per connection."""

    def __init__(
        self,
        *,
        context: Callable[[], ApiContext],
        auth: ApiKeyAuth,
        ka_interval: float = KA_INTERVAL,
        origin_ok: Callable[[WebSocket], bool] = lambda ws: True,
        max_queued_bytes: int = MAX_QUEUED_BYTES,
        init_wait: float = INIT_WAIT,
    ) -> None:
        self.context = context
        self.auth = auth
        self.ka_interval = ka_interval
        self.origin_ok = origin_ok
        self.max_queued_bytes = max_queued_bytes
        self.init_wait = init_wait

    async def handle(self, ws: WebSocket) -> None:
        if not self.origin_ok(ws):
            await ws.close(code=1008)  # before accept: the handshake is refused with 403
            return
        offered = ws.scope.get("subprotocols", ())
        # Amplify's `ws` client refuses a handshake that picks no subprotocol.
        await ws.accept(subprotocol=SUBPROTOCOL if SUBPROTOCOL in offered else None)
        authorized = any(self.auth.headers_ok(h) for h in connect_headers(ws))
        session = Session(
            ws,
            new_context=self.context,
            auth=self.auth,
            authorized=authorized,
            ka_interval=self.ka_interval,
            max_queued_bytes=self.max_queued_bytes,
        )
        try:
            if not authorized:
                await self._refuse(ws, session)
                return
            async for text in ws.iter_text():
                await session.receive(text)
                if session.closing:
                    break
        except (WebSocketDisconnect, WebSocketDisconnected):
            # The second: the writer's send found the peer gone first, and starlette then refuses
            # the next read with 'Need to call "accept" first', which is the same goodbye.
            pass
        finally:
            session.close()
            await session.outbox.flush(1.0)

    async def _refuse(self, ws: WebSocket, session: Session) -> None:
        # Answer the client's first message, so clients that send connection_init and then read
        # (gql, Amplify) see connection_error rather than a bare close.
        with contextlib.suppress(TimeoutError, WebSocketDisconnect):
            await asyncio.wait_for(ws.receive_text(), timeout=self.init_wait)
        session.fail_connection(UNAUTHORIZED, WRONG_KEY, 401)
