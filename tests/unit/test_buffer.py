"""[2] buffer: the count and time thresholds, and what happens when sealing fails."""

from __future__ import annotations

import asyncio
from datetime import datetime

import pytest

from asyncml.local import buffer as buffer_module
from asyncml.local.buffer import Buffer
from asyncml.model import Job, JobStatus
from tests.fakes import FakeClock


def jobs(*ids: str) -> list[Job]:
    now = FakeClock().now()
    return [
        Job(job_id=i, status=JobStatus.QUEUED, payload=f"p-{i}", submitted_at=now, updated_at=now)
        for i in ids
    ]


async def run_until(buf: Buffer, seals: list[list[str]], count: int, seal=None) -> None:  # type: ignore[no-untyped-def]
    task = asyncio.create_task(buf.run(seal or (lambda ids, _t, _p: seals.append(ids))))
    try:
        for _ in range(200):
            if len(seals) >= count:
                return
            await asyncio.sleep(0.01)
    finally:
        task.cancel()


async def test_a_full_batch_seals_at_once_and_the_rest_waits_for_the_window() -> None:
    buf = Buffer(batch_size=2, window=0.3, clock=FakeClock())
    seals: list[list[str]] = []
    buf.put(jobs("a", "b", "c"))
    await run_until(buf, seals, 1)
    assert seals == [["a", "b"]]
    await run_until(buf, seals, 2)
    assert seals == [["a", "b"], ["c"]]


async def test_a_failed_seal_is_retried_with_the_same_jobs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(buffer_module, "RETRY_FIRST_S", 0.01)
    buf = Buffer(batch_size=2, window=0.0, clock=FakeClock())
    attempts: list[list[str]] = []
    seals: list[list[str]] = []
    carried: list[dict[str, str]] = []

    def flaky(ids: list[str], _first_seen: datetime, payloads: dict[str, str]) -> None:
        attempts.append(ids)
        carried.append(payloads)
        if len(attempts) == 1:
            raise OSError("disk full")
        seals.append(ids)

    buf.put(jobs("a", "b"))
    await run_until(buf, seals, 1, seal=flaky)
    assert attempts == [["a", "b"], ["a", "b"]]
    assert seals == [["a", "b"]]
    # the payloads the records carried come again with them, then are let go with them
    assert carried == [{"a": "p-a", "b": "p-b"}] * 2 and len(buf) == 0


def test_seal_in_counts_down_the_window_of_the_waiting_jobs() -> None:
    buf = Buffer(batch_size=10, window=3600, clock=FakeClock())
    assert buf.seal_in() is None  # nothing waits, nothing will be sealed
    buf.put(jobs("a"))
    first = buf.seal_in()
    assert first is not None and 3500 < first <= 3600
    buf.put(jobs("b"))  # the window started with the first job, not the latest
    later = buf.seal_in()
    assert later is not None and later <= first
