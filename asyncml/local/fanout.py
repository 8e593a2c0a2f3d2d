"""[8] subscription: one reader per broadcast topic, fanning each update out to matching subscriptions."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from asyncml import shapes
from asyncml.local.broadcast import Broadcast

T = TypeVar("T")
log = logging.getLogger(__name__)

# Called with the update's field dict (every field, shaped once per update) and a dict shared by every
# delivery of that one update, so subscribers with the same selection can share one encoded frame.
Deliver = Callable[[dict[str, Any], dict[Any, Any]], None]


@dataclass(eq=False)
class Subscription:
    filters: dict[str, Any]
    deliver: Deliver
    key: Any = None  # the value of the topic's key field this subscription wants, or None for all
    rest: tuple[tuple[str, Any], ...] = field(default=())


class Channel(Generic[T]):
    """The subscriptions of one topic, indexed by its key field (jobId / batchId).

    Most clients watch their own job, so indexing by key keeps an update's cost proportional to the
    subscriptions that want it, plus the ones that filter on nothing or on other fields only."""

    def __init__(self, key_field: str, shape: Callable[[T], dict[str, Any]]) -> None:
        self.key_field = key_field
        self._key_attr = "".join("_" + c.lower() if c.isupper() else c for c in key_field)  # jobId -> job_id
        self.shape = shape
        self.by_key: dict[Any, set[Subscription]] = {}
        self.unkeyed: set[Subscription] = set()

    def add(self, filters: Mapping[str, Any], deliver: Deliver) -> Subscription:
        # AppSync: an argument left out (or null) matches everything; the others must all be equal.
        given = {k: v for k, v in filters.items() if v is not None}
        key = given.pop(self.key_field, None)
        sub = Subscription(dict(filters), deliver, key, tuple(given.items()))
        if key is None:
            self.unkeyed.add(sub)
        else:
            self.by_key.setdefault(key, set()).add(sub)
        return sub

    def remove(self, sub: Subscription) -> None:
        if sub.key is None:
            self.unkeyed.discard(sub)
            return
        subs = self.by_key.get(sub.key)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del self.by_key[sub.key]

    def __len__(self) -> int:
        return len(self.unkeyed) + sum(len(s) for s in self.by_key.values())

    def dispatch(self, item: T) -> None:
        if not self.unkeyed and not self.by_key:
            return
        fields: dict[str, Any] | None = None
        keyed = self.by_key.get(getattr(item, self._key_attr), ())
        memo: dict[Any, Any] = {}
        for subs in (keyed, self.unkeyed):
            for sub in tuple(subs):
                if fields is None:
                    fields = self.shape(item)
                if all(fields.get(name) == value for name, value in sub.rest):
                    try:
                        sub.deliver(fields, memo)
                    except Exception:  # one broken subscriber must not starve the others
                        log.exception("subscription delivery failed")


class Hub:
    """Listens to the broadcast once per topic for every subscription of the process."""

    def __init__(self, broadcast: Broadcast) -> None:
        self.broadcast = broadcast
        self.jobs: Channel[Any] = Channel("jobId", shapes.job)
        self.batches: Channel[Any] = Channel("batchId", shapes.batch)
        self._stops: list[Callable[[], None]] = []

    async def start(self) -> None:
        """Idempotent; every update published after it returns reaches the channels."""
        if self._stops:
            return
        self._stops = [
            self.broadcast.jobs.listen(self._dispatcher(self.jobs)),
            self.broadcast.batches.listen(self._dispatcher(self.batches)),
        ]

    async def stop(self) -> None:
        for stop in self._stops:
            stop()
        self._stops = []

    @staticmethod
    def _dispatcher(channel: Channel[Any]) -> Callable[[Sequence[Any]], None]:
        def dispatch(items: Sequence[Any]) -> None:
            for item in items:
                channel.dispatch(item)

        return dispatch

    @property
    def counts(self) -> dict[str, int]:
        return {"onJobUpdated": len(self.jobs), "onBatchUpdated": len(self.batches)}
