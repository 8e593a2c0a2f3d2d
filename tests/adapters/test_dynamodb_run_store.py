"""DynamoRunStore under moto: what its layout promises beyond the JobStore contract (one write a run,
no lost race, markers, tokens past one transaction, TTL, jobs stored one item each)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from asyncml.aws.dynamodb_run_store import DynamoRunStore
from asyncml.aws.dynamodb_store import DynamoJobStore
from asyncml.aws.dynamodb_wire import plain_results_path
from asyncml.model import Job, JobMove, JobStatus, run_of
from asyncml.submit import new_job_ids
from tests.adapters.pages import every_page
from tests.moto_stack import MotoStack, moto_stack

T0 = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


@pytest.fixture
def stack() -> Iterator[MotoStack]:
    with moto_stack() as s:
        yield s


def store_of(stack: MotoStack, **kw: Any) -> DynamoRunStore:
    return DynamoRunStore(plain_results_path(stack.client("dynamodb")), stack.table, workers=1, **kw)


def jobs_of_one_call(n: int, at: datetime = T0, token: str | None = None) -> list[Job]:
    return [
        Job(job_id=i, status=JobStatus.QUEUED, payload=f"{k},1", submitted_at=at, updated_at=at,
            client_token=f"{token}-{k}" if token else None)
        for k, i in enumerate(new_job_ids(n))
    ]  # fmt: skip


def writes(store: DynamoRunStore) -> Counter[str]:
    """Every write request the store's client sends from now on, by operation."""
    sent: Counter[str] = Counter()
    for op in ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"):
        store._db.meta.events.register(f"before-call.dynamodb.{op}", lambda op=op, **_: sent.update([op]))
    return sent


def items_named(stack: MotoStack, prefix: str) -> list[dict[str, Any]]:
    pages = stack.client("dynamodb").get_paginator("scan").paginate(TableName=stack.table)
    return [i for page in pages for i in page["Items"] if i["pk"]["S"].startswith(prefix)]


def test_one_calls_jobs_share_a_run_and_move_in_one_write(stack: MotoStack) -> None:
    store = store_of(stack)
    jobs = jobs_of_one_call(500)
    assert len({run_of(j.job_id) for j in jobs}) == 1
    sent = writes(store)
    store.create_jobs(jobs)
    # the inputs (25 items a BatchWriteItem; 500 small payloads are one item) and the state
    assert sent == Counter({"BatchWriteItem": 1, "PutItem": 1})
    for status, extra in ((JobStatus.BATCHED, {"batch_id": "b1"}), (JobStatus.PROCESSING, {})):
        sent.clear()
        moves = [JobMove(j.job_id, status, **extra) for j in jobs]
        assert store.move_job_ids(moves, T0) == [j.job_id for j in jobs]
        assert sent == Counter({"PutItem": 1})  # one state write for all 500
    sent.clear()
    ends = [JobMove(j.job_id, JobStatus.COMPLETED, result=f"r{n}", in_batch="b1") for n, j in enumerate(jobs)]
    done = store.move_jobs(ends, T0)
    assert [(j.status, j.result, j.payload) for j in done[:2]] == [
        (JobStatus.COMPLETED, "r0", "0,1"),
        (JobStatus.COMPLETED, "r1", "1,1"),
    ]
    assert sent == Counter({"BatchWriteItem": 1, "PutItem": 1})  # the results, then the state
    assert store.count_batch_jobs("b1") == {JobStatus.COMPLETED: 500}
    assert items_named(stack, "runm#") == []  # a run that moves together needs no marker


def test_a_write_that_lost_a_race_reads_again_and_loses_no_move(stack: MotoStack) -> None:
    store, other = store_of(stack), store_of(stack)
    jobs = jobs_of_one_call(3)
    store.create_jobs(jobs)
    raced: list[str] = []

    def meanwhile(**_: Any) -> None:
        if not raced:  # between this store's read and its write, another writer moves job 2
            raced.append("x")
            assert other.move_job_ids([JobMove(jobs[2].job_id, JobStatus.CANCELLED)], T0) == [jobs[2].job_id]

    store._db.meta.events.register("before-call.dynamodb.PutItem", meanwhile)
    moved = store.move_job_ids([JobMove(j.job_id, JobStatus.BATCHED, batch_id="b1") for j in jobs], T0)
    # the second read saw job 2 cancelled: only 0 and 1 moved, and the cancel stands
    assert moved == [jobs[0].job_id, jobs[1].job_id]
    got = store.get_jobs([j.job_id for j in jobs])
    assert [j.status for j in got] == [JobStatus.BATCHED, JobStatus.BATCHED, JobStatus.CANCELLED]


