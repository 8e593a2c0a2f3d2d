"""DynamoDB store behaviour moto cannot show: throttled and cancelled batches (Stubber); plus, under
moto, TTL, hot keys spread over shards and items written before the shards. Under moto the store
runs one worker: moto's TransactWriteItems copies the whole table to undo itself, and a copy taken
while another thread writes can undo that thread's writes (DynamoDB isolates transactions)."""

from __future__ import annotations

from collections import Counter
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


# A read of jobs asks only the attributes a Job is made of.
JOBS_ASKED = {
    "ConsistentRead": True,
    "ProjectionExpression": ", ".join(f"#p{i}" for i in range(len(items.JOB_ATTRIBUTES))),
    "ExpressionAttributeNames": {f"#p{i}": name for i, name in enumerate(items.JOB_ATTRIBUTES)},
}


def test_unprocessed_keys_of_a_batch_get_are_read_again() -> None:
    store, stub, _ = stubbed()
    a, b = items.job_item(job(1), 0), items.job_item(job(2), 0)
    k1, k2 = items.key("job", "job-0001"), items.key("job", "job-0002")
    first = {"t": {"Keys": [k1, k2], **JOBS_ASKED}}
    again = {"t": {"Keys": [k2], **JOBS_ASKED}}
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


def cancelled(*codes: str) -> dict[str, Any]:
    reasons = [{"Code": c, "Message": c} for c in codes]
    return {"service_error_code": "TransactionCanceledException", "service_message": "cancelled",
            "modeled_fields": {"CancellationReasons": reasons},
            "expected_params": {"TransactItems": ANY}}  # fmt: skip


def sent_transactions(store: DynamoJobStore) -> list[list[str]]:
    """The job keys of each TransactWriteItems the store sends, in order."""
    sent: list[list[str]] = []
    store._db.meta.events.register(  # type: ignore[attr-defined]
        "provide-client-params.dynamodb.TransactWriteItems",
        lambda params, **_: sent.append([t["Update"]["Key"]["pk"]["S"] for t in params["TransactItems"]]),
    )
    return sent


def test_a_cancelled_transaction_drops_failed_conditions_and_resends_the_rest_after_a_pause() -> None:
    # GIVEN three moves; DynamoDB cancels the first try: job 2 already moved on, job 3 was in
    # another transaction at that moment
    store, stub, pauses = stubbed()
    sent = sent_transactions(store)
    stub.add_client_error(
        "transact_write_items", **cancelled("None", "ConditionalCheckFailed", "TransactionConflict")
    )
    stub.add_response("transact_write_items", {}, {"TransactItems": ANY})
    after = [items.job_item(job(i).replace(status=JobStatus.BATCHED, batch_id="b"), 0) for i in (1, 3)]
    keys = [items.key("job", "job-0001"), items.key("job", "job-0003")]
    stub.add_response("batch_get_item", {"Responses": {"t": after}},
                      {"RequestItems": {"t": {"Keys": keys, **JOBS_ASKED}}})  # fmt: skip
    # WHEN they move
    with stub:
        moved = store.move_jobs(
            [JobMove(f"job-000{i}", JobStatus.BATCHED, batch_id="b") for i in (1, 2, 3)], T0
        )
        stub.assert_no_pending_responses()
    # THEN jobs 1 and 3 went again, once, after one pause, and are what the call returns
    assert sent == [["job#job-0001", "job#job-0002", "job#job-0003"], ["job#job-0001", "job#job-0003"]]
    assert len(pauses) == 1
    assert [(j.job_id, j.status) for j in moved] == [
        ("job-0001", JobStatus.BATCHED),
        ("job-0003", JobStatus.BATCHED),
    ]


def test_only_failed_conditions_are_resent_at_once_without_a_pause() -> None:
    store, stub, pauses = stubbed()
    sent = sent_transactions(store)
    stub.add_client_error("transact_write_items", **cancelled("ConditionalCheckFailed", "None", "None"))
    stub.add_response("transact_write_items", {}, {"TransactItems": ANY})
    stub.add_response("batch_get_item", {"Responses": {"t": []}}, {"RequestItems": ANY})
    with stub:
        store.retry_jobs(["job-0001", "job-0002", "job-0003"], T0)
    assert sent[1] == ["job#job-0002", "job#job-0003"] and pauses == []


def test_a_transaction_that_stays_throttled_fails_loudly() -> None:
    store, stub, pauses = stubbed()
    for _ in range(9):
        stub.add_client_error("transact_write_items", **cancelled("ThrottlingError", "None", "None"))
    with stub, pytest.raises(StoreUnavailable, match=r"3 items 8 times \(ThrottlingError\)"):
        store.move_jobs([JobMove(f"job-000{i}", JobStatus.BATCHED, batch_id="b") for i in (1, 2, 3)], T0)
    assert len(pauses) == 8


