"""JobStore contract: every adapter behaves the same (SQLite locally, DynamoDB in the cloud)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from asyncml.errors import ValidationError
from asyncml.model import Batch, BatchStatus, Job, JobMove, JobStatus

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def job(i: int, token: str | None = None) -> Job:
    t = T0 + timedelta(milliseconds=i)
    return Job(job_id=f"job-{i:04d}", status=JobStatus.QUEUED, payload=f"{i},1", submitted_at=t, updated_at=t,
               client_token=token, metadata=f'{{"n": {i}}}')  # fmt: skip


def batch(i: int, status: BatchStatus = BatchStatus.BATCHED) -> Batch:
    t = T0 + timedelta(seconds=i)
    return Batch(batch_id=f"20261125-1200{i:02d}-0000abcd", status=status, job_count=2, created_at=t,
                 updated_at=t, input_key=f"data/2026/11/25/20261125-1200{i:02d}-0000abcd.csv")  # fmt: skip


def test_created_jobs_read_back_unchanged(store: Any) -> None:
    jobs = [job(1), job(2)]
    assert store.create_jobs(jobs) == jobs
    assert store.get_jobs(["job-0002", "missing", "job-0001"]) == [jobs[1], jobs[0]]


def test_client_token_returns_the_first_job(store: Any) -> None:
    first = store.create_jobs([job(1, token="tok")])[0]
    again = store.create_jobs([job(2, token="tok"), job(3)])
    assert again[0] == first
    assert store.get_jobs(["job-0002"]) == []
    assert store.get_jobs(["job-0003"])[0].job_id == "job-0003"


def test_moves_are_conditional_and_return_only_what_moved(store: Any) -> None:
    store.create_jobs([job(1), job(2)])
    now = T0 + timedelta(seconds=5)
    moved = store.move_jobs(
        [JobMove("job-0001", JobStatus.BATCHED, batch_id="b1"), JobMove("nope", JobStatus.BATCHED)], now
    )
    assert [(j.job_id, j.status, j.batch_id, j.updated_at) for j in moved] == [
        ("job-0001", JobStatus.BATCHED, "b1", now)
    ]
    done = store.move_jobs([JobMove("job-0001", JobStatus.COMPLETED, result="setosa,0.9")], now)
    assert done[0].result == "setosa,0.9" and done[0].completed_at == now and done[0].batch_id == "b1"
    # A replayed or late move is a no-op, never a step back.
    assert store.move_jobs([JobMove("job-0001", JobStatus.PROCESSING)], now) == []
    assert store.move_jobs([JobMove("job-0001", JobStatus.COMPLETED, result="other")], now) == []
    assert store.get_jobs(["job-0001"])[0].result == "setosa,0.9"
    assert store.move_jobs([JobMove("job-0002", JobStatus.CANCELLED)], now)[0].status is JobStatus.CANCELLED
    assert store.move_jobs([JobMove("job-0002", JobStatus.BATCHED)], now) == []


def test_list_jobs_pages_newest_first_with_an_opaque_token(store: Any) -> None:
    store.create_jobs([job(i) for i in range(7)])
    seen: list[str] = []
    token = None
    while True:
        page = store.list_jobs(status=None, batch_id=None, limit=3, next_token=token)
        seen.extend(j.job_id for j in page.items)
        token = page.next_token
        if token is None:
            break
    assert seen == [f"job-{i:04d}" for i in range(6, -1, -1)]


def test_list_jobs_filters_by_status_and_batch(store: Any) -> None:
    store.create_jobs([job(i) for i in range(4)])
    store.move_jobs([JobMove(f"job-{i:04d}", JobStatus.BATCHED, batch_id="b1") for i in (0, 2)], T0)
    by_batch = store.list_jobs(status=None, batch_id="b1", limit=10, next_token=None)
    assert sorted(j.job_id for j in by_batch.items) == ["job-0000", "job-0002"]
    queued = store.list_jobs(status=JobStatus.QUEUED, batch_id=None, limit=10, next_token=None)
    assert sorted(j.job_id for j in queued.items) == ["job-0001", "job-0003"]
    assert store.count_batch_jobs("b1") == {JobStatus.BATCHED: 2}


def test_a_token_the_store_did_not_make_is_refused(store: Any) -> None:
    with pytest.raises(ValidationError) as err:
        store.list_jobs(status=None, batch_id=None, limit=3, next_token="garbage!")
    assert err.value.field == "nextToken"


def test_batches_are_created_once_and_move_forward_only(store: Any) -> None:
    b = batch(1)
    assert store.create_batch(b) == b
    assert store.create_batch(b.replace(job_count=99)) == b
    now = T0 + timedelta(minutes=1)
    moved = store.move_batch(b.batch_id, BatchStatus.PROCESSING, now, transform_job_name="asyncml-x")
    assert moved is not None and moved.transform_job_name == "asyncml-x" and moved.updated_at == now
    done = store.move_batch(b.batch_id, BatchStatus.COMPLETED, now, completed_count=2, failed_count=0)
    assert done is not None and done.completed_count == 2
    assert store.move_batch(b.batch_id, BatchStatus.PROCESSING, now) is None
    assert store.move_batch(b.batch_id, BatchStatus.FAILED, now, error="late") is None
    assert store.get_batch(b.batch_id) == done
    assert store.get_batch("missing") is None


def test_list_batches_by_status_and_pages(store: Any) -> None:
    for i in range(5):
        store.create_batch(batch(i))
    store.move_batch(batch(1).batch_id, BatchStatus.PROCESSING, T0)
    waiting = store.list_batches(status=BatchStatus.BATCHED, limit=10, next_token=None)
    assert sorted(b.batch_id for b in waiting.items) == sorted(batch(i).batch_id for i in (0, 2, 3, 4))
    first = store.list_batches(status=None, limit=2, next_token=None)
    rest = store.list_batches(status=None, limit=10, next_token=first.next_token)
    assert [b.batch_id for b in first.items + rest.items] == [batch(i).batch_id for i in range(4, -1, -1)]


def test_job_counts_by_status_follow_every_move(store: Any) -> None:
    assert store.count_jobs_by_status().get(JobStatus.QUEUED, 0) == 0
    store.create_jobs([job(i) for i in range(5)])
    store.move_jobs([JobMove(f"job-{i:04d}", JobStatus.BATCHED, batch_id="b1") for i in (0, 1, 2)], T0)
    store.move_jobs([JobMove("job-0000", JobStatus.COMPLETED, result="r")], T0)
    store.move_jobs([JobMove("job-0003", JobStatus.CANCELLED)], T0)
    counts = {s: n for s, n in store.count_jobs_by_status().items() if n}
    want = {JobStatus.QUEUED: 1, JobStatus.BATCHED: 2, JobStatus.COMPLETED: 1, JobStatus.CANCELLED: 1}
    assert counts == want
