"""[7] publish (local): the in-process Publisher; each topic hands every update to its matching subscriptions.

One vocabulary: a `Broadcast` has three `Topic`s (jobs' ends, jobs' group moves, batches); a
`Subscription` on a topic is a filter plus a callback. This is what AppSync's `@aws_subscribe` and
its filtering do in the cloud."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from asyncml import shapes
from asyncml.model import Batch, Job, JobsMoved, ends_of

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


class Topic(Generic[T]):
    """The subscriptions of one kind of update, indexed by its key field (jobId / batchId).

    Most clients watch their own job, so indexing by key keeps an update's cost proportional to the
    subscriptions that want it, plus the ones that filter on nothing or on other fields only."""

    def __init__(
        self,
        key_field: str,
        shape: Callable[[T], dict[str, Any]],
        keys: Callable[[T], Iterable[Any]] | None = None,
    ) -> None:
        """`keys`, when given, names every key an update carries (a JobsMoved's jobIds): a keyed
        subscription then matches an update whose keys contain its value, as AppSync's `contains`."""
        self.key_field = key_field
        self._keys = keys
        self._key_attr = "".join("_" + c.lower() if c.isupper() else c for c in key_field)  # jobId -> job_id
        self.shape = shape
        self.by_key: dict[Any, set[Subscription]] = {}
        self.unkeyed: set[Subscription] = set()
        self._loop: asyncio.AbstractEventLoop | None = None

    def add(self, filters: Mapping[str, Any], deliver: Deliver) -> Subscription:
        """Deliver every matching update published from now on, on the calling event loop."""
        self._loop = asyncio.get_running_loop()
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

    def publish(self, items: Sequence[T]) -> None:
        if not self.unkeyed and not self.by_key:
            return
        loop = self._loop
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if loop is not None and running is not loop:
            # Called from a worker thread: deliveries run on the loop that owns the subscriptions.
            loop.call_soon_threadsafe(self._dispatch_all, list(items))
        else:
            self._dispatch_all(items)

    def _dispatch_all(self, items: Sequence[T]) -> None:
        for item in items:
            self._dispatch(item)

    def _dispatch(self, item: T) -> None:
        fields: dict[str, Any] | None = None
        keyed: Iterable[Subscription]
        if not self.by_key:
            keyed = ()
        elif self._keys is None:
            keyed = self.by_key.get(getattr(item, self._key_attr), ())
        else:  # ids within one update are distinct, so a subscription is delivered once
            by_key = self.by_key
            keyed = [sub for k in self._keys(item) if k in by_key for sub in by_key[k]]
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


class Broadcast:
    """The local Publisher, and where the local API subscribes."""

    def __init__(self, *, each_job_end: bool = False) -> None:
        self.each_job_end = each_job_end
        self.jobs: Topic[Job] = Topic("jobId", shapes.job)
        self.batches: Topic[Batch] = Topic("batchId", shapes.batch)
        # Items are JobsMoved updates already shaped and split (at most MOVES_MAX_IDS ids each), as
        # AppSync would deliver them.
        self.moves: Topic[dict[str, Any]] = Topic("jobId", _same, keys=_job_ids)

    def publish_jobs(self, jobs: Sequence[Job]) -> None:
        # As in the cloud: ends in groups of whole jobs, and each on onJobUpdated only when asked.
        self.moves.publish([u for m in ends_of(jobs) for u in shapes.moves_updates(m)])
        if self.each_job_end:
            self.jobs.publish(jobs)

    def publish_moves(self, moves: JobsMoved) -> None:
        self.moves.publish(shapes.moves_updates(moves))

    def publish_batch(self, batch: Batch) -> None:
        self.batches.publish([batch])


def _same(fields: dict[str, Any]) -> dict[str, Any]:
    return fields


def _job_ids(fields: dict[str, Any]) -> list[str]:
    ids: list[str] = fields["jobIds"]
    return ids
