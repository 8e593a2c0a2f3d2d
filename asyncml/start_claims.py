"""[4] starting a transform safely: claim its batches, start it, record a refusal, and when to retry.

A start is two steps that can each be cut off (a Lambda timeout, a crash): the claim records the
transform job's name on each still-unclaimed BATCHED batch (one conditional write each), then the
start names that job. A job name is never reused and SageMaker refuses a second job of the same
name, so whoever finds a claim (a retry, a second invocation, the re-drive) repeats the same start
and no batch is ever in two transforms."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from asyncml import results
from asyncml.model import Batch, BatchStatus
from asyncml.ports import Ports, TransformStartRefused
from asyncml.settings import Settings
from asyncml.transform_jobs import mark_processing

BACKOFF_CAP = 16  # the wait between refused starts doubles up to this many times start_retry_seconds


def claim(ports: Ports, batches: Sequence[Batch], name: str) -> list[Batch]:
    """The batches now claimed by `name` (unclaimed before, or already its own), as stored."""
    now = ports.clock.now()
    claimed = (ports.store.move_batch(b.batch_id, BatchStatus.BATCHED, now, claimed_by=name) for b in batches)
    return [b for b in claimed if b is not None]


def launch(ports: Ports, name: str, batches: Sequence[Batch], request: dict[str, Any]) -> list[Batch] | None:
    """Start the transform of claimed `batches` and move them to PROCESSING. A refusal is recorded
    on them instead (None): the re-drive tries again, and past the bound it fails them."""
    try:
        ports.runner.start(request)
    except TransformStartRefused as exc:
        refused(ports, name, batches, str(exc))
        return None
    return mark_processing(ports, batches, name)


def refused(ports: Ports, name: str, batches: Sequence[Batch], error: str) -> None:
    """Record SageMaker's refusal on each batch, or, once the oldest is start_give_up_seconds old,
    fail them all with it (together: they share one transform job and its manifest)."""
    settings, now = ports.settings, ports.clock.now()
    waited = now - min(b.created_at for b in batches)
    for batch in batches:
        attempts = batch.start_attempts + 1
        if waited >= timedelta(seconds=settings.start_give_up_seconds):
            tried = f"{attempts} attempts in {_duration(waited)}"
            results.fail_batch(ports, batch, f"the transform job could not start ({tried}): {error}")
            continue
        changes: dict[str, Any] = {"start_attempts": attempts, "start_error": error, "claimed_by": name}
        moved = ports.store.move_batch(batch.batch_id, BatchStatus.BATCHED, now, **changes)
        if moved is not None:  # its error now says why it waits (shapes.batch)
            ports.publisher.publish_batch(moved)


def is_due(settings: Settings, batch: Batch, now: datetime) -> bool:
    """Whether the re-drive may start this BATCHED batch now. Never refused: only once a claim (or
    its S3 event) had the lease to start it. Refused n times: start_retry_seconds * 2^(n-1), capped."""
    if batch.start_attempts == 0:
        wait = settings.start_lease_seconds
    else:
        wait = settings.start_retry_seconds * min(2 ** (batch.start_attempts - 1), BACKOFF_CAP)
    return now - batch.updated_at >= timedelta(seconds=wait)


def _duration(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    return f"{minutes} min" if minutes < 120 else f"{minutes // 60} h {minutes % 60} min"
