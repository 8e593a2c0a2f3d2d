"""The results worker under moto with the real S3 event: a result too large for a job or a
subscription ends visibly, and a record DynamoDB refuses fails alone, the rest of the .out applied."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.client import BaseClient
from botocore.exceptions import ClientError

from resolvers import api
from tests.cloud_harness import Cloud, LambdaContext, appsync_event, s3_event
from tests.handlers.test_stream_replays import batch_files, get_job, stream_event, submit
from workers import batcher, results

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics")
CTX = LambdaContext()
HUGE = "9" * 300_000  # a model's output over AppSync's 240 KB message and near DynamoDB's 400 KB item
REFUSED = "refused-by-dynamodb"
SUBSCRIPTION_LIMIT = 240_000


def transform_output(aws: Cloud, outputs: list[str]) -> str:
    """Play Batch Transform: the sealed batch file's lines joined with `outputs`, as its .out."""
    ((in_key, _),) = batch_files(aws).items()
    s3 = aws.stack.client("s3")
    lines = s3.get_object(Bucket=aws.stack.bucket, Key=in_key)["Body"].read().decode().splitlines()
    out_key = "result/" + in_key.removeprefix("data/") + ".out"
    body = "".join(f"{line},{out}\n" for line, out in zip(lines, outputs, strict=True))
    s3.put_object(Bucket=aws.stack.bucket, Key=out_key, Body=body.encode())
    return out_key


def refuse_items_with(marker: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """DynamoDB answers as it does for an item over 400 KB, for any write carrying `marker`."""
    real = BaseClient._make_api_call

    def call(self: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        if self.meta.service_model.service_name == "dynamodb" and marker in repr(params):
            error = {
                "Code": "ValidationException",
                "Message": "Item size has exceeded the maximum allowed size",
            }
            raise ClientError({"Error": error}, operation)
        return real(self, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", call)


def test_a_huge_result_completes_visibly_and_a_refused_record_fails_alone(
    aws: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a sealed batch of 4 jobs whose .out holds a huge result and one DynamoDB refuses
    ids = submit(4)
    batcher.lambda_handler(stream_event(ids), CTX)
    out_key = transform_output(aws, ["a", HUGE, REFUSED, "d"])
    refuse_items_with(REFUSED, monkeypatch)
    # WHEN S3 announces the .out
    answer = results.lambda_handler(s3_event(aws.stack, out_key), CTX)
    # THEN the batch finishes with exact counts
    ((done,),) = [answer["batches"]]
    assert done["status"] == "COMPLETED"
    batch = api.lambda_handler(appsync_event("getBatch", "Query", {"batchId": done["batchId"]}), CTX)
    assert (batch["completedCount"], batch["failedCount"]) == (3, 1)
    # the huge result is in the bucket, named by the job, which completed
    big = get_job(ids[1])
    assert (big["status"], big["result"], big["resultKey"]) == (
        "COMPLETED",
        None,
        f"job-results/{done['batchId']}/{ids[1]}",
    )
    s3 = aws.stack.client("s3")
    assert s3.get_object(Bucket=aws.stack.bucket, Key=big["resultKey"])["Body"].read().decode() == HUGE
    # its end reached the subscribers' side in a message AppSync would deliver
    ends = [u for u in aws.appsync.updates("publishJobsMoved") if u["status"] == "COMPLETED"]
    (big_end,) = [j for u in ends for j in u["jobs"] if j["jobId"] == ids[1]]
    assert big_end["resultKey"] == big["resultKey"]
    assert all(len(json.dumps(u)) < SUBSCRIPTION_LIMIT for u in ends)
    # the refused record failed with DynamoDB's reason, and the others completed
    refused = get_job(ids[2])
    assert refused["status"] == "FAILED" and "Item size has exceeded" in refused["error"]
    assert [get_job(i)["result"] for i in (ids[0], ids[3])] == ["a", "d"]