def test_a_run_spread_over_statuses_and_batches_is_listed_under_each_then_markers_go(
    stack: MotoStack,
) -> None:
    store = store_of(stack)
    older, newer = jobs_of_one_call(4), jobs_of_one_call(4, T0 + timedelta(seconds=1))
    store.create_jobs(older + newer)
    store.move_jobs([JobMove(j.job_id, JobStatus.BATCHED, batch_id="b1") for j in older[:2]], T0)
    store.move_jobs([JobMove(j.job_id, JobStatus.BATCHED, batch_id="b2") for j in older[2:3]], T0)

    newest_first = [j.job_id for j in reversed(older + newer)]
    for limit in (1, 2, 3, 8, 20):
        assert every_page(store, limit, status=None, batch_id=None) == newest_first
        queued = [j.job_id for j in reversed([*older[3:], *newer])]
        assert every_page(store, limit, status=JobStatus.QUEUED, batch_id=None) == queued
        assert every_page(store, limit, status=None, batch_id="b1") == [older[1].job_id, older[0].job_id]
        assert every_page(store, limit, status=JobStatus.BATCHED, batch_id=None) == [
            older[2].job_id, older[1].job_id, older[0].job_id
        ]  # fmt: skip
    # The older run: a marker for each of its 2 statuses, and one for b2; the state item itself
    # still names b1, the batch it joined first, so b1's entry never moved while b2 was sealed.
    assert sorted(m["pk"]["S"].split("#", 2)[2] for m in items_named(stack, "runm#")) == [
        "b#b2", "s#BATCHED", "s#QUEUED"
    ]  # fmt: skip
    (state,) = [i for i in items_named(stack, "run#") if i["pk"]["S"] == f"run#{run_of(older[0].job_id)}"]
    assert state["batchKey"]["S"].startswith("b1#") and "statusKey" not in state
    # WHEN the older run's jobs all end alike, THEN its markers go: the state item is listed itself
    store.move_jobs([JobMove(j.job_id, JobStatus.CANCELLED) for j in older[3:]], T0)
    store.move_jobs([JobMove(j.job_id, JobStatus.COMPLETED, result="r") for j in older[:3]], T0)
    assert {m["pk"]["S"].rsplit("#", 2)[1] for m in items_named(stack, "runm#")} == {"s", "b"}
    assert every_page(store, 2, status=JobStatus.COMPLETED, batch_id=None) == [
        j.job_id for j in reversed(older[:3])
    ]
    assert store.count_jobs_by_status() == {
        **dict.fromkeys(JobStatus, 0), JobStatus.QUEUED: 4, JobStatus.COMPLETED: 3, JobStatus.CANCELLED: 1
    }  # fmt: skip


def test_client_tokens_past_one_transaction_each_name_one_job(stack: MotoStack) -> None:
    store = store_of(stack)
    first = store.create_jobs(jobs_of_one_call(250, token="t"))
    again = store.create_jobs(jobs_of_one_call(250, token="t"))
    assert again == first
    assert store.get_jobs([j.job_id for j in first]) == first
    assert len(items_named(stack, "token#")) == 250


def test_a_run_expires_with_all_its_items_once_every_job_ended_and_not_after_a_retry(
    stack: MotoStack,
) -> None:
    store = store_of(stack, ttl_days=30)
    jobs = jobs_of_one_call(3)
    store.create_jobs(jobs)
    store.move_jobs([JobMove(jobs[0].job_id, JobStatus.BATCHED, batch_id="b1")], T0)
    store.move_jobs([JobMove(jobs[0].job_id, JobStatus.COMPLETED, result="r")], T0)
    store.move_jobs([JobMove(jobs[1].job_id, JobStatus.FAILED, error="boom")], T0)

    def expiring() -> set[str]:
        db = stack.client("dynamodb")
        return {
            i["pk"]["S"].split("#")[0] for i in db.scan(TableName=stack.table)["Items"] if "expiresAt" in i
        }

    assert expiring() == set()  # job 2 is still QUEUED
    end = T0 + timedelta(hours=1)
    store.move_jobs([JobMove(jobs[2].job_id, JobStatus.CANCELLED)], end)
    assert expiring() == {"run", "in", "out", "runm"}
    (state,) = items_named(stack, "run#")
    assert int(state["expiresAt"]["N"]) == int((end + timedelta(days=30)).timestamp())
    store.retry_jobs([jobs[1].job_id], end)
    # all but the output item of the retried attempt's error, which no job names any more
    assert expiring() == {"out"}
    (old,) = [i for i in items_named(stack, "out#") if "expiresAt" in i]
    assert {k for k in old if k.startswith("e:")} == {"e:" + jobs[1].job_id[-3:]}


