"""A replayed or split stream batch never puts a job in two batch files (moto, real Kinesis events)."""

from __future__ import annotations

import base64
import copy
import json
from typing import Any

import pytest

from asyncml.aws.s3_bucket import S3Bucket
from resolvers import api
from tests.cloud_harness import Cloud, LambdaContext, appsync_event, load_event
from workers import batcher

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics")
CTX = LambdaContext()


def submit(n: int) -> list[str]:
    inputs = [{"payload": f"{i},1"} for i in range(n)]
    jobs = api.lambda_handler(appsync_event("submitJobs", "Mutation", {"inputs": inputs}), CTX)
    return [j["jobId"] for j in jobs]


def stream_event(job_ids: list[str], first_seq: int = 0) -> dict[str, Any]:
    """The documented Kinesis event (tests/events/kinesis.json), one record per job, in shard order."""
    template = load_event("kinesis")["Records"][0]
    records = []
    for n, job_id in enumerate(job_ids, start=first_seq):
        r = copy.deepcopy(template)
        r["kinesis"]["data"] = base64.b64encode(json.dumps({"jobId": job_id}).encode()).decode()
        r["kinesis"]["sequenceNumber"] = str(n)
        r["eventID"] = f"shardId-000000000000:{n}"
        records.append(r)
    return {"Records": records}


def batch_files(aws: Cloud) -> dict[str, list[str]]:
    """Every batch file in the bucket -> the job ids it lists."""
    s3 = aws.stack.client("s3")
    listed = s3.list_objects_v2(Bucket=aws.stack.bucket, Prefix="data/").get("Contents", [])
    files = {}
    for obj in listed:
        body = s3.get_object(Bucket=aws.stack.bucket, Key=obj["Key"])["Body"].read().decode()
        files[obj["Key"]] = [line.split(",")[0] for line in body.splitlines()]
    return files


def get_job(job_id: str) -> dict[str, Any]:
    got: dict[str, Any] = api.lambda_handler(appsync_event("getJob", "Query", {"jobId": job_id}), CTX)
    return got


def crash_on_first_file_write(monkeypatch: pytest.MonkeyPatch) -> None:
    real_put = S3Bucket.put
    crashed: list[str] = []

    def put(self: S3Bucket, key: str, data: bytes) -> None:
        if key.startswith("data/") and not crashed:
            crashed.append(key)
            raise ConnectionError("the invocation dies before the batch file is written")
        real_put(self, key, data)

    monkeypatch.setattr(S3Bucket, "put", put)


def test_a_split_replay_after_a_crash_batches_no_job_twice(
    aws: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a stream batch of 6 jobs whose first seal died after claiming them, before the file
    ids = submit(6)
    crash_on_first_file_write(monkeypatch)
    with pytest.raises(ConnectionError):
        batcher.lambda_handler(stream_event(ids), CTX)
    # WHEN the stream hands over its second half (another first record: another batch id), then
    # the whole batch again, then the first half
    batcher.lambda_handler(stream_event(ids[3:], first_seq=3), CTX)
    batcher.lambda_handler(stream_event(ids), CTX)
    batcher.lambda_handler(stream_event(ids[:3]), CTX)
    # THEN one batch file lists every job once, and every job names that batch
    files = batch_files(aws)
    assert len(files) == 1 and sorted(next(iter(files.values()))) == sorted(ids)
    batch_ids = {get_job(i)["batchId"] for i in ids}
    assert len(batch_ids) == 1 and next(iter(files)).endswith(f"{batch_ids.pop()}.csv")
    assert {get_job(i)["status"] for i in ids} == {"BATCHED"}
    batches = api.lambda_handler(appsync_event("listBatches", "Query", {}), CTX)["items"]
    assert [b["jobCount"] for b in batches] == [6]


def test_a_replay_of_a_sealed_batch_writes_and_announces_nothing_new(aws: Cloud) -> None:
    ids = submit(4)
    batcher.lambda_handler(stream_event(ids), CTX)
    announced = len(aws.appsync.updates("publishBatchUpdate"))
    files = batch_files(aws)
    for replay in (stream_event(ids), stream_event(ids[2:], first_seq=2), stream_event(ids[1:], first_seq=1)):
        batcher.lambda_handler(replay, CTX)
    assert batch_files(aws) == files
    assert len(aws.appsync.updates("publishBatchUpdate")) == announced
