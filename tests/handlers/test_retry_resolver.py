"""retryJobs through the resolver Lambda (AppSync's event, moto): a failed batch's jobs run again."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from resolvers import api
from tests.cloud_harness import Cloud, LambdaContext, appsync_event, kinesis_event, transform_event
from tests.handlers.test_handlers import KEY, local_server
from workers import batcher, transform_events

__all__ = ["local_server"]  # a fixture, imported for pytest
pytestmark = pytest.mark.filterwarnings("ignore:No application metrics")
CTX = LambdaContext()
RETRY = "mutation($jobIds: [ID!]!) { retryJobs(jobIds: $jobIds) { jobId status attempt } }"


def call(field: str, parent: str, **args: Any) -> Any:
    return api.lambda_handler(appsync_event(field, parent, args), CTX)


def stream_records(aws: Cloud) -> list[dict[str, Any]]:
    kinesis = aws.stack.client("kinesis")
    shard = kinesis.list_shards(StreamName=aws.stack.stream)["Shards"][0]["ShardId"]
    it = kinesis.get_shard_iterator(
        StreamName=aws.stack.stream, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
    )
    records: list[dict[str, Any]] = kinesis.get_records(ShardIterator=it["ShardIterator"])["Records"]
    return records


def test_jobs_of_a_failed_transform_are_retried_once_each_as_a_new_attempt(aws: Cloud) -> None:
    jobs = call("submitJobs", "Mutation", inputs=[{"payload": "1,2"}, {"payload": "3,4"}])
    ids = [j["jobId"] for j in jobs]
    batcher.lambda_handler(kinesis_event(aws.stack, stream_records(aws), "shardId-000000000000"), CTX)
    batch_id = call("getJob", "Query", jobId=ids[0])["batchId"]
    transform_events.lambda_handler(transform_event(f"asyncml-{batch_id}", "Failed", "ClientError: 500"), CTX)
    assert {call("getJob", "Query", jobId=i)["status"] for i in ids} == {"FAILED"}
    # WHEN the client retries them
    retried = call("retryJobs", "Mutation", jobIds=ids)
    # THEN each is QUEUED again as attempt 2, with the old outcome gone, and back on the stream
    assert [(j["jobId"], j["status"], j["attempt"], j["error"], j["batchId"]) for j in retried] == [
        (i, "QUEUED", 2, None, None) for i in ids
    ]
    assert len(stream_records(aws)) == 4
    # AND a second retry is refused (they are QUEUED), queuing nothing more
    again = call("retryJobs", "Mutation", jobIds=ids)
    assert again["errorType"] == "Conflict" and "only a FAILED job can be retried" in again["errorMessage"]
    assert len(stream_records(aws)) == 4
    # AND the publisher told subscribers in one JobsMoved update naming both jobs
    queued = [u for u in aws.appsync.updates("publishJobsMoved") if u["status"] == "QUEUED"]
    assert sorted(queued[-1]["jobIds"]) == sorted(ids)


@pytest.mark.parametrize(
    ("ids", "error_type"),
    [
        ([], "ValidationError"),
        (["x"] * 501, "ValidationError"),
        (["00000000-0000-4000-8000-0000000000aa"], "NotFound"),
    ],
)
def test_bad_retry_input_gets_the_same_error_type_from_the_resolver_and_the_local_server(
    ids: list[str], error_type: str, aws: Cloud, local_server: TestClient
) -> None:
    answer = call("retryJobs", "Mutation", jobIds=ids)
    assert answer["errorType"] == error_type
    body = local_server.post(
        "/graphql",
        json={"query": RETRY, "variables": {"jobIds": ids}},
        headers={"x-api-key": KEY},
    ).json()
    assert body["errors"][0]["errorType"] == error_type
