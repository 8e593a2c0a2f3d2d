"""[3] batcher: seal a batch from streamed job ids: drop cancelled jobs, write the file, jobs -> BATCHED."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from asyncml import batch_files
from asyncml.model import BATCH_TERMINAL, Batch, BatchStatus, JobMove, JobsMoved, JobStatus
from asyncml.ports import Ports


def seal_batch(ports: Ports, job_ids: Sequence[str], *, seed: str, first_seen: datetime) -> Batch | None:
    """Write one batch file for the jobs among `job_ids` that are still QUEUED; None if there are none.

    `seed` and `first_seen` fix the batch id, so a replayed stream batch seals the same batch again
    instead of a second one. The batch record is written before the file and the jobs move after
    it: a crash in between leaves QUEUED jobs the replay picks up, never BATCHED jobs with no file."""
    unique = list(dict.fromkeys(job_ids))
    batch_id = batch_files.make_batch_id(first_seen, seed)
    candidates = [
        j for j in ports.store.get_jobs(unique) if j.status is JobStatus.QUEUED or j.batch_id == batch_id
    ]
    queued = [j for j in candidates if j.status is JobStatus.QUEUED]
    if not queued:
        return ports.store.get_batch(batch_id) if candidates else None
    settings = ports.settings
    key = batch_files.input_key(batch_id, settings.file_extension)
    now = ports.clock.now()
    # A replay finds the batch already recorded: it neither announces it again nor trusts that the
    # file was written before the crash.
    batch = ports.store.get_batch(batch_id)
    if batch is not None and batch.status in BATCH_TERMINAL:
        # A replay of a batch that has finished: a QUEUED job in it is a retried one, which its own
        # stream record brings to a new batch. Sealed into this one, it would never run again.
        return batch
    created = batch is None
    if batch is None:
        batch = ports.store.create_batch(
            Batch(
                batch_id=batch_id,
                status=BatchStatus.BATCHED,
                job_count=len(queued),
                created_at=now,
                updated_at=now,
                input_key=key,
            )
        )
    if created or not ports.bucket.exists(key):
        records = (batch_files.Record(j.job_id, j.payload) for j in queued)
        ports.bucket.put(key, batch_files.encode_lines(records, settings.content_type))
    moved = ports.store.move_jobs(
        [JobMove(j.job_id, JobStatus.BATCHED, batch_id=batch_id) for j in queued], now
    )
    if created:
        ports.publisher.publish_batch(batch)
    if moved:
        ids = tuple(j.job_id for j in moved)
        ports.publisher.publish_moves(JobsMoved(JobStatus.BATCHED, ids, now, batch_id=batch_id))
    return batch
