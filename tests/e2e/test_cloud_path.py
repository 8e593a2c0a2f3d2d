"""The whole cloud path under moto: resolver -> Kinesis -> batcher -> S3 -> transform starter ->
(the emulator plays SageMaker) -> results worker -> DynamoDB -> signed publishes to AppSync."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from asyncml.transform_emulator.demo_model import start_demo_model
from asyncml.transform_emulator.job import run_transform_job
from resolvers import api
from tests.cloud_harness import (
    Cloud,
    LambdaContext,
    appsync_event,
    cloud,
    kinesis_event,
    load_event,
    s3_event,
    transform_event,
)
from workers import batcher, results, transform_events, transform_starter

# A handler whose invocation moved nothing flushes no metric; powertools warns about that.
pytestmark = pytest.mark.filterwarnings("ignore:No application metrics")
CTX = LambdaContext()
REQUEST_KEYS = ("TransformJobName", "ModelName", "BatchStrategy", "MaxPayloadInMB", "MaxConcurrentTransforms",
                "TransformInput", "TransformOutput", "TransformResources", "DataProcessing")  # fmt: skip


@pytest.fixture(scope="module")
def model_url() -> Iterator[str]:
    with start_demo_model() as model:
        yield model.url


@pytest.fixture
def aws() -> Iterator[Cloud]:
    with cloud() as c:
        yield c


def submit(n: int) -> list[dict[str, Any]]:
    event = load_event("appsync_submit_job")
    jobs = [api.lambda_handler(event, CTX)]
    inputs = [
        {"payload": f"{5 + i / 10},3.5,1.4,0.2", "clientToken": None, "metadata": None} for i in range(n - 1)
    ]
    jobs += api.lambda_handler(appsync_event("submitJobs", "Mutation", {"inputs": inputs}), CTX)
    return jobs


def stream_to_batcher(aws: Cloud) -> tuple[dict[str, Any], dict[str, Any]]:
    """What the event source mapping does: read the shard, invoke the batcher with those records."""
    kinesis = aws.stack.client("kinesis")
    shard = kinesis.list_shards(StreamName=aws.stack.stream)["Shards"][0]["ShardId"]
    it = kinesis.get_shard_iterator(
        StreamName=aws.stack.stream, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
    )
    records = kinesis.get_records(ShardIterator=it["ShardIterator"])["Records"]
    event = kinesis_event(aws.stack, records, shard)
    return event, batcher.lambda_handler(event, CTX)


def play_sagemaker(aws: Cloud, job_name: str, model_url: str, root: Path) -> str:
    """SageMaker's part: run the emulator over the input object, write the .out back to S3."""
    sagemaker, s3 = aws.stack.client("sagemaker"), aws.stack.client("s3")
    described = sagemaker.describe_transform_job(TransformJobName=job_name)
    request = {k: described[k] for k in REQUEST_KEYS if k in described}
    in_key = request["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"].split("/", 3)[3]
    local = root / aws.stack.bucket / in_key
    local.parent.mkdir(parents=True, exist_ok=True)
    local.write_bytes(s3.get_object(Bucket=aws.stack.bucket, Key=in_key)["Body"].read())
    answer = asyncio.run(run_transform_job(request, bucket_root=root, model_url=model_url))
    assert answer["TransformJobStatus"] == "Completed", answer
    out_key = "result/" + in_key.removeprefix("data/") + ".out"
    s3.put_object(Bucket=aws.stack.bucket, Key=out_key, Body=(root / aws.stack.bucket / out_key).read_bytes())
    return out_key


def job_statuses(ids: list[str]) -> set[str]:
    return {api.lambda_handler(appsync_event("getJob", "Query", {"jobId": i}), CTX)["status"] for i in ids}


