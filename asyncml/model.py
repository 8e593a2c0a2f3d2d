"""Domain model: jobs, batches, their statuses and the one rule for moving between them (pure)."""

from __future__ import annotations

import dataclasses
import functools
import operator
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class JobStatus(StrEnum):
    QUEUED = "QUEUED"
    BATCHED = "BATCHED"
    PROCESSING = "PROCESSING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


class BatchStatus(StrEnum):
    BATCHED = "BATCHED"
    PROCESSING = "PROCESSING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"


# Events arrive at least once and out of order, so a status may be skipped (the results of a
# transform can land before its InProgress event) but never revisited: a move must climb.
_RANK: dict[str, int] = {
    "QUEUED": 0,
    "BATCHED": 1,
    "PROCESSING": 2,
    "COMPLETED": 3,
    "FAILED": 3,
    "CANCELLED": 3,
}
JOB_TERMINAL = frozenset({JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED})
BATCH_TERMINAL = frozenset({BatchStatus.COMPLETED, BatchStatus.FAILED})


def can_move_job(current: JobStatus, new: JobStatus) -> bool:
    """True when `current -> new` is a forward move; CANCELLED is reachable from QUEUED only."""
    if new is JobStatus.CANCELLED:
        return current is JobStatus.QUEUED
    return _RANK[current] < _RANK[new]


def can_retry_job(current: JobStatus) -> bool:
    """The one step back: a FAILED job may be queued again, as a new attempt, and only by a retry
    (never by an event), so a late event of its earlier attempt cannot revive it."""
    return current is JobStatus.FAILED


def can_move_batch(current: BatchStatus, new: BatchStatus) -> bool:
    """True when `current -> new` is a forward move."""
    return _RANK[current] < _RANK[new]


@functools.cache
def job_sources(new: JobStatus) -> tuple[JobStatus, ...]:
    """Every status a job may be in for a move to `new` to apply (what a conditional write checks)."""
    return tuple(s for s in JobStatus if can_move_job(s, new))


@functools.cache
def retry_sources() -> tuple[JobStatus, ...]:
    """Every status a retry may move a job from (what its conditional write checks)."""
    return tuple(s for s in JobStatus if can_retry_job(s))


@functools.cache
def batch_sources(new: BatchStatus) -> tuple[BatchStatus, ...]:
    """Every status a batch may be in for a move to `new` to apply."""
    return tuple(s for s in BatchStatus if can_move_batch(s, new))


@dataclass(frozen=True, slots=True)
class Job:
    job_id: str
    status: JobStatus
    payload: str
    submitted_at: datetime
    updated_at: datetime
    result: str | None = None
    error: str | None = None
    batch_id: str | None = None
    transform_job_name: str | None = None
    metadata: str | None = None  # a JSON document, kept as the client sent it
    client_token: str | None = None
    completed_at: datetime | None = None
    attempt: int = 1  # 1 for the submitted job, +1 for each retry

    def replace(self, **changes: Any) -> Job:
        return dataclasses.replace(self, **changes)

    def __reduce__(self) -> tuple[type[Job], tuple[Any, ...]]:
        # Pickled across to the local API's process for every end: the fields in order, where the
        # dataclass default walks them by name (half the time each way).
        return Job, _job_fields(self)

    @property
    def result_key(self) -> str | None:
        """Where the result is kept when it was too large for the job (`results.apply_output`).
        Derived, not stored: a COMPLETED job always has a result, so none means this key."""
        if self.status is JobStatus.COMPLETED and self.result is None and self.batch_id:
            return result_key(self.batch_id, self.job_id)
        return None


RUN_SUFFIX = 3  # characters: a UUID's last 3 hex digits, 12 bits


def run_of(job_id: str) -> str:
    """The run a job belongs to: jobs submitted by one call get ids that differ only in their last
    RUN_SUFFIX characters (`submit.new_job_ids`), so a store may keep and move them together."""
    return job_id[:-RUN_SUFFIX]


RESULTS_PREFIX = "job-results/"


def result_key(batch_id: str, job_id: str) -> str:
    """One key per attempt (a retry runs in another batch), the same on every replay."""
    return f"{RESULTS_PREFIX}{batch_id}/{job_id}"


_job_fields = operator.attrgetter(*(f.name for f in dataclasses.fields(Job)))


@dataclass(frozen=True, slots=True)
class Batch:
    batch_id: str
    status: BatchStatus
    job_count: int
    created_at: datetime
    updated_at: datetime
    input_key: str  # the batch file's key in the bucket
    completed_count: int = 0
    failed_count: int = 0
    transform_job_name: str | None = None
    error: str | None = None
    # While BATCHED: how often its transform was refused, and the runner's last answer (the re-drive
    # tries again with backoff, then fails the batch with that answer).
    start_attempts: int = 0
    start_error: str | None = None

    def replace(self, **changes: Any) -> Batch:
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True, slots=True)
class JobMove:
    """One requested status move: applied only if `can_move_job(current, status)` holds."""

    job_id: str
    status: JobStatus
    result: str | None = None
    error: str | None = None
    batch_id: str | None = None
    transform_job_name: str | None = None
    # Set by a batch's own events (transform start, results, failure): the move applies only to a
    # job still in that batch, or in none on its first attempt (the batcher may have died before
    # moving it). A replayed event of a batch never touches a job retried out of it.
    in_batch: str | None = None


@dataclass(frozen=True, slots=True)
class JobsMoved:
    """Many jobs that moved together to one status (one submit or retry call, one sealed batch, one
    transform start, one chunk of a batch's output). Published as updates of many jobs each, never
    one per job: every move of a job costs a share of a request. An end (COMPLETED, FAILED,
    CANCELLED) carries the whole jobs in `jobs`."""

    status: JobStatus
    job_ids: tuple[str, ...]
    updated_at: datetime
    batch_id: str | None = None
    transform_job_name: str | None = None
    jobs: tuple[Job, ...] = ()


def ends_of(jobs: Sequence[Job]) -> list[JobsMoved]:
    """Jobs that reached their end, as groups of one status, batch and transform job, in order of
    first appearance: what a results chunk or a batch's failure publishes."""
    groups: dict[tuple[JobStatus, str | None, str | None], list[Job]] = {}
    for j in jobs:
        groups.setdefault((j.status, j.batch_id, j.transform_job_name), []).append(j)
    return [
        JobsMoved(
            status,
            tuple(j.job_id for j in group),
            max(j.updated_at for j in group),
            batch,
            name,
            tuple(group),
        )
        for (status, batch, name), group in groups.items()
    ]


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    next_token: str | None
