"""A stream batch the batcher gave up on (its on-failure record on the queue) is sealed again, or
its jobs end FAILED: none is left QUEUED (moto; the SQS and on-failure shapes of tests/events)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from asyncml.aws.s3_bucket import S3Bucket
from asyncml.stream_failures import MAX_ATTEMPTS
from tests.cloud_harness import Cloud, LambdaContext, kinesis_event, load_event
from tests.handlers.test_retry_resolver import call, stream_records
from tests.handlers.test_stream_replays import batch_files, crash_on_first_file_write
from workers import batcher, stream_redrive

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics")
CTX = LambdaContext()
SHARD = "shardId-000000000000"


def given_up(records: list[dict[str, Any]], receive_count: int = 1) -> dict[str, Any]:
    """The queue's message for a stream batch the event source gave up on: its shard and range."""
    event = copy.deepcopy(load_event("sqs_kinesis_on_failure"))
    message = event["Records"][0]
    body = json.loads(message["body"])
    body["KinesisBatchInfo"].update(
        shardId=SHARD,
        startSequenceNumber=records[0]["SequenceNumber"],
        endSequenceNumber=records[-1]["SequenceNumber"],
        approximateArrivalOfFirstRecord=records[0]["ApproximateArrivalTimestamp"].isoformat(),
        approximateArrivalOfLastRecord=records[-1]["ApproximateArrivalTimestamp"].isoformat(),
        batchSize=len(records),
    )
    message["body"] = json.dumps(body)
    message["attributes"]["ApproximateReceiveCount"] = str(receive_count)
    return event


def statuses(ids: list[str]) -> list[str]:
    return [call("getJob", "Query", jobId=i)["status"] for i in ids]


def submit(n: int) -> list[str]:
    return [
        j["jobId"] for j in call("submitJobs", "Mutation", inputs=[{"payload": f"{i},1"} for i in range(n)])
    ]


def test_a_stream_batch_never_sealed_is_read_back_and_sealed_once(aws: Cloud) -> None:
    # GIVEN jobs whose stream batch failed every retry before any seal (the batcher never got it)
    ids = submit(4)
    records = stream_records(aws)
    assert statuses(ids) == ["QUEUED"] * 4
    # WHEN the queue hands its record to the re-drive, twice (SQS delivers at least once)
    assert stream_redrive.lambda_handler(given_up(records), CTX) == {"batchItemFailures": []}
    stream_redrive.lambda_handler(given_up(records, receive_count=2), CTX)
    # THEN they are BATCHED in one batch file, the one the batcher would have written: the stream
    # delivering the same batch after all changes nothing
    assert statuses(ids) == ["BATCHED"] * 4
    files = batch_files(aws)
    assert [sorted(f) for f in files.values()] == [sorted(ids)]
    batcher.lambda_handler(kinesis_event(aws.stack, records, SHARD), CTX)
    assert batch_files(aws) == files
    moved = [(u["status"], sorted(u["jobIds"])) for u in aws.appsync.updates("publishJobsMoved")]
    assert moved.count(("BATCHED", sorted(ids))) == 1


def test_a_seal_that_died_after_its_claim_is_finished_by_the_redrive(
    aws: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a seal that claimed its jobs (BATCHED) and died before its file, and no stream retry left
    ids = submit(3)
    records = stream_records(aws)
    crash_on_first_file_write(monkeypatch)
    with pytest.raises(ConnectionError):
        batcher.lambda_handler(kinesis_event(aws.stack, records, SHARD), CTX)
    assert statuses(ids) == ["BATCHED"] * 3 and batch_files(aws) == {}
    # WHEN the re-drive reads the range back
    stream_redrive.lambda_handler(given_up(records), CTX)
    # THEN the same batch gets its file, so its transform can start
    [listed] = batch_files(aws).values()
    assert sorted(listed) == sorted(ids)
    assert len({call("getJob", "Query", jobId=i)["batchId"] for i in ids}) == 1


def test_a_stream_batch_that_keeps_failing_ends_its_jobs_failed_with_the_reason(
    aws: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN batch files cannot be written at all (the bucket refuses every put)
    ids = submit(3)
    records = stream_records(aws)

    def refuse(self: S3Bucket, key: str, data: bytes) -> None:
        raise PermissionError("AccessDenied: the bucket refuses the batch file")

    monkeypatch.setattr(S3Bucket, "put", refuse)
    # WHEN the re-drive tries while attempts remain, the message is reported failed (the queue hands
    # it over again) and the jobs wait
    for attempt in range(1, MAX_ATTEMPTS):
        event = given_up(records, receive_count=attempt)
        message_id = event["Records"][0]["messageId"]
        assert stream_redrive.lambda_handler(event, CTX) == {
            "batchItemFailures": [{"itemIdentifier": message_id}]
        }
    assert set(statuses(ids)) <= {"QUEUED", "BATCHED"}
    # THEN on the last attempt its jobs end FAILED, saying why and that retryJobs runs them again,
    # and subscribers see those ends
    assert stream_redrive.lambda_handler(given_up(records, receive_count=MAX_ATTEMPTS), CTX) == {
        "batchItemFailures": []
    }
    jobs = [call("getJob", "Query", jobId=i) for i in ids]
    assert [j["status"] for j in jobs] == ["FAILED"] * 3
    assert all("AccessDenied" in j["error"] and "retryJobs" in j["error"] for j in jobs)
    ends = [u for u in aws.appsync.updates("publishJobsMoved") if u["status"] == "FAILED"]
    assert sorted(j["jobId"] for u in ends for j in u["jobs"]) == sorted(ids)
    # AND retryJobs queues them again as new attempts
    retried = call("retryJobs", "Mutation", jobIds=ids)
    assert [(j["status"], j["attempt"]) for j in retried] == [("QUEUED", 2)] * 3
