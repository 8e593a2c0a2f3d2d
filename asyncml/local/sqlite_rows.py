"""[6] store (local): how jobs and batches are laid out in SQLite: the schema, the columns, rows to
domain objects and back, and the listings' nextToken (pure, like aws/dynamodb_items.py)."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

from asyncml.errors import ValidationError
from asyncml.model import Batch, BatchStatus, Job, JobStatus

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  job_id TEXT NOT NULL UNIQUE, status TEXT NOT NULL, payload TEXT NOT NULL,
  result TEXT, error TEXT, batch_id TEXT, transform_job_name TEXT, metadata TEXT,
  client_token TEXT UNIQUE, submitted_at TEXT NOT NULL, updated_at TEXT NOT NULL, completed_at TEXT,
  attempt INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX IF NOT EXISTS jobs_status ON jobs (status, seq);
CREATE INDEX IF NOT EXISTS jobs_batch ON jobs (batch_id, seq);
CREATE TABLE IF NOT EXISTS batches (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  batch_id TEXT NOT NULL UNIQUE, status TEXT NOT NULL, job_count INTEGER NOT NULL,
  completed_count INTEGER NOT NULL DEFAULT 0, failed_count INTEGER NOT NULL DEFAULT 0,
  transform_job_name TEXT, error TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
  input_key TEXT NOT NULL, start_attempts INTEGER NOT NULL DEFAULT 0, start_error TEXT
);
CREATE INDEX IF NOT EXISTS batches_status ON batches (status, seq);
"""
JOB_COLS = (
    "job_id, status, payload, result, error, batch_id, transform_job_name, metadata, client_token, "
    "submitted_at, updated_at, completed_at, attempt"
)
BATCH_COLS = (
    "batch_id, status, job_count, completed_count, failed_count, transform_job_name, error, "
    "created_at, updated_at, input_key, start_attempts, start_error"
)
BATCH_FIELDS = {
    "transform_job_name", "error", "completed_count", "failed_count", "job_count",
    "start_attempts", "start_error",
}  # fmt: skip


def make_token(seq: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"s": seq}).encode()).decode()


def read_token(token: str | None) -> int:
    if token is None:
        return 2**62
    try:
        seq = json.loads(base64.urlsafe_b64decode(token.encode()))["s"]
    except (ValueError, KeyError, TypeError, RecursionError) as exc:
        raise ValidationError("nextToken is not a token this API returned", field="nextToken") from exc
    if type(seq) is not int or not 0 <= seq <= 2**62:  # SQLite integers are 64-bit
        raise ValidationError("nextToken is not a token this API returned", field="nextToken")
    return seq


# The jobs a move returns share their stamps (a submit call's submittedAt, a move's updatedAt):
# parsed once each, not three times per row.
_parse_ts = lru_cache(maxsize=4096)(datetime.fromisoformat)
_STATUS = {s.value: s for s in JobStatus}


def _ts(text: str | None) -> datetime | None:
    return _parse_ts(text) if text else None


def job_row(j: Job) -> tuple[Any, ...]:
    return (
        j.job_id, j.status.value, j.payload, j.result, j.error, j.batch_id, j.transform_job_name, j.metadata,
        j.client_token, j.submitted_at.isoformat(), j.updated_at.isoformat(),
        j.completed_at.isoformat() if j.completed_at else None, j.attempt,
    )  # fmt: skip


def job(r: Sequence[Any]) -> Job:
    return Job(
        job_id=r[0], status=_STATUS[r[1]], payload=r[2], result=r[3], error=r[4], batch_id=r[5],
        transform_job_name=r[6], metadata=r[7], client_token=r[8], submitted_at=_parse_ts(r[9]),
        updated_at=_parse_ts(r[10]), completed_at=_ts(r[11]), attempt=r[12],
    )  # fmt: skip


def batch_row(b: Batch) -> tuple[Any, ...]:
    return (
        b.batch_id, b.status.value, b.job_count, b.completed_count, b.failed_count, b.transform_job_name,
        b.error, b.created_at.isoformat(), b.updated_at.isoformat(), b.input_key, b.start_attempts,
        b.start_error,
    )  # fmt: skip


def batch(r: Sequence[Any]) -> Batch:
    return Batch(
        batch_id=r[0], status=BatchStatus(r[1]), job_count=r[2], completed_count=r[3], failed_count=r[4],
        transform_job_name=r[5], error=r[6], created_at=datetime.fromisoformat(r[7]),
        updated_at=datetime.fromisoformat(r[8]), input_key=r[9], start_attempts=r[10], start_error=r[11],
    )  # fmt: skip
