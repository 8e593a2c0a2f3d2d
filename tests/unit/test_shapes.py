"""[7][8] shapes: what a subscriber receives is the object's fields, and an update maps back unchanged."""

from __future__ import annotations

from datetime import UTC, datetime

from asyncml import shapes
from asyncml.model import Batch, BatchStatus, Job, JobStatus

T = datetime(2026, 11, 25, 12, 0, 1, 234000, tzinfo=UTC)


def test_aws_datetime_is_utc_milliseconds_with_z() -> None:
    assert shapes.aws_datetime(T) == "2026-11-25T12:00:01.234Z"


def test_a_job_update_round_trips_every_field() -> None:
    job = Job(job_id="j1", status=JobStatus.COMPLETED, payload="1,2", submitted_at=T, updated_at=T,
              result="setosa,0.9", batch_id="b1", transform_job_name="asyncml-b1", metadata='{"a": 1}',
              completed_at=T)  # fmt: skip
    fields = shapes.job(job)
    assert list(fields) == shapes.JOB_FIELDS
    assert shapes.job_from_fields(fields) == job


def test_a_batch_update_round_trips_every_api_field() -> None:
    batch = Batch(batch_id="b1", status=BatchStatus.FAILED, job_count=3, created_at=T, updated_at=T,
                  input_key="", completed_count=1, failed_count=2, error="ClientError")  # fmt: skip
    fields = shapes.batch(batch)
    assert list(fields) == shapes.BATCH_FIELDS
    assert shapes.batch_from_fields(fields) == batch
