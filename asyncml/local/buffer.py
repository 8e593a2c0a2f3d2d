"""[2] buffer (local): the stream plus its window; hands the batcher up to N ids at N or after S seconds."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from datetime import datetime

from asyncml.model import Job
from asyncml.ports import Clock

log = logging.getLogger(__name__)

RETRY_FIRST_S = 0.5
RETRY_MAX_S = 30.0

# The ids of one batch, when the first of them arrived, and the payloads the stream carried.
SealFn = Callable[[list[str], datetime, dict[str, str]], None]


class Buffer:
    """What Kinesis plus the event source's BatchSize and MaximumBatchingWindowInSeconds do in the cloud.

    The window starts when the first job of a batch arrives, as Lambda's batching window does."""

    def __init__(self, batch_size: int, window: float, clock: Clock) -> None:
        self.batch_size = batch_size
        self.window = window
        self.clock = clock
        # (job id, payload): what the records carry, so the seal need not read the jobs back.
        self._records: deque[tuple[str, str]] = deque()
        self._first_seen: datetime | None = None
        self._first_mono = 0.0
        self._grown = asyncio.Event()
        self._retry_in = RETRY_FIRST_S

    def put(self, jobs: Sequence[Job]) -> None:
        self.put_records([(j.job_id, j.payload) for j in jobs])

    def put_records(self, records: Sequence[tuple[str, str]]) -> None:
        """(job id, payload) pairs, as the pipeline process gets them from the API's."""
        if not records:
            return
        if not self._records:
            self._first_seen = self.clock.now()
            self._first_mono = time.monotonic()
        self._records.extend(records)
        self._grown.set()

    def __len__(self) -> int:
        return len(self._records)

    def seal_in(self) -> float | None:
        """Seconds until the window of the waiting jobs closes (0 if overdue); None when none wait."""
        if not self._records:
            return None
        return max(0.0, self._first_mono + self.window - time.monotonic())

    async def run(self, seal: SealFn) -> None:
        """Call `seal(ids, first_seen, payloads)` for each batch, forever (cancel to stop)."""
        while True:
            if not self._records:
                self._grown.clear()
                await self._grown.wait()
            deadline = self._first_mono + self.window
            while len(self._records) < self.batch_size and (left := deadline - time.monotonic()) > 0:
                self._grown.clear()
                try:
                    await asyncio.wait_for(self._grown.wait(), left)
                except TimeoutError:
                    break
            while self._records:
                first_seen = self._first_seen or self.clock.now()
                take = min(self.batch_size, len(self._records))
                records = [self._records.popleft() for _ in range(take)]
                self._first_seen = self.clock.now() if self._records else None
                self._first_mono = time.monotonic()
                try:
                    seal([i for i, _ in records], first_seen, dict(records))
                    self._retry_in = RETRY_FIRST_S
                except Exception:
                    # Like a Lambda error on a Kinesis batch: the same records come again, after a
                    # backoff. They are still QUEUED in the store, so nothing is lost meanwhile.
                    log.exception(
                        "sealing a batch of %d jobs failed; retrying in %gs", len(records), self._retry_in
                    )
                    self._records.extendleft(reversed(records))
                    self._first_seen = first_seen
                    await asyncio.sleep(self._retry_in)
                    self._retry_in = min(self._retry_in * 2, RETRY_MAX_S)
                    break
                if len(self._records) < self.batch_size:
                    break
                await asyncio.sleep(0)  # let the API answer between back-to-back full batches
