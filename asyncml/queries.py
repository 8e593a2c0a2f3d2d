"""[6] queries: getJob, listJobs, getBatch, listBatches with an opaque nextToken, jobCounts."""

from __future__ import annotations

from asyncml.errors import ValidationError
from asyncml.model import Batch, Job, JobStatus, Page
from asyncml.ports import Ports

DEFAULT_LIMIT = 50
MAX_LIMIT = 1000


def get_job(ports: Ports, job_id: str) -> Job | None:
    found = ports.store.get_jobs([job_id])
    return found[0] if found else None


def list_jobs(
    ports: Ports,
    *,
    status: JobStatus | None = None,
    batch_id: str | None = None,
    limit: int | None = None,
    next_token: str | None = None,
) -> Page[Job]:
    return ports.store.list_jobs(status=status, batch_id=batch_id, limit=_limit(limit), next_token=next_token)


def get_batch(ports: Ports, batch_id: str) -> Batch | None:
    return ports.store.get_batch(batch_id)


def list_batches(ports: Ports, *, limit: int | None = None, next_token: str | None = None) -> Page[Batch]:
    return ports.store.list_batches(status=None, limit=_limit(limit), next_token=next_token)


def job_counts(ports: Ports) -> dict[JobStatus, int]:
    """Jobs per status, every status present (0 for none), as the server holds them."""
    stored = ports.store.count_jobs_by_status()
    return {status: stored.get(status, 0) for status in JobStatus}


def _limit(limit: int | None) -> int:
    if limit is None:
        return DEFAULT_LIMIT
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationError(f"limit is {limit}; it must be 1 to {MAX_LIMIT}", field="limit")
    return limit