def test_jobs_stored_one_item_each_stay_readable_movable_and_retryable(stack: MotoStack) -> None:
    db = plain_results_path(stack.client("dynamodb"))
    old = Job(job_id="00000000-0000-7000-8000-000000000001", status=JobStatus.QUEUED, payload="1,2",
              submitted_at=T0, updated_at=T0)  # fmt: skip
    DynamoJobStore(db, stack.table, workers=1).create_jobs([old])
    store = store_of(stack)
    assert store.get_jobs([old.job_id]) == [old]
    assert store.move_job_ids([JobMove(old.job_id, JobStatus.BATCHED, batch_id="b1")], T0) == [old.job_id]
    (failed,) = store.move_jobs([JobMove(old.job_id, JobStatus.FAILED, error="boom", in_batch="b1")], T0)
    assert (failed.status, failed.error) == (JobStatus.FAILED, "boom")
    assert [j.attempt for j in store.retry_jobs([old.job_id], T0)] == [2]


def test_a_run_larger_than_an_item_keeps_every_payload_and_result(stack: MotoStack) -> None:
    store = store_of(stack)
    big = "x" * 200_000
    jobs = [j.replace(payload=big + str(n)) for n, j in enumerate(jobs_of_one_call(4))]
    store.create_jobs(jobs)
    assert len(items_named(stack, "in#")) == 4  # 350 KB an input item: one payload each
    done = store.move_jobs([JobMove(j.job_id, JobStatus.COMPLETED, result=big) for j in jobs], T0)
    assert [j.payload for j in done] == [j.payload for j in jobs]
    assert {j.result for j in store.get_jobs([j.job_id for j in jobs])} == {big}
    assert len(items_named(stack, "out#")) == 4


def test_single_job_runs_move_together_in_transactions_and_a_lost_race_is_decided_again(
    stack: MotoStack,
) -> None:
    # GIVEN 150 jobs submitted one a call: 150 runs of one job
    store, other = store_of(stack, ttl_days=30), store_of(stack, ttl_days=30)
    jobs = [store.create_jobs(jobs_of_one_call(1))[0] for _ in range(150)]
    sent = writes(store)
    raced: list[str] = []

    def meanwhile(**_: Any) -> None:
        if not raced:  # between the reads and the first transaction, another writer cancels job 7
            raced.append("x")
            assert other.move_job_ids([JobMove(jobs[7].job_id, JobStatus.CANCELLED)], T0) == [jobs[7].job_id]

    store._db.meta.events.register("before-call.dynamodb.TransactWriteItems", meanwhile)
    # WHEN a batch takes them all
    moved = store.move_job_ids([JobMove(j.job_id, JobStatus.BATCHED, batch_id="b1") for j in jobs], T0)
    # THEN each moved once, in order, but job 7, which the second read found cancelled
    assert moved == [j.job_id for n, j in enumerate(jobs) if n != 7]
    # in transactions of at most 100 actions (the first one sent again without job 7), not a
    # write a job
    assert sent["PutItem"] == 0 and 2 <= sent["TransactWriteItems"] <= 5
    assert store.count_batch_jobs("b1") == {JobStatus.BATCHED: 149}
    # AND their ends go the same way, each run expiring with its items
    sent.clear()
    ends = [JobMove(j.job_id, JobStatus.COMPLETED, result=f"r{n}", in_batch="b1") for n, j in enumerate(jobs)]
    done = store.move_jobs(ends, T0)
    assert [j.result for j in done[:2]] == ["r0", "r1"] and len(done) == 149
    assert sent["PutItem"] == sent["UpdateItem"] == 0
    assert {"expiresAt" in i for i in items_named(stack, "in#")} == {True}
    # AND a replay writes nothing
    sent.clear()
    assert store.move_jobs(ends, T0) == [] and sum(sent.values()) == 0


def test_a_token_claimed_by_another_call_meanwhile_returns_that_calls_job(stack: MotoStack) -> None:
    store, other = store_of(stack), store_of(stack)
    mine, theirs = jobs_of_one_call(2, token="t"), jobs_of_one_call(1, token="t")
    raced: list[Job] = []

    def meanwhile(**_: Any) -> None:
        if not raced:  # between this call's token read and its claim, another call stores "t-0"
            raced.extend(other.create_jobs(theirs))

    store._db.meta.events.register("before-call.dynamodb.TransactWriteItems", meanwhile)
    got = store.create_jobs(mine)
    # the first input is the other call's job; the second is stored as sent
    assert got == [theirs[0], mine[1]] and raced == theirs
    assert store.get_jobs([mine[0].job_id, mine[1].job_id]) == [mine[1]]
    assert len(items_named(stack, "token#")) == 2
