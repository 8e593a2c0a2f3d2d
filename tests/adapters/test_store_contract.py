"""JobStore contract: every adapter behaves the same (SQLite locally, DynamoDB in the cloud)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from asyncml.errors import ValidationError
from asyncml.model import Batch, BatchStatus, Job, JobMove, JobStatus
from tests.adapters.pages import every_page

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


def test_a_claim_takes_an_unclaimed_batched_batch_once_and_keeps_its_start_errors(store: Any) -> None:
    b = store.create_batch(batch(1))
    now = T0 + timedelta(minutes=1)
    claimed = store.move_batch(b.batch_id, BatchStatus.BATCHED, now, claimed_by="asyncml-s-1")
    assert claimed is not None and (claimed.status, claimed.transform_job_name) == (
        BatchStatus.BATCHED,
        "asyncml-s-1",
    )
    # Another transform cannot take it; the same one may write again (a retry records its refusal).
    assert store.move_batch(b.batch_id, BatchStatus.BATCHED, now, claimed_by="asyncml-s-2") is None
    refused = store.move_batch(
        b.batch_id, BatchStatus.BATCHED, now, claimed_by="asyncml-s-1", start_attempts=1,
        start_error="ResourceLimitExceeded: quota 0",
    )  # fmt: skip
    assert refused is not None and (refused.start_attempts, refused.start_error) == (
        1,
        "ResourceLimitExceeded: quota 0",
    )
    assert store.get_batch(b.batch_id) == refused
    started = store.move_batch(b.batch_id, BatchStatus.PROCESSING, now, transform_job_name="asyncml-s-1")
    assert started is not None and started.start_attempts == 1
    # Once started, nothing claims it again.
    assert store.move_batch(b.batch_id, BatchStatus.BATCHED, now, claimed_by="asyncml-s-1") is None
    assert store.get_batch(b.batch_id).status is BatchStatus.PROCESSING


def test_list_batches_by_status_and_pages(store: Any) -> None:
    for i in range(5):
        store.create_batch(batch(i))
    store.move_batch(batch(1).batch_id, BatchStatus.PROCESSING, T0)
    waiting = store.list_batches(status=BatchStatus.BATCHED, limit=10, next_token=None)
    assert sorted(b.batch_id for b in waiting.items) == sorted(batch(i).batch_id for i in (0, 2, 3, 4))
    first = store.list_batches(status=None, limit=2, next_token=None)
    rest = store.list_batches(status=None, limit=10, next_token=first.next_token)
    assert [b.batch_id for b in first.items + rest.items] == [batch(i).batch_id for i in range(4, -1, -1)]


def test_retry_queues_only_failed_jobs_as_a_new_attempt_once(store: Any) -> None:
    store.create_jobs([job(1), job(2), job(3)])
    now = T0 + timedelta(seconds=5)
    store.move_jobs([JobMove(f"job-000{i}", JobStatus.BATCHED, batch_id="b1") for i in (1, 2, 3)], now)
    store.move_jobs([JobMove("job-0001", JobStatus.FAILED, error="boom", transform_job_name="t1")], now)
    store.move_jobs([JobMove("job-0002", JobStatus.COMPLETED, result="ok")], now)
    later = now + timedelta(seconds=1)
    (retried,) = store.retry_jobs(["job-0002", "job-0001", "job-0003", "missing"], later)
    assert (retried.job_id, retried.status, retried.attempt, retried.updated_at) == (
        "job-0001", JobStatus.QUEUED, 2, later
    )  # fmt: skip
    assert (retried.error, retried.result, retried.batch_id, retried.transform_job_name) == (None,) * 4
    assert retried.completed_at is None and retried.payload == "1,1"
    assert store.get_jobs(["job-0001"]) == [retried]
    # A second retry finds it QUEUED: nothing moves, so two racing callers cannot queue it twice.
    assert store.retry_jobs(["job-0001"], later) == []
    # The old batch no longer lists it, and its status index moved with it.
    in_b1 = store.list_jobs(status=None, batch_id="b1", limit=10, next_token=None)
    assert [j.job_id for j in in_b1.items] == ["job-0003", "job-0002"]
    queued = store.list_jobs(status=JobStatus.QUEUED, batch_id=None, limit=10, next_token=None)
    assert [j.job_id for j in queued.items] == ["job-0001"]
    # Events of the old attempt cannot step the new one back; its own moves go on as usual.
    assert store.move_jobs([JobMove("job-0001", JobStatus.BATCHED, batch_id="b2")], later)[0].attempt == 2
    store.move_jobs([JobMove("job-0001", JobStatus.FAILED, error="again")], later)
    assert store.retry_jobs(["job-0001"], later)[0].attempt == 3


def test_a_batchs_move_touches_only_its_own_jobs_and_first_attempts_in_none(store: Any) -> None:
    store.create_jobs([job(1), job(2), job(3), job(4)])
    now = T0 + timedelta(seconds=5)
    store.move_jobs([JobMove("job-0001", JobStatus.BATCHED, batch_id="b1")], now)
    store.move_jobs([JobMove("job-0002", JobStatus.BATCHED, batch_id="b2")], now)
    store.move_jobs([JobMove("job-0004", JobStatus.FAILED, error="boom", batch_id="b1")], now)
    store.retry_jobs(["job-0004"], now)  # attempt 2, in no batch
    moves = [JobMove(f"job-000{i}", JobStatus.COMPLETED, result="old", in_batch="b1") for i in (1, 2, 3, 4)]
    moved = store.move_jobs(moves, now)
    # b1's own job, and job 3 (first attempt, not yet in a batch: the batcher died before moving it)
    assert [j.job_id for j in moved] == ["job-0001", "job-0003"]
    assert [j.status for j in store.get_jobs(["job-0002", "job-0004"])] == [
        JobStatus.BATCHED,
        JobStatus.QUEUED,
    ]


def test_job_counts_by_status_follow_every_move(store: Any) -> None:
    assert store.count_jobs_by_status().get(JobStatus.QUEUED, 0) == 0
    store.create_jobs([job(i) for i in range(5)])
    store.move_jobs([JobMove(f"job-{i:04d}", JobStatus.BATCHED, batch_id="b1") for i in (0, 1, 2)], T0)
    store.move_jobs([JobMove("job-0000", JobStatus.COMPLETED, result="r")], T0)
    store.move_jobs([JobMove("job-0003", JobStatus.CANCELLED)], T0)
    counts = {s: n for s, n in store.count_jobs_by_status().items() if n}
    want = {JobStatus.QUEUED: 1, JobStatus.BATCHED: 2, JobStatus.COMPLETED: 1, JobStatus.CANCELLED: 1}
    assert counts == want


def test_many_moves_apply_each_condition_alone_and_return_what_moved_in_order(store: Any) -> None:
    # GIVEN 150 jobs (more than one DynamoDB transaction holds), some already past BATCHED
    store.create_jobs([job(i) for i in range(150)])
    store.move_jobs([JobMove(f"job-{i:04d}", JobStatus.CANCELLED) for i in range(0, 150, 10)], T0)
    now = T0 + timedelta(seconds=5)
    moves = [JobMove(f"job-{i:04d}", JobStatus.BATCHED, batch_id="b1") for i in range(149, -1, -1)]
    moves.insert(7, JobMove("missing", JobStatus.BATCHED, batch_id="b1"))
    moves.append(moves[0])  # the same move twice in one call (a duplicated line) applies once
    # WHEN they move together
    moved = store.move_jobs(moves, now)
    # THEN each job whose own condition held moved, once, in the order asked, as stored after
    want = [f"job-{i:04d}" for i in range(149, -1, -1) if i % 10]
    assert [j.job_id for j in moved] == want
    assert {(j.status, j.batch_id, j.updated_at) for j in moved} == {(JobStatus.BATCHED, "b1", now)}
    assert store.get_jobs([j.job_id for j in moved]) == moved
    assert store.get_jobs(["job-0010"])[0].status is JobStatus.CANCELLED
    # AND a replay of the whole call moves nothing
    assert store.move_jobs(moves, now) == []


def test_many_moves_of_a_batch_touch_only_its_own_jobs(store: Any) -> None:
    store.create_jobs([job(i) for i in range(30)])
    store.move_jobs([JobMove(f"job-{i:04d}", JobStatus.BATCHED, batch_id="b1") for i in range(10)], T0)
    store.move_jobs([JobMove(f"job-{i:04d}", JobStatus.BATCHED, batch_id="b2") for i in range(10, 20)], T0)
    later = T0 + timedelta(seconds=1)
    moves = [JobMove(f"job-{i:04d}", JobStatus.COMPLETED, result=f"r{i}", in_batch="b1") for i in range(30)]
    moved = store.move_jobs(moves, later)
    # b1's own ten, and the ten first attempts in no batch yet; b2's are left alone
    assert [j.job_id for j in moved] == [f"job-{i:04d}" for i in (*range(10), *range(20, 30))]
    assert [j.result for j in moved[:2]] == ["r0", "r1"]
    assert {j.status for j in store.get_jobs([f"job-{i:04d}" for i in range(10, 20)])} == {JobStatus.BATCHED}
    assert store.count_batch_jobs("b1") == {JobStatus.COMPLETED: 10}
    assert store.count_batch_jobs("b2") == {JobStatus.BATCHED: 10}
    assert store.move_jobs(moves, later) == []


@pytest.mark.parametrize("n", [2, 150])  # one UpdateItem each, and several DynamoDB transactions
def test_moves_answered_by_id_apply_as_move_jobs_does_and_name_what_moved_once_in_order(
    store: Any, n: int
) -> None:
    store.create_jobs([job(i) for i in range(n)])
    store.move_jobs([JobMove("job-0000", JobStatus.CANCELLED)], T0)
    now = T0 + timedelta(seconds=5)
    moves = [JobMove(f"job-{i:04d}", JobStatus.BATCHED, batch_id="b1") for i in range(n - 1, -1, -1)]
    if n > 2:
        moves.insert(3, JobMove("missing", JobStatus.BATCHED, batch_id="b1"))
        moves.append(moves[0])  # the same move twice in one call applies once, named once
    assert store.move_job_ids(moves, now) == [f"job-{i:04d}" for i in range(n - 1, 0, -1)]
    stored = store.get_jobs([f"job-{i:04d}" for i in range(n)])
    assert [(j.status, j.batch_id, j.updated_at) for j in stored[1:]] == [(JobStatus.BATCHED, "b1", now)] * (
        n - 1
    )
    assert stored[0].status is JobStatus.CANCELLED
    # a replay moves nothing; a conditional next move by id, in its batch only
    assert store.move_job_ids(moves, now) == []
    onward = [
        JobMove(f"job-{i:04d}", JobStatus.PROCESSING, transform_job_name="t", in_batch="b1") for i in range(n)
    ]
    assert store.move_job_ids(onward, now) == [f"job-{i:04d}" for i in range(1, n)]
    assert {j.transform_job_name for j in store.get_jobs([f"job-{i:04d}" for i in range(1, n)])} == {"t"}


def test_a_batchs_job_ids_are_every_job_in_it_whatever_its_status(store: Any) -> None:
    store.create_jobs([job(i) for i in range(30)])
    store.move_jobs([JobMove(f"job-{i:04d}", JobStatus.BATCHED, batch_id="b1") for i in range(0, 30, 2)], T0)
    store.move_jobs([JobMove(f"job-{i:04d}", JobStatus.BATCHED, batch_id="b2") for i in range(1, 30, 2)], T0)
    store.move_jobs([JobMove("job-0004", JobStatus.COMPLETED, result="r", in_batch="b1")], T0)
    assert sorted(store.batch_job_ids("b1")) == [f"job-{i:04d}" for i in range(0, 30, 2)]
    assert store.batch_job_ids("nope") == []


def test_a_batchs_jobs_move_together_each_on_its_own_condition(store: Any) -> None:
    store.create_jobs([job(i) for i in range(30)])
    store.move_jobs([JobMove(f"job-{i:04d}", JobStatus.BATCHED, batch_id="b1") for i in range(20)], T0)
    store.move_jobs([JobMove(f"job-{i:04d}", JobStatus.BATCHED, batch_id="b2") for i in range(20, 30)], T0)
    store.move_jobs([JobMove("job-0003", JobStatus.COMPLETED, result="r", in_batch="b1")], T0)  # further on
    later = T0 + timedelta(seconds=1)
    moved = store.move_batch_jobs("b1", JobStatus.PROCESSING, later, transform_job_name="t1")
    assert sorted(moved) == [f"job-{i:04d}" for i in range(20) if i != 3]
    after = store.get_jobs([f"job-{i:04d}" for i in range(30)])
    assert {(j.status, j.transform_job_name, j.updated_at) for j in after[:20] if j.job_id != "job-0003"} == {
        (JobStatus.PROCESSING, "t1", later)
    }
    assert after[3].status is JobStatus.COMPLETED and after[3].result == "r"
    assert {j.status for j in after[20:]} == {JobStatus.BATCHED}  # b2's own
    assert store.move_batch_jobs("b1", JobStatus.PROCESSING, later, transform_job_name="t1") == []


def test_many_retries_queue_each_failed_job_once(store: Any) -> None:
    store.create_jobs([job(i) for i in range(8)])
    store.move_jobs([JobMove(f"job-{i:04d}", JobStatus.FAILED, error="boom") for i in range(6)], T0)
    ids = [f"job-{i:04d}" for i in (5, 6, 0, 1, 2, 3, 4, 7, 0)]
    retried = store.retry_jobs(ids, T0)
    assert [(j.job_id, j.attempt, j.status) for j in retried] == [
        (f"job-{i:04d}", 2, JobStatus.QUEUED) for i in (5, 0, 1, 2, 3, 4)
    ]
    assert store.retry_jobs(ids, T0) == []


def test_listings_page_newest_first_through_every_filter(store: Any) -> None:
    # GIVEN 60 jobs (so, in DynamoDB, spread over every shard of the index keys)
    store.create_jobs([job(i) for i in range(60)])
    store.move_jobs([JobMove(f"job-{i:04d}", JobStatus.BATCHED, batch_id="b1") for i in range(0, 60, 2)], T0)
    store.move_jobs([JobMove(f"job-{i:04d}", JobStatus.COMPLETED) for i in range(0, 60, 4)], T0)

    newest_first = [f"job-{i:04d}" for i in range(59, -1, -1)]
    # THEN every page size walks the same jobs in the same order, each once
    for limit in (1, 7, 60, 100):
        assert every_page(store, limit, status=None, batch_id=None) == newest_first
    queued = [j for n, j in enumerate(newest_first) if (59 - n) % 2]
    assert every_page(store, 4, status=JobStatus.QUEUED, batch_id=None) == queued
    in_b1 = [j for n, j in enumerate(newest_first) if (59 - n) % 2 == 0]
    assert every_page(store, 5, status=None, batch_id="b1") == in_b1
    done_in_b1 = [j for n, j in enumerate(newest_first) if (59 - n) % 4 == 0]
    assert [j for j in every_page(store, 3, status=JobStatus.COMPLETED, batch_id="b1")] == done_in_b1
    counts = {s: n for s, n in store.count_jobs_by_status().items() if n}
    assert counts == {JobStatus.QUEUED: 30, JobStatus.BATCHED: 15, JobStatus.COMPLETED: 15}
    assert store.count_batch_jobs("b1") == {JobStatus.BATCHED: 15, JobStatus.COMPLETED: 15}
