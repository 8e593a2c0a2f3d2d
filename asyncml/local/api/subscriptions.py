"""[8] subscription (local API): one subscriber's stream of updates from a topic, with backpressure."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable, Mapping
from typing import Any

from asyncml.errors import AsyncmlError
from asyncml.local.api.outbox import MAX_QUEUED_BYTES
from asyncml.local.broadcast import Topic

_FIELD_OVERHEAD = 16  # a rough JSON cost of one field's name and punctuation


class SubscriberTooSlow(AsyncmlError):
    """The subscriber's unread updates passed MAX_QUEUED_BYTES and it was dropped."""

    error_type = "LimitExceededError"

    def __init__(self) -> None:
        super().__init__(f"the subscriber fell more than {MAX_QUEUED_BYTES} bytes behind; closing")


def size_of(fields: Mapping[str, Any]) -> int:
    """About the bytes an update takes once encoded: its strings (payload, result, job ids) dominate."""
    size = _FIELD_OVERHEAD * len(fields)
    for v in fields.values():
        if isinstance(v, str):
            size += len(v)
        elif isinstance(v, list):  # JobsMoved's jobIds, and an end's whole jobs
            size += sum(len(i) + 3 if isinstance(i, str) else size_of(i) for i in v)
    return size


async def follow(
    topic: Topic[Any], filters: Mapping[str, Any], registered: Callable[[], None] | None = None
) -> AsyncGenerator[dict[str, Any], None]:
    """The field dict of every matching update, from registration on. `registered` is called once the
    subscription is in place (AppSync's start_ack must never precede it)."""
    queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
    queued = 0

    def deliver(fields: dict[str, Any], _memo: dict[Any, Any]) -> None:
        nonlocal queued
        queued += size_of(fields)
        if queued > MAX_QUEUED_BYTES:
            topic.remove(sub)
            queue.put_nowait(None)
        else:
            queue.put_nowait(fields)

    sub = topic.add(filters, deliver)
    if registered is not None:
        registered()
    try:
        while (fields := await queue.get()) is not None:
            queued -= size_of(fields)
            yield fields
        raise SubscriberTooSlow
    finally:
        topic.remove(sub)
