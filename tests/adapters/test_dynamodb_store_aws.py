"""DynamoDB store behaviour moto cannot show: throttled batches (Stubber), plus TTL and token races."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from asyncml.aws import dynamodb_items as items
from asyncml.aws.dynamodb_store import DynamoJobStore, StoreUnavailable
from asyncml.model import Job, JobMove, JobStatus
from tests.moto_stack import moto_stack

T0 = datetime(2026, 11, 25, 12, tzinfo=UTC)


def job(i: int) -> Job:
    return Job(
        job_id=f"job-{i:04d}", status=JobStatus.QUEUED, payload=f"{i},1", submitted_at=T0, updated_at=T0
    )


def put_requests(jobs: list[Job]) -> list[dict[str, Any]]:
    return [{"PutRequest": {"Item": items.job_item(j, 0)}} for j in jobs]


def stubbed() -> tuple[DynamoJobStore, Stubber, list[float]]:
    client = boto3.client(
        "dynamodb", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    pauses: list[float] = []
    return DynamoJobStore(client, "t", sleep=pauses.append), Stubber(client), pauses


def test_unprocessed_items_are_sent_again_after_a_pause_in_chunks_of_25() -> None:
    # GIVEN DynamoDB throttles: it accepts 23 of the first 25 and hands back 2 as UnprocessedItems
    store, stub, pauses = stubbed()
    jobs = [job(i) for i in range(30)]
    left = put_requests(jobs[23:25])
    stub.add_response(
        "batch_write_item",
        {"UnprocessedItems": {"t": left}},
        {"RequestItems": {"t": put_requests(jobs[:25])}},
    )
    stub.add_response("batch_write_item", {"UnprocessedItems": {}}, {"RequestItems": {"t": left}})
    stub.add_response("batch_write_item", {}, {"RequestItems": {"t": put_requests(jobs[25:])}})
    # WHEN 30 jobs are created
    with stub:
        assert store.create_jobs(jobs) == jobs
        stub.assert_no_pending_responses()
    # THEN exactly the 2 unprocessed ones went again, once, after one backoff pause
    assert len(pauses) == 1


def test_a_batch_that_stays_throttled_fails_loudly_instead_of_dropping_jobs() -> None:
    store, stub, pauses = stubbed()
    jobs = [job(1)]
    for _ in range(8):
        stub.add_response(
            "batch_write_item", {"UnprocessedItems": {"t": put_requests(jobs)}}, {"RequestItems": ANY}
        )
    with stub, pytest.raises(StoreUnavailable, match="1 items unwritten after 8 attempts"):
        store.create_jobs(jobs)
    assert len(pauses) == 8 and all(p <= 2.0 for p in pauses)


def test_unprocessed_keys_of_a_batch_get_are_read_again() -> None:
    store, stub, _ = stubbed()
    a, b = items.job_item(job(1), 0), items.job_item(job(2), 0)
    k1, k2 = items.key("job", "job-0001"), items.key("job", "job-0002")
    first = {"t": {"Keys": [k1, k2], "ConsistentRead": True}}
    again = {"t": {"Keys": [k2], "ConsistentRead": True}}
    stub.add_response(
        "batch_get_item", {"Responses": {"t": [a]}, "UnprocessedKeys": again}, {"RequestItems": first}
    )
    stub.add_response("batch_get_item", {"Responses": {"t": [b]}}, {"RequestItems": again})
    with stub:
        assert [j.job_id for j in store.get_jobs(["job-0001", "job-0002"])] == ["job-0001", "job-0002"]


def test_finished_jobs_carry_a_ttl_and_queued_ones_do_not() -> None:
    with moto_stack() as stack:
        db = stack.client("dynamodb")
        store = DynamoJobStore(db, stack.table, ttl_days=30)
        store.create_jobs([job(1), job(2)])
        now = T0 + timedelta(minutes=1)
        store.move_jobs([JobMove("job-0001", JobStatus.COMPLETED, result="x")], now)
        done = db.get_item(TableName=stack.table, Key=items.key("job", "job-0001"))["Item"]
        queued = db.get_item(TableName=stack.table, Key=items.key("job", "job-0002"))["Item"]
        assert int(done["expiresAt"]["N"]) == int((now + timedelta(days=30)).timestamp())
        assert "expiresAt" not in queued


def test_many_moves_run_concurrently_and_each_applies_once() -> None:
    with moto_stack() as stack:
        store = DynamoJobStore(stack.client("dynamodb"), stack.table)
        jobs = [job(i) for i in range(60)]
        store.create_jobs(jobs)
        moves = [JobMove(j.job_id, JobStatus.BATCHED, batch_id="b") for j in jobs]
        assert len(store.move_jobs(moves, T0)) == 60
        assert store.move_jobs(moves, T0) == []
        assert store.count_batch_jobs("b") == {JobStatus.BATCHED: 60}