def test_an_item_dynamodb_refuses_is_not_dropped_silently() -> None:
    store, stub, _ = stubbed()
    stub.add_client_error("transact_write_items", **cancelled("None", "ValidationError", "None"))
    with stub, pytest.raises(store._db.exceptions.TransactionCanceledException):  # type: ignore[attr-defined]
        store.move_jobs([JobMove(f"job-000{i}", JobStatus.COMPLETED, result="r") for i in (1, 2, 3)], T0)


def test_many_moves_go_100_a_round_trip_and_each_applies_once() -> None:
    with moto_stack() as stack:
        store = DynamoJobStore(stack.client("dynamodb"), stack.table, workers=1)
        sent = sent_transactions(store)
        jobs = [job(i) for i in range(250)]
        store.create_jobs(jobs)
        moves = [JobMove(j.job_id, JobStatus.BATCHED, batch_id="b") for j in jobs]
        assert len(store.move_jobs(moves, T0)) == 250
        assert sorted(len(t) for t in sent) == [50, 100, 100]
        assert store.move_jobs(moves, T0) == []
        assert store.count_batch_jobs("b") == {JobStatus.BATCHED: 250}


def test_one_status_spreads_over_16_index_keys() -> None:
    # At 1,000 jobs/s one key per status would take ~2,000 WCU/s; a partition allows 1,000.
    with moto_stack() as stack:
        db = stack.client("dynamodb")
        store = DynamoJobStore(db, stack.table, workers=1)
        store.create_jobs([job(i) for i in range(320)])
        store.move_jobs([JobMove(f"job-{i:04d}", JobStatus.BATCHED, batch_id="b") for i in range(320)], T0)
        held = db.scan(TableName=stack.table)["Items"]
        for attr in ("statusKey", "kind", "batchKey"):
            per_key = Counter(i[attr]["S"] for i in held)
            assert len(per_key) == 16 and max(per_key.values()) <= 2 * 320 / 16, (attr, per_key)


def test_jobs_written_before_the_shards_are_still_listed_counted_and_moved() -> None:
    # GIVEN a stack deployed before sharding: a job item keyed `job`, `job#BATCHED`, `b0`
    with moto_stack() as stack:
        db = stack.client("dynamodb")
        store = DynamoJobStore(db, stack.table, workers=1)
        old = job(0).replace(status=JobStatus.BATCHED, batch_id="b0")
        legacy = items.job_item(old, 0) | {"kind": {"S": "job"}, "statusKey": {"S": "job#BATCHED"},
                                           "batchKey": {"S": "b0"}}  # fmt: skip
        db.put_item(TableName=stack.table, Item=legacy)
        store.create_jobs([job(1), job(2)])
        store.move_jobs([JobMove("job-0002", JobStatus.BATCHED, batch_id="b0")], T0)
        # THEN every listing and count still finds it, in its place
        ids = [j.job_id for j in store.list_jobs(status=None, batch_id=None, limit=2, next_token=None).items]
        page = store.list_jobs(status=None, batch_id=None, limit=2, next_token=None)
        rest = store.list_jobs(status=None, batch_id=None, limit=2, next_token=page.next_token)
        assert ids + [j.job_id for j in rest.items] == ["job-0002", "job-0001", "job-0000"]
        batched = store.list_jobs(status=JobStatus.BATCHED, batch_id=None, limit=10, next_token=None)
        assert sorted(j.job_id for j in batched.items) == ["job-0000", "job-0002"]
        assert store.count_jobs_by_status()[JobStatus.BATCHED] == 2
        assert store.count_batch_jobs("b0") == {JobStatus.BATCHED: 2}
        # AND its next move puts it on its shard's keys
        store.move_jobs([JobMove("job-0000", JobStatus.COMPLETED, result="r", in_batch="b0")], T0)
        item = db.get_item(TableName=stack.table, Key=items.key("job", "job-0000"))["Item"]
        assert item["statusKey"]["S"] == items.job_status_key("job-0000", "COMPLETED") != "job#COMPLETED"
        assert store.count_batch_jobs("b0") == {JobStatus.COMPLETED: 1, JobStatus.BATCHED: 1}


def test_large_results_split_a_call_below_a_transactions_4_mb() -> None:
    # 12 results of 300 KB are 3.6 MB: one TransactWriteItems would be refused whole
    with moto_stack() as stack:
        store = DynamoJobStore(stack.client("dynamodb"), stack.table, workers=1)
        sent = sent_transactions(store)
        store.create_jobs([job(i) for i in range(12)])
        moves = [JobMove(f"job-{i:04d}", JobStatus.COMPLETED, result="x" * 300_000) for i in range(12)]
        assert len(store.move_jobs(moves, T0)) == 12
        assert sorted(len(t) for t in sent) == [3, 9]  # 9 x 300 KB fit the 3 MB a chunk may carry
