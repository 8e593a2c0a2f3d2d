"""[3] batcher: seal a batch from streamed job ids: claim QUEUED jobs, record the batch, write the file."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from asyncml import batch_files
from asyncml.model import BATCH_TERMINAL, Batch, BatchStatus, Job, JobMove, JobsMoved, JobStatus
from asyncml.ports import Ports


def seal_batch(
    ports: Ports,
    job_ids: Sequence[str],
    *,
    seed: str,
    first_seen: datetime,
    payloads: Mapping[str, str] | None = None,
) -> Batch | None:
    """Write one batch file for the jobs among `job_ids` that are still QUEUED; None if there are none.

    A job is inferred at most once whatever the stream replays: each job is claimed (a conditional
    QUEUED -> BATCHED naming this batch) before any file names it, and a file lists only the jobs
    its batch claimed, so two batch files never share a job. `seed` and `first_seen` fix the batch
    id, so a replay of the same stream batch finishes this batch; a replay that starts elsewhere
    gets another id and finds the jobs claimed already. Order: claim, batch record (with the exact
    count), file, announce. A crash before the file leaves BATCHED jobs the replay writes.

    `payloads` (job id -> payload, from the stream's own records, locally) spares reading the
    jobs for a batch sealed for the first time: the claim says which are still QUEUED."""
    batch_id = batch_files.make_batch_id(first_seen, seed)
    key = batch_files.input_key(batch_id, ports.settings.file_extension)
    batch = ports.store.get_batch(batch_id)
    if batch is not None and (batch.status in BATCH_TERMINAL or ports.bucket.exists(key)):
        # Sealed before (a replay), or finished: a QUEUED job in the records now is a retried one,
        # which its own newer stream record brings to a new batch.
        return batch
    unique = list(dict.fromkeys(job_ids))
    now = ports.clock.now()
    if batch is None and payloads is not None and all(i in payloads for i in unique):
        moves = [JobMove(i, JobStatus.BATCHED, batch_id=batch_id) for i in unique]
        records = [batch_files.Record(i, payloads[i]) for i in ports.store.move_job_ids(moves, now)]
        return _write(ports, None, batch_id, records, now) if records else None
    jobs = ports.store.get_jobs(unique)
    owned = _owned(jobs, set(), batch_id)
    if batch is None or not owned:
        # Claim unless an earlier attempt did (its record exists only after its claim). A record
        # with no job claimed is the crash state of the former order (record, then file, then moves).
        claims = [
            JobMove(j.job_id, JobStatus.BATCHED, batch_id=batch_id)
            for j in jobs
            if j.status is JobStatus.QUEUED
        ]
        claimed = set(ports.store.move_job_ids(claims, now))
        owned = _owned(jobs, claimed, batch_id)
    if not owned:
        return batch
    return _write(ports, batch, batch_id, owned, now)


def finish_claimed(ports: Ports, batch_id: str, jobs: Sequence[Job]) -> Batch | None:
    """Finish a seal that stopped after its claim: `jobs` are BATCHED in `batch_id`, which has no
    record yet (a process killed in between; the cloud's stream replay does this by itself)."""
    owned = _owned(jobs, set(), batch_id)
    if not owned or ports.store.get_batch(batch_id) is not None:
        return None
    return _write(ports, None, batch_id, owned, ports.clock.now())


def _write(
    ports: Ports, batch: Batch | None, batch_id: str, owned: list[batch_files.Record], now: datetime
) -> Batch:
    """The batch record (with the exact count claimed), then the file, then the announcements."""
    key = batch_files.input_key(batch_id, ports.settings.file_extension)
    if batch is None:
        batch = ports.store.create_batch(
            Batch(
                batch_id=batch_id,
                status=BatchStatus.BATCHED,
                job_count=len(owned),
                created_at=now,
                updated_at=now,
                input_key=key,
            )
        )
    ports.bucket.put(key, batch_files.encode_lines(owned, ports.settings.content_type))
    ports.publisher.publish_batch(batch)
    ids = tuple(j.job_id for j in owned)
    ports.publisher.publish_moves(JobsMoved(JobStatus.BATCHED, ids, now, batch_id=batch_id))
    return batch


def _owned(jobs: Sequence[Job], claimed: set[str], batch_id: str) -> list[batch_files.Record]:
    """The batch file's records, in stream order: of the jobs claimed now (the ids the claim
    answered: the file needs nothing else the store could read back), or by an earlier attempt."""
    return [
        batch_files.Record(j.job_id, j.payload)
        for j in jobs
        if j.job_id in claimed or (j.batch_id == batch_id and j.status is JobStatus.BATCHED)
    ]
