"""The Lambda handlers driven with real AWS event shapes (tests/events) under moto."""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient  # the local server, for errorType parity

from asyncml.local.api.server import create_app
from asyncml.local.wiring import build_runtime
from asyncml.settings import Settings
from resolvers import api
from tests.cloud_harness import Cloud, LambdaContext, appsync_event, cloud, load_event, s3_event
from workers import batcher, results, transform_starter

pytestmark = [
    pytest.mark.filterwarnings("ignore:No application metrics"),
    pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`"),
]
CTX = LambdaContext()
KEY = "da2-handlertest000000000000000"
BAD_INPUTS = {
    "a newline in the payload": ("submitJob", {"input": {"payload": "1,2\n3,4"}}),
    "metadata that is not JSON": ("submitJob", {"input": {"payload": "1,2", "metadata": "{nope"}}),
    "too many inputs": ("submitJobs", {"inputs": [{"payload": "1"}] * 501}),
    "an unknown job": ("cancelJob", {"jobId": "00000000-0000-4000-8000-00000000abcd"}),
}


@pytest.fixture(scope="module")
def local_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("local"))
    with TestClient(create_app(build_runtime(settings), KEY)) as client:  # type: ignore[arg-type]
        yield client


def local_error(client: TestClient, field: str, args: dict[str, Any]) -> dict[str, Any]:
    documents = {
        "submitJob": "mutation($input: SubmitJobInput!) { submitJob(input: $input) { jobId } }",
        "submitJobs": "mutation($inputs: [SubmitJobInput!]!) { submitJobs(inputs: $inputs) { jobId } }",
        "cancelJob": "mutation($jobId: ID!) { cancelJob(jobId: $jobId) { jobId } }",
    }
    body = client.post(
        "/graphql", json={"query": documents[field], "variables": args}, headers={"x-api-key": KEY}
    )
    error: dict[str, Any] = body.json()["errors"][0]
    return error


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_gets_the_same_error_type_from_the_resolver_and_the_local_server(
    case: str, aws: Cloud, local_server: TestClient
) -> None:
    field, args = BAD_INPUTS[case]
    # WHEN the resolver Lambda gets the bad input
    answer = api.lambda_handler(appsync_event(field, "Mutation", args), CTX)
    # THEN it answers the shape appsync/invoke_lambda.js turns into util.error(message, errorType)
    assert set(answer) == {"errorType", "errorMessage"}
    # AND the local server refuses the same input with the same errorType
    assert local_error(local_server, field, args)["errorType"] == answer["errorType"]
    # AND nothing was stored or streamed
    assert api.lambda_handler(appsync_event("listJobs", "Query", {}), CTX)["items"] == []


def test_a_client_token_submits_once(aws: Cloud) -> None:
    args = {"input": {"payload": "1,2", "clientToken": "tok-1"}}
    first = api.lambda_handler(appsync_event("submitJob", "Mutation", args), CTX)
    again = api.lambda_handler(appsync_event("submitJob", "Mutation", args), CTX)
    assert again == first
    kinesis = aws.stack.client("kinesis")
    shard = kinesis.list_shards(StreamName=aws.stack.stream)["Shards"][0]["ShardId"]
    it = kinesis.get_shard_iterator(
        StreamName=aws.stack.stream, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
    )
    assert len(kinesis.get_records(ShardIterator=it["ShardIterator"])["Records"]) == 1


def test_a_record_that_does_not_decode_is_reported_and_the_rest_are_batched(aws: Cloud) -> None:
    # GIVEN the documented Kinesis event, whose data ("Hello, this is a test.") is no job id,
    # and a second record carrying a real job
    job = api.lambda_handler(load_event("appsync_submit_job"), CTX)
    event = load_event("kinesis")
    good = copy.deepcopy(event["Records"][0])
    good["kinesis"]["sequenceNumber"] = "49590338271490256608559692538361571095921575989136588899"
    good["kinesis"]["data"] = base64.b64encode(json.dumps({"jobId": job["jobId"]}).encode()).decode()
    event["Records"].append(good)
    # WHEN the batcher gets it
    answer = batcher.lambda_handler(event, CTX)
    # THEN the bad record is reported (Lambda retries it, then sends it to the on-failure queue)
    assert answer == {
        "batchItemFailures": [{"itemIdentifier": event["Records"][0]["kinesis"]["sequenceNumber"]}]
    }
    assert (
        api.lambda_handler(appsync_event("getJob", "Query", {"jobId": job["jobId"]}), CTX)["status"]
        == "BATCHED"
    )


def test_s3_keys_arrive_url_encoded_and_foreign_keys_are_ignored(aws: Cloud) -> None:
    assert transform_starter.on_batch_file(s3_event(aws.stack, "data/my notes (1).csv"), CTX) == {
        "transformJobNames": []
    }
    assert results.lambda_handler(s3_event(aws.stack, "result/other+stuff.csv.out"), CTX) == {"batches": []}


def test_the_schedule_event_starts_nothing_when_no_batch_waits(aws: Cloud) -> None:
    assert transform_starter.lambda_handler(load_event("eventbridge_scheduled"), CTX) == {
        "transformJobNames": []
    }


def test_the_schedule_starts_one_transform_over_every_waiting_batch(tmp_path: Path) -> None:
    with cloud(ASYNCML_TRIGGER="schedule", ASYNCML_TRANSFORM_MIN_RECORDS="2") as aws:
        schedule_starts_one_transform(aws)


def schedule_starts_one_transform(aws: Cloud) -> None:
    for i in range(2):
        job = api.lambda_handler(
            appsync_event("submitJob", "Mutation", {"input": {"payload": f"{i},1"}}), CTX
        )
        record = copy.deepcopy(load_event("kinesis"))
        record["Records"][0]["kinesis"]["data"] = base64.b64encode(
            json.dumps({"jobId": job["jobId"]}).encode()
        ).decode()
        record["Records"][0]["eventID"] = f"shardId-000000000000:{i}"
        batcher.lambda_handler(record, CTX)
    tick = load_event("eventbridge_scheduled")
    (name,) = transform_starter.lambda_handler(tick, CTX)["transformJobNames"]
    assert name.startswith("asyncml-s-")
    assert transform_starter.lambda_handler(tick, CTX) == {"transformJobNames": []}  # delivered twice
    assert len(aws.stack.client("sagemaker").list_transform_jobs()["TransformJobSummaries"]) == 1
    described = aws.stack.client("sagemaker").describe_transform_job(TransformJobName=name)
    assert described["TransformInput"]["DataSource"]["S3DataSource"]["S3DataType"] == "ManifestFile"
    batches = api.lambda_handler(appsync_event("listBatches", "Query", {}), CTX)["items"]
    assert {(b["status"], b["transformJobName"]) for b in batches} == {("PROCESSING", name)}
