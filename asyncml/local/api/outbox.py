"""[8] subscription (local API): one WebSocket connection's queue of outgoing frames, bounded in bytes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable

log = logging.getLogger("asyncml.subscriptions")

# Bytes of frames one connection may have queued (sent by us, not yet taken by the client) before it
# is closed: memory stays bounded whatever a client that stops reading does, on every protocol.
MAX_QUEUED_BYTES = 16 * 1024 * 1024
TOO_SLOW = 4429  # 4000 + HTTP 429, as the realtime protocol's connection_error says


def too_slow_reason(budget: int) -> str:
    # A close reason must fit in 123 bytes.
    return f"the client reads too slowly: over {budget} bytes queued; closing"


class Outbox:
    """Frames go out in order through one writer task; `put` never waits for the client.

    Past the budget the queued frames are dropped and the socket is closed with TOO_SLOW, even while
    the writer is stuck sending to a client that reads nothing."""

    def __init__(
        self,
        send: Callable[[str], Awaitable[None]],
        close: Callable[[int, str], Awaitable[None]],
        *,
        budget: int = MAX_QUEUED_BYTES,
        on_too_slow: Callable[[], None] | None = None,
    ) -> None:
        self._send, self._close = send, close
        self.budget = budget
        self.on_too_slow = on_too_slow  # the owner ends its subscriptions (and may say why)
        self.queued_bytes = 0
        # A deque and one wake-up event, not an asyncio.Queue: at 20,000 updates/s the queue's
        # futures and wake-ups per frame cost a sizeable share of the writer (docs/performance.md).
        self._frames: deque[str | None] = deque()
        self._more = asyncio.Event()
        self.closing = False
        self.close_code, self.close_reason = 1000, ""
        self._writer: asyncio.Task[None] | None = None
        self._sending = False

    def put(self, frame: str) -> None:
        if self.closing:
            return
        self.queued_bytes += len(frame)
        if self.queued_bytes <= self.budget:
            self._frames.append(frame)
            self._wake()
            return
        reason = too_slow_reason(self.budget)
        log.warning("closing a WebSocket: %s", reason)
        self._frames.clear()  # drop what the client would never read in time
        self.queued_bytes = 0
        if self.on_too_slow is not None:
            self.on_too_slow()  # may put one last frame saying why
        self.close(TOO_SLOW, reason)
        if self._sending and self._writer is not None:
            self._writer.cancel()  # it waits on a send the client does not read; the close goes next

    def close(self, code: int = 1000, reason: str = "") -> None:
        """Send what is queued, then close the socket with `code`."""
        if self.closing:
            return
        self.closing, self.close_code, self.close_reason = True, code, reason
        self._frames.append(None)
        self._wake()

    async def flush(self, wait: float) -> None:
        """Wait (a bounded time) for the writer: the connection's handler is about to return."""
        if self._writer is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(self._writer), wait)
            self._writer.cancel()

    def _wake(self) -> None:
        if self._writer is None:
            self._writer = asyncio.create_task(self._write())
        else:
            self._more.set()

    async def _next(self) -> str | None:
        while not self._frames:
            self._more.clear()
            await self._more.wait()
        return self._frames.popleft()

    async def _write(self) -> None:
        frames = self._frames
        try:
            while (frame := frames.popleft() if frames else await self._next()) is not None:
                self.queued_bytes -= len(frame)
                self._sending = True
                await self._send(frame)
                self._sending = False
        except asyncio.CancelledError:
            if not self.closing:
                raise
        except Exception:  # the peer went away; the reader notices too
            return
        with contextlib.suppress(Exception):
            await self._close(self.close_code, self.close_reason)
