"""The cloud's metrics (EMF through powertools): what the CloudWatch dashboard in template.yaml charts."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aws_lambda_powertools import Metrics

from asyncml.aws.metered_publisher import MeteredPublisher
from asyncml.model import Batch, BatchStatus, Job, JobsMoved, JobStatus
from tests.fakes import RecordingPublisher

T0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.fixture
def metrics() -> Iterator[Metrics]:
    m = Metrics(namespace="asyncml-test", service="asyncml")
    m.clear_metrics()  # powertools keeps one metric set per process
    yield m
    m.clear_metrics()


def emitted(metrics: Metrics) -> dict[str, Any]:
    doc = metrics.serialize_metric_set()
    names = [d["Name"] for d in doc["_aws"]["CloudWatchMetrics"][0]["Metrics"]]
    return {n: doc[n] if isinstance(doc[n], list) else [doc[n]] for n in names}  # values, as a list


def batch(status: BatchStatus, seconds: float = 0) -> Batch:
    updated = T0 + timedelta(seconds=seconds)
    return Batch("b1", status, job_count=3, created_at=T0, updated_at=updated, input_key="data/b1.csv")


def test_a_sealed_batch_reports_its_size_and_a_settled_one_its_duration(metrics: Metrics) -> None:
    inner = RecordingPublisher()
    publisher = MeteredPublisher(inner, metrics)
    publisher.publish_batch(batch(BatchStatus.BATCHED))
    publisher.publish_batch(batch(BatchStatus.PROCESSING, 1))
    publisher.publish_batch(batch(BatchStatus.COMPLETED, 42.5))
    assert emitted(metrics) == {"BatchSize": [3.0], "BatchDuration": [42.5]}
    assert len(inner.batches) == 3  # every update still reaches the subscribers


def test_a_failed_batch_is_counted(metrics: Metrics) -> None:
    MeteredPublisher(RecordingPublisher(), metrics).publish_batch(batch(BatchStatus.FAILED, 7))
    assert emitted(metrics) == {"BatchDuration": [7.0], "BatchesFailed": [1.0]}


def test_finished_records_report_counts_and_latency(metrics: Metrics) -> None:
    def job(i: int, status: JobStatus) -> Job:
        done = T0 + timedelta(seconds=2) if status is not JobStatus.CANCELLED else None
        return Job(f"j{i}", status, "1,2", submitted_at=T0, updated_at=T0, completed_at=done)

    jobs = [job(0, JobStatus.COMPLETED), job(1, JobStatus.FAILED), job(2, JobStatus.CANCELLED)]
    MeteredPublisher(RecordingPublisher(), metrics).publish_jobs(jobs)
    got = emitted(metrics)
    assert (got["RecordsCompleted"], got["RecordsFailed"]) == ([1.0], [1.0])
    assert got["SubmitToCompleteLatency"] == [2000.0, 2000.0]


def test_a_group_move_counts_its_jobs_once_and_reaches_the_subscribers(metrics: Metrics) -> None:
    inner = RecordingPublisher()
    moves = JobsMoved(JobStatus.BATCHED, tuple(f"j{i}" for i in range(2500)), T0, batch_id="b1")
    MeteredPublisher(inner, metrics).publish_moves(moves)
    assert emitted(metrics) == {"JobsBatched": [2500.0]}
    assert inner.moves == [moves]
