"""The results path's plain-JSON DynamoDB calls say on the wire what botocore would have said."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.parsers import create_parser

from asyncml.aws import dynamodb_items as items
from asyncml.aws.dynamodb_wire import PLAIN, PlainJSONSerializer, _parse_plain
from asyncml.aws.dynamodb_writes import conditional_set
from asyncml.model import Job, JobStatus

NOW = datetime(2026, 12, 2, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
def client() -> Any:
    return boto3.client("dynamodb", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")


def update(i: int) -> dict[str, Any]:
    sets = {"status": "COMPLETED", "result": f'{{"label": "é{i}", "p": 0.9}}', "updatedAt": items.ts(NOW),
            "expiresAt": 1_800_000_000 + i, "error": None}  # fmt: skip
    return {
        "Update": conditional_set(items.key(items.JOB, f"job-{i}"), sets, ["PROCESSING"], "b1").request("t")
    }


KEYS = [items.key(items.JOB, f"job-{i}") for i in range(3)]
READ = {"Keys": KEYS, "ConsistentRead": True, "ProjectionExpression": "#a, #b",
        "ExpressionAttributeNames": {"#a": "pk", "#b": "status"}}  # fmt: skip
REQUESTS = {
    "TransactWriteItems": {"TransactItems": [update(i) for i in range(3)], "ReturnConsumedCapacity": "NONE"},
    "BatchGetItem": {"RequestItems": {"t": READ}},
}


@pytest.mark.parametrize("name", sorted(PLAIN))
def test_a_plain_request_is_the_one_botocore_serializes(client: Any, name: str) -> None:
    model = client.meta.service_model.operation_model(name)
    theirs = client._serializer.serialize_to_request(REQUESTS[name], model)
    ours = PlainJSONSerializer(client._serializer).serialize_to_request(REQUESTS[name], model)
    assert json.loads(ours.pop("body")) == json.loads(theirs.pop("body"))
    assert ours == theirs


def test_other_calls_go_through_botocore_unchanged(client: Any) -> None:
    model = client.meta.service_model.operation_model("GetItem")
    params = {"TableName": "t", "Key": items.key(items.JOB, "job-1")}
    assert PlainJSONSerializer(client._serializer).serialize_to_request(params, model) == (
        client._serializer.serialize_to_request(params, model)
    )


def test_a_plain_answer_is_the_one_botocore_parses(client: Any) -> None:
    job = Job(job_id="job-1", status=JobStatus.COMPLETED, payload="5.1,3.5", submitted_at=NOW, updated_at=NOW,
              result="r", metadata='{"n": [1, 2]}', attempt=2)  # fmt: skip
    other = {"pk": {"S": "job#2"}, "m": {"M": {"l": {"L": [{"N": "1"}, {"NULL": True}]}}},
             "b": {"BOOL": False}, "ss": {"SS": ["a", "b"]}}  # fmt: skip
    unprocessed = {"t": {"Keys": [items.key(items.JOB, "job-3")], "ConsistentRead": True}}
    body = {"Responses": {"t": [items.job_item(job, 30), other]}, "UnprocessedKeys": unprocessed}
    response = {"status_code": 200, "headers": {}, "body": json.dumps(body).encode()}
    output = client.meta.service_model.operation_model("BatchGetItem").output_shape
    theirs = create_parser("json").parse(dict(response), output)
    ours: dict[str, Any] = {}
    plain = dict(response)
    _parse_plain(plain, ours)
    # what botocore's parser still adds (ResponseMetadata), then the hook's part, as botocore merges them
    assert {**create_parser("json").parse(plain, output), **ours} == theirs


def test_an_error_answer_is_left_to_botocore() -> None:
    response = {"status_code": 400, "headers": {}, "body": b'{"__type": "x#TransactionCanceledException"}'}
    ours: dict[str, Any] = {}
    _parse_plain(response, ours)
    assert ours == {} and response["body"].startswith(b'{"__type"')
