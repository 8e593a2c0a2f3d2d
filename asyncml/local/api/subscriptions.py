"""[8] subscription (local API): one subscriber's stream of updates from a topic, with backpressure."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable, Mapping
from typing import Any

from asyncml.local.broadcast import Topic

# Updates (or frames) one subscriber may fall behind by before it is cut off: memory stays bounded
# whatever a client that stops reading does. The one limit for every protocol.
MAX_BACKLOG = 50_000


class SubscriberTooSlow(Exception):
    """The subscriber fell MAX_BACKLOG updates behind and was dropped."""

    def __init__(self) -> None:
        super().__init__(f"the subscriber fell more than {MAX_BACKLOG} updates behind; closing")


async def follow(
    topic: Topic[Any], filters: Mapping[str, Any], registered: Callable[[], None] | None = None
) -> AsyncGenerator[dict[str, Any], None]:
    """The field dict of every matching update, from registration on. `registered` is called once the
    subscription is in place (AppSync's start_ack must never precede it)."""
    queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()

    def deliver(fields: dict[str, Any], _memo: dict[Any, Any]) -> None:
        if queue.qsize() >= MAX_BACKLOG:
            topic.remove(sub)
            queue.put_nowait(None)
        else:
            queue.put_nowait(fields)

    sub = topic.add(filters, deliver)
    if registered is not None:
        registered()
    try:
        while (fields := await queue.get()) is not None:
            yield fields
        raise SubscriberTooSlow
    finally:
        topic.remove(sub)
