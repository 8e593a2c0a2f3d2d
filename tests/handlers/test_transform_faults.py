"""Faults of the transform starter under moto, with the real S3 and EventBridge event shapes:
SageMaker refusing CreateTransformJob, a tick cut off by its timeout and retried."""

from __future__ import annotations

import base64
import copy
import dataclasses
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.stub import Stubber

from asyncml.aws import wiring
from asyncml.ports import Ports
from resolvers import api
from tests.cloud_harness import Cloud, LambdaContext, appsync_event, cloud, load_event, s3_event
from tests.fakes import FakeClock
from workers import batcher, transform_starter

pytestmark = [pytest.mark.filterwarnings("ignore:No application metrics")]
CTX = LambdaContext()
TICK = load_event("eventbridge_scheduled")
QUOTA = "The account-level service limit 'ml.m5.xlarge for transform job usage' is 0 Instances"


def seal(payloads: list[str]) -> tuple[list[str], dict[str, Any]]:
    """Submit through the resolver, then hand the batcher the Kinesis event the stream would."""
    jobs = api.lambda_handler(
        appsync_event("submitJobs", "Mutation", {"inputs": [{"payload": p} for p in payloads]}), CTX
    )
    event = copy.deepcopy(load_event("kinesis"))
    template = event["Records"][0]
    event["Records"] = []
    for i, job in enumerate(jobs):
        record = copy.deepcopy(template)
        record["kinesis"]["data"] = base64.b64encode(json.dumps({"jobId": job["jobId"]}).encode()).decode()
        record["kinesis"]["sequenceNumber"] = f"4959{i:040d}"
        record["eventID"] = f"shardId-000000000000:4959{i:040d}"
        event["Records"].append(record)
    batcher.lambda_handler(event, CTX)
    (batch,) = api.lambda_handler(appsync_event("listBatches", "Query", {}), CTX)["items"]
    return [j["jobId"] for j in jobs], batch


def get(field: str, **args: str) -> dict[str, Any]:
    answer: dict[str, Any] = api.lambda_handler(appsync_event(field, "Query", args), CTX)
    return answer


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[FakeClock, Ports, Cloud]]:
    """The starter's ports with a clock the test moves (the backoff spans an hour)."""
    with cloud() as aws:
        fake = FakeClock(datetime.now(UTC))
        ports = dataclasses.replace(wiring.cloud_ports(), clock=fake)
        monkeypatch.setattr(transform_starter, "cloud_ports", lambda: ports)
        yield fake, ports, aws


def refusing(ports: Ports, times: int) -> Stubber:
    """SageMaker's answer to CreateTransformJob in an account whose instance quota is 0."""
    stub = Stubber(ports.runner._sagemaker)  # type: ignore[attr-defined]
    for _ in range(times):
        stub.add_client_error("create_transform_job", "ResourceLimitExceeded", QUOTA, 400)
    return stub


def test_a_refused_start_waits_visibly_is_re_driven_then_fails_with_sagemakers_error(
    clock: tuple[FakeClock, Ports, Cloud],
) -> None:
    fake, ports, aws = clock
    ids, batch = seal(["1,2", "3,4"])
    with refusing(ports, 20):
        # The S3 event's invoke does not fail (S3 would retry twice, then drop it): the batch keeps the error.
        answer = transform_starter.lambda_handler(s3_event(aws.stack, f"data/{batch['batchId']}.csv"), CTX)
        assert answer == {"transformJobNames": []}
        waiting = get("getBatch", batchId=batch["batchId"])
        assert waiting["status"] == "BATCHED"
        assert waiting["error"] == f"waiting to start (attempt 1 was refused): ResourceLimitExceeded: {QUOTA}"
        for _ in range(70):  # the rule's ticks, a minute apart, for 70 minutes
            fake.advance(60)
            transform_starter.lambda_handler(TICK, CTX)
    job = get("getJob", jobId=ids[0])
    assert job["status"] == "FAILED"
    assert f"ResourceLimitExceeded: {QUOTA}" in job["error"] and "8 attempts" in job["error"]
    assert get("getBatch", batchId=batch["batchId"])["status"] == "FAILED"


def test_a_start_refused_then_allowed_runs_one_transform(clock: tuple[FakeClock, Ports, Cloud]) -> None:
    fake, ports, aws = clock
    ids, batch = seal(["1,2"])
    with refusing(ports, 1):
        transform_starter.lambda_handler(s3_event(aws.stack, f"data/{batch['batchId']}.csv"), CTX)
    fake.advance(60)
    name = f"asyncml-{batch['batchId']}"
    assert transform_starter.lambda_handler(TICK, CTX) == {"transformJobNames": [name]}
    assert transform_starter.lambda_handler(TICK, CTX) == {"transformJobNames": []}
    assert get("getJob", jobId=ids[0])["status"] == "PROCESSING"
    sagemaker = ports.runner._sagemaker  # type: ignore[attr-defined]
    assert [j["TransformJobName"] for j in sagemaker.list_transform_jobs()["TransformJobSummaries"]] == [name]


def test_a_tick_that_timed_out_after_its_start_is_retried_without_a_second_transform(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with cloud(ASYNCML_TRIGGER="schedule", ASYNCML_TRANSFORM_MIN_RECORDS="1") as aws:
        ids, _ = seal(["1,2"])
        ports = wiring.cloud_ports()
        # The first invocation claims and starts, then Lambda stops it before it marks anything.
        cut = dataclasses.replace(ports, store=_TimeoutAfterClaims(ports.store))
        monkeypatch.setattr(transform_starter, "cloud_ports", lambda: cut)
        with pytest.raises(TimeoutError):
            transform_starter.lambda_handler(TICK, CTX)
        monkeypatch.setattr(transform_starter, "cloud_ports", lambda: ports)
        # The async retry (the same event) finds the batch claimed: no new transform, no new name.
        assert transform_starter.lambda_handler(TICK, CTX) == {"transformJobNames": []}
        jobs = aws.stack.client("sagemaker").list_transform_jobs()["TransformJobSummaries"]
        assert len(jobs) == 1
        later = dataclasses.replace(ports, clock=FakeClock(datetime.now(UTC)))
        later.clock.advance(ports.settings.start_lease_seconds)  # type: ignore[attr-defined]
        monkeypatch.setattr(transform_starter, "cloud_ports", lambda: later)
        # After the lease the re-drive repeats the same start: SageMaker has it, so it counts as started.
        assert transform_starter.lambda_handler(TICK, CTX) == {
            "transformJobNames": [jobs[0]["TransformJobName"]]
        }
        assert len(aws.stack.client("sagemaker").list_transform_jobs()["TransformJobSummaries"]) == 1
        assert get("getJob", jobId=ids[0])["status"] == "PROCESSING"


class _TimeoutAfterClaims:
    """The store until the move to PROCESSING, where the invocation's time runs out."""

    def __init__(self, store: Any) -> None:
        self._store = store

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def move_batch(self, batch_id: str, status: Any, now: Any, **changes: Any) -> Any:
        if status.value == "PROCESSING":
            raise TimeoutError("Task timed out after 300.00 seconds")
        return self._store.move_batch(batch_id, status, now, **changes)
