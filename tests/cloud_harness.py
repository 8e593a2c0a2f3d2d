"""What the cloud tests share: moto + the stack's env, a SigV4-checking AppSync stand-in, real events."""

from __future__ import annotations

import base64
import copy
import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

from asyncml.aws import wiring
from tests.moto_stack import REGION, MotoStack, moto_stack

EVENTS = Path(__file__).parent / "events"


def load_event(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text())
    return doc


@dataclass
class LambdaContext:
    function_name: str = "asyncml-test"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:asyncml-test"
    aws_request_id: str = "5f1c9e1a-0000-4000-8000-000000000000"


@dataclass
class AppSyncStub:
    """Plays AppSync's /graphql for the publish mutations: checks each request's SigV4 signature
    for service `appsync` against the test credentials, records it, answers like a NONE resolver."""

    published: list[dict[str, Any]] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    throttle_next: int = 0  # answer this many requests with 429 first
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    def updates(self, mutation: str) -> list[dict[str, Any]]:
        with self.lock:
            return [p["variables"]["update"] for p in self.published if mutation in p["query"]]


def signature_problem(method: str, url: str, headers: dict[str, str], body: bytes) -> str | None:
    auth = headers.get("Authorization", "")
    if not auth.startswith("AWS4-HMAC-SHA256 ") or "/appsync/aws4_request" not in auth:
        return f"not a SigV4 signature for appsync: {auth!r}"
    request = AWSRequest(method=method, url=url, data=body, headers=headers)
    amz_date = headers["X-Amz-Date"]
    request.context["timestamp"] = amz_date
    # The credentials boto3 finds now (moto swaps in its own fake ones while it runs).
    signer = SigV4Auth(boto3.Session().get_credentials(), "appsync", REGION)
    signed = auth.split("SignedHeaders=")[1].split(",")[0].split(";")
    request.headers = {k: v for k, v in headers.items() if k.lower() in signed}  # type: ignore[assignment]
    expected = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
    return None if auth.endswith(f"Signature={expected}") else "signature does not match the body"


@contextmanager
def appsync_stub() -> Iterator[AppSyncStub]:
    stub = AppSyncStub()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            headers = {k: v for k, v in self.headers.items()}
            problem = signature_problem("POST", stub.url, headers, body)
            with stub.lock:
                throttled = stub.throttle_next > 0
                stub.throttle_next -= throttled
                if problem:
                    stub.refused.append(problem)
                elif not throttled:
                    stub.published.append(json.loads(body))
            doc = json.loads(body)
            names = ("publishJobUpdate", "publishJobsMoved", "publishBatchUpdate")
            field_name = next(n for n in names if n in doc["query"])
            if throttled:
                status, answer = 429, {"errors": [{"errorType": "TooManyRequestsException"}]}
            elif problem:
                status, answer = 401, {"errors": [{"errorType": "UnauthorizedException", "message": problem}]}
            else:
                status, answer = 200, {"data": {field_name: doc["variables"]["update"]}}
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    stub.url = f"http://127.0.0.1:{server.server_address[1]}/graphql"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield stub
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Cloud:
    stack: MotoStack
    appsync: AppSyncStub


@contextmanager
def cloud(**settings: str) -> Iterator[Cloud]:
    """moto with the stack's storage, the functions' ASYNCML_* environment, a fresh cloud_ports()."""
    env = {"ASYNCML_TABLE_NAME": "asyncml-test", "ASYNCML_STREAM_NAME": "asyncml-test",
           "ASYNCML_BUCKET_NAME": "asyncml-test-bucket", "ASYNCML_REGION": REGION,
           "ASYNCML_NAME_PREFIX": "asyncml", "ASYNCML_MODEL_NAME": "asyncml-demo",
           "ASYNCML_JOB_TTL_DAYS": "30", "POWERTOOLS_METRICS_NAMESPACE": "asyncml",
           "POWERTOOLS_SERVICE_NAME": "asyncml", **settings}  # fmt: skip
    with moto_stack() as stack, appsync_stub() as stub:
        env["ASYNCML_GRAPHQL_URL"] = stub.url
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        wiring.reset()
        try:
            yield Cloud(stack, stub)
        finally:
            wiring.reset()
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


def appsync_event(field_name: str, parent: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """The real direct-resolver event shape (tests/events), with another field and arguments."""
    event = copy.deepcopy(load_event("appsync_submit_job" if parent == "Mutation" else "appsync_get_job"))
    event["arguments"] = arguments
    event["info"]["fieldName"], event["info"]["parentTypeName"] = field_name, parent
    return event


def kinesis_event(stack: MotoStack, records: list[dict[str, Any]], shard_id: str) -> dict[str, Any]:
    """A Lambda Kinesis event (tests/events/kinesis.json's shape) from what get_records returned."""
    template = load_event("kinesis")["Records"][0]
    out = []
    for r in records:
        e = copy.deepcopy(template)
        arrived: datetime = r["ApproximateArrivalTimestamp"]
        e["kinesis"].update(partitionKey=r["PartitionKey"], sequenceNumber=r["SequenceNumber"],
                            data=base64.b64encode(r["Data"]).decode(),
                            approximateArrivalTimestamp=arrived.timestamp())  # fmt: skip
        e["eventID"] = f"{shard_id}:{r['SequenceNumber']}"
        e["awsRegion"] = stack.region
        e["eventSourceARN"] = f"arn:aws:kinesis:{stack.region}:123456789012:stream/{stack.stream}"
        out.append(e)
    return {"Records": out}


def s3_event(stack: MotoStack, key: str) -> dict[str, Any]:
    """An S3 ObjectCreated event for `key`, URL-encoded as S3 sends it."""
    from urllib.parse import quote_plus

    event = copy.deepcopy(load_event("s3_object_created"))
    s3 = event["Records"][0]["s3"]
    s3["bucket"]["name"], s3["bucket"]["arn"] = stack.bucket, f"arn:aws:s3:::{stack.bucket}"
    s3["object"]["key"] = quote_plus(key, safe="/")
    return event


def transform_event(job_name: str, status: str, reason: str | None = None) -> dict[str, Any]:
    event = copy.deepcopy(load_event("eventbridge_transform_state"))
    event["detail"].update(TransformJobName=job_name, TransformJobStatus=status)
    event["resources"] = [f"arn:aws:sagemaker:us-east-1:123456789012:transform-job/{job_name}"]
    if reason is None:
        event["detail"].pop("FailureReason", None)
    else:
        event["detail"]["FailureReason"] = reason
    return event
