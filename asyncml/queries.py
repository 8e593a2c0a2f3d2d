"""[6] queries: getJob, listJobs, getBatch, listBatches (opaque nextToken), jobCounts; whole lists."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TypeVar

from asyncml.errors import ValidationError
from asyncml.model import Batch, BatchStatus, Job, JobStatus, Page
from asyncml.ports import Ports

T = TypeVar("T")

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


def all_jobs(ports: Ports, *, status: JobStatus | None = None, batch_id: str | None = None) -> Iterator[Job]:
    """Every job matching the filters, newest first, read page by page as the caller consumes them."""

    def page(token: str | None) -> Page[Job]:
        return ports.store.list_jobs(status=status, batch_id=batch_id, limit=MAX_LIMIT, next_token=token)

    return _every(page)


def all_batches(ports: Ports, status: BatchStatus | None) -> Iterator[Batch]:
    """Every batch in `status` (any status for None), newest first, read page by page."""

    def page(token: str | None) -> Page[Batch]:
        return ports.store.list_batches(status=status, limit=MAX_LIMIT, next_token=token)

    return _every(page)


def _every(fetch: Callable[[str | None], Page[T]]) -> Iterator[T]:
    # The one loop over the store's pages. A page is read only when the one before is used up, so
    # a caller that walks a large batch in chunks holds one page at a time, not the whole list.
    token: str | None = None
    while True:
        page = fetch(token)
        yield from page.items
        token = page.next_token
        if not token:
            return


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