def test_jobs_travel_the_whole_cloud_path_and_every_move_is_published_signed(
    aws: Cloud, model_url: str, tmp_path: Path
) -> None:
    # GIVEN three jobs submitted through the resolver (one submitJob event, one submitJobs)
    jobs = submit(3)
    ids = [j["jobId"] for j in jobs]
    assert {j["status"] for j in jobs} == {"QUEUED"}

    # WHEN the stream hands them to the batcher, twice (Kinesis delivers at least once)
    event, answer = stream_to_batcher(aws)
    assert answer == {"batchItemFailures": []}
    batcher.lambda_handler(event, CTX)
    batches = api.lambda_handler(appsync_event("listBatches", "Query", {}), CTX)["items"]
    assert len(batches) == 1 and batches[0]["jobCount"] == 3
    batch = batches[0]
    data_key = aws.stack.client("s3").list_objects_v2(Bucket=aws.stack.bucket, Prefix="data/")["Contents"]
    assert len(data_key) == 1

    # AND the batch file's S3 event reaches the transform starter, twice
    started = transform_starter.on_batch_file(s3_event(aws.stack, data_key[0]["Key"]), CTX)
    transform_starter.on_batch_file(s3_event(aws.stack, data_key[0]["Key"]), CTX)
    (job_name,) = started["transformJobNames"]
    assert job_name == f"asyncml-{batch['batchId']}"
    sagemaker = aws.stack.client("sagemaker")
    assert len(sagemaker.list_transform_jobs()["TransformJobSummaries"]) == 1
    request = sagemaker.describe_transform_job(TransformJobName=job_name)
    assert request["TransformInput"]["SplitType"] == "Line"
    assert request["TransformInput"]["ContentType"] == "text/csv"
    assert request["TransformOutput"]["AssembleWith"] == "Line"
    assert request["DataProcessing"] == {"InputFilter": "$[1:]", "JoinSource": "Input", "OutputFilter": "$"}
    assert job_statuses(ids) == {"PROCESSING"}

    # AND SageMaker (the emulator) writes the .out, whose S3 event reaches the results worker twice
    out_key = play_sagemaker(aws, job_name, model_url, tmp_path)
    done = results.lambda_handler(s3_event(aws.stack, out_key), CTX)
    results.lambda_handler(s3_event(aws.stack, out_key), CTX)

    # THEN every job is COMPLETED with the model's output, the batch too
    assert done["batches"] == [{"batchId": batch["batchId"], "status": "COMPLETED"}]
    final = [api.lambda_handler(appsync_event("getJob", "Query", {"jobId": i}), CTX) for i in ids]
    assert {j["status"] for j in final} == {"COMPLETED"} and all(j["result"] for j in final)

    # AND a late InProgress event moves nothing back
    transform_events.lambda_handler(transform_event(job_name, "InProgress"), CTX)
    assert job_statuses(ids) == {"COMPLETED"}

    # AND AppSync got each move once, signed for appsync: every move as one JobsMoved per group naming
    # every job, the end with the jobs whole (and, each_job_end being off, no per-job publish)
    assert aws.appsync.refused == []
    moves = aws.appsync.updates("publishJobsMoved")
    assert [(u["status"], sorted(u["jobIds"])) for u in moves] == [
        ("QUEUED", ids[:1]), ("QUEUED", sorted(ids[1:])),  # one per submit call
        ("BATCHED", sorted(ids)), ("PROCESSING", sorted(ids)),  # one per batch move, though replayed
        ("COMPLETED", sorted(ids)),  # one per chunk of the .out
    ]  # fmt: skip
    assert all(j["status"] == "COMPLETED" and j["result"] for j in moves[-1]["jobs"])
    assert aws.appsync.updates("publishJobUpdate") == []
    requests = len(aws.appsync.published)
    assert requests == len(moves) + 3  # the group moves, ends included, and 3 batch moves
    assert [u["status"] for u in aws.appsync.updates("publishBatchUpdate")] == [
        "BATCHED",
        "PROCESSING",
        "COMPLETED",
    ]
    query = aws.appsync.published[-1]["query"]
    assert "completedCount" in query or "completedAt" in query


def test_a_failed_transform_fails_every_job_of_its_batch_with_the_reason(aws: Cloud) -> None:
    ids = [j["jobId"] for j in submit(2)]
    stream_to_batcher(aws)
    key = aws.stack.client("s3").list_objects_v2(Bucket=aws.stack.bucket, Prefix="data/")["Contents"][0][
        "Key"
    ]
    (job_name,) = transform_starter.on_batch_file(s3_event(aws.stack, key), CTX)["transformJobNames"]

    transform_events.lambda_handler(transform_event(job_name, "Failed", "ClientError: see job logs"), CTX)
    transform_events.lambda_handler(transform_event(job_name, "Failed", "ClientError: see job logs"), CTX)

    final = [api.lambda_handler(appsync_event("getJob", "Query", {"jobId": i}), CTX) for i in ids]
    assert [(j["status"], j["error"]) for j in final] == [("FAILED", "ClientError: see job logs")] * 2
    failed = [u for u in aws.appsync.updates("publishJobsMoved") if u["status"] == "FAILED"]
    assert [sorted(j["jobId"] for j in u["jobs"]) for u in failed] == [
        sorted(ids)
    ]  # nothing more on a repeat
    batch = aws.appsync.updates("publishBatchUpdate")[-1]
    assert (batch["status"], batch["failedCount"]) == ("FAILED", 2)


def test_with_each_job_end_every_end_is_also_one_publish_job_update() -> None:
    with cloud(ASYNCML_EACH_JOB_END="true") as aws:
        ids = [j["jobId"] for j in submit(2)]
        stream_to_batcher(aws)
        key = aws.stack.client("s3").list_objects_v2(Bucket=aws.stack.bucket, Prefix="data/")["Contents"][0]
        (job_name,) = transform_starter.on_batch_file(s3_event(aws.stack, key["Key"]), CTX)[
            "transformJobNames"
        ]
        transform_events.lambda_handler(transform_event(job_name, "Failed", "ClientError: see job logs"), CTX)
        per_job = aws.appsync.updates("publishJobUpdate")
        assert sorted((u["jobId"], u["status"]) for u in per_job) == sorted((i, "FAILED") for i in ids)
        grouped = [u for u in aws.appsync.updates("publishJobsMoved") if u["status"] == "FAILED"]
        assert [sorted(u["jobIds"]) for u in grouped] == [sorted(ids)]
