"""Ports: what the core needs from the outside world. Each runtime wires adapters in one place."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from asyncml.model import Batch, BatchStatus, Job, JobMove, JobsMoved, JobStatus, Page

if TYPE_CHECKING:
    from asyncml.settings import Settings


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


class JobStore(Protocol):
    """Jobs and batches. Every status move is a conditional write, so a replayed event is a no-op."""

    def create_jobs(self, jobs: Sequence[Job]) -> list[Job]:
        """Store new QUEUED jobs, in order. A job whose `client_token` is already stored is not stored
        again: the job stored earlier is returned in its place."""
        ...

    def get_jobs(self, job_ids: Sequence[str]) -> list[Job]:
        """The stored jobs among `job_ids` (unknown ids are left out), in the order given."""
        ...

    def move_jobs(self, moves: Sequence[JobMove], now: datetime) -> list[Job]:
        """Apply each move whose job exists and whose current status allows it
        (`model.can_move_job`); return the jobs that moved, as stored after the move. Sets
        `updated_at`, and `completed_at` on a terminal status. Fields left None are kept."""
        ...

    def move_job_ids(self, moves: Sequence[JobMove], now: datetime) -> list[str]:
        """`move_jobs`, answering only the ids of the jobs that moved, each once, in the order of
        their first move: for a move whose subscribers get ids alone (BATCHED, PROCESSING), so the
        store reads nothing back."""
        ...

    def retry_jobs(self, job_ids: Sequence[str], now: datetime) -> list[Job]:
        """Queue each FAILED job among `job_ids` again as a new attempt (`model.can_retry_job`):
        QUEUED, attempt + 1, result, error, batch, transform job name and completed_at cleared.
        Conditional on FAILED, so of two concurrent retries only one moves a job. Returns the jobs
        that moved, in the order given."""
        ...

    def list_jobs(
        self, *, status: JobStatus | None, batch_id: str | None, limit: int, next_token: str | None
    ) -> Page[Job]:
        """Jobs newest first, filtered; `next_token` is opaque and only this store reads it."""
        ...

    def count_batch_jobs(self, batch_id: str) -> dict[JobStatus, int]:
        """How many jobs of the batch are in each status."""
        ...

    def batch_job_ids(self, batch_id: str) -> list[str]:
        """The ids of every job in the batch, whatever its status (no order promised)."""
        ...

    def move_batch_jobs(
        self, batch_id: str, status: JobStatus, now: datetime, *, transform_job_name: str | None = None
    ) -> list[str]:
        """`move_job_ids` for every job in the batch (`batch_job_ids`), each conditional as a JobMove
        with `in_batch=batch_id` is: the ids that moved (no order promised)."""
        ...

    def count_jobs_by_status(self) -> dict[JobStatus, int]:
        """How many jobs are stored in each status (a status with none may be left out)."""
        ...

    def create_batch(self, batch: Batch) -> Batch:
        """Store a new batch; if its id is stored already, return the stored one unchanged."""
        ...

    def get_batch(self, batch_id: str) -> Batch | None: ...

    def move_batch(
        self,
        batch_id: str,
        status: BatchStatus,
        now: datetime,
        *,
        claimed_by: str | None = None,
        **changes: Any,
    ) -> Batch | None:
        """Move the batch to `status` if `model.can_move_batch` allows it, setting `changes`
        (transform_job_name, error, completed_count, failed_count, start_attempts, start_error).
        None when nothing moved.

        With `claimed_by` (a transform job name) the write is a claim instead: it applies only to a
        BATCHED batch whose transform_job_name is unset or already `claimed_by`, sets that name and
        `changes`, and leaves the status BATCHED (`status` must be BATCHED)."""
        ...

    def list_batches(self, *, status: BatchStatus | None, limit: int, next_token: str | None) -> Page[Batch]:
        """Batches newest first."""
        ...


class JobStream(Protocol):
    """[2] Where submitted jobs wait for the batcher (Kinesis; an in-process buffer locally)."""

    def put(self, jobs: Sequence[Job]) -> None:
        """Hand the jobs to the batcher. Raises if any could not be put."""
        ...


class Bucket(Protocol):
    """[3] Object storage with S3's key layout."""

    name: str

    def put(self, key: str, data: bytes) -> None: ...

    def read_chunks(self, key: str) -> Iterator[bytes]:
        """The object's bytes in pieces, streamed: memory does not grow with the object. The core
        splits them into lines (`batch_files.split_lines`), one rule for every adapter."""
        ...

    def exists(self, key: str) -> bool: ...

    def uri(self, key: str) -> str:
        """`s3://<name>/<key>`."""
        ...


class TransformStartRefused(Exception):
    """The runner refused to start a transform (SageMaker's error code and message, e.g.
    ResourceLimitExceeded). The batches wait, and the re-drive tries again."""


class TransformRunner(Protocol):
    """[4] Runs a CreateTransformJob-shaped request (SageMaker; the emulator locally)."""

    def start(self, request: dict[str, Any]) -> None:
        """Start the job. A job of the same name that already exists counts as started. Raises
        TransformStartRefused when the service answers that it will not start it."""
        ...


class Publisher(Protocol):
    """[7] Pushes updates to subscribers (AppSync's publish mutations; an in-process broadcast locally)."""

    def publish_jobs(self, jobs: Sequence[Job]) -> None:
        """Jobs that reached their end (COMPLETED, FAILED, CANCELLED): grouped as `model.ends_of`
        does, in `JobsMoved` updates that carry the jobs whole (`shapes.moves_updates`); with
        `settings.each_job_end`, also one onJobUpdated update per job."""
        ...

    def publish_moves(self, moves: JobsMoved) -> None:
        """Jobs that moved together to QUEUED, BATCHED or PROCESSING: adapters split it into updates
        of at most `shapes.MOVES_MAX_IDS` ids."""
        ...

    def publish_batch(self, batch: Batch) -> None: ...


@dataclass(frozen=True)
class Ports:
    """What a use case is handed: one runtime's adapters plus its settings."""

    settings: Settings
    store: JobStore
    stream: JobStream
    bucket: Bucket
    runner: TransformRunner
    publisher: Publisher
    clock: Clock


class SystemClock:
    """The real clock (both runtimes); tests hand the core a fake one."""

    def now(self) -> datetime:
        return datetime.now(UTC)
