"""[2] -> [3] stream failures: a stream batch the batcher gave up on, sealed again or failed visibly.

The batcher's event source sends a stream batch that failed all its retries (or grew older than
MaximumRecordAgeInSeconds) to its on-failure queue as a shard and sequence range, and moves on. Its
jobs would stay QUEUED (or BATCHED in a batch no file was written for) for good; the re-drive reads
the range again and seals it as the batcher would have, with the same batch id. A range that still
cannot be sealed after MAX_ATTEMPTS ends its jobs FAILED, with a reason, so retryJobs can run them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from asyncml import batcher, results
from asyncml.model import Batch, BatchStatus, Job, JobMove, JobStatus
from asyncml.ports import Ports

MAX_ATTEMPTS = 5  # receives of one queue message (its ApproximateReceiveCount) before giving up
GAVE_UP = (
    "the batcher could not seal this job's stream batch ({shard} from {start}) after {attempts} re-drives "
    "({error}); retryJobs queues it again"
)


def redrive(
    ports: Ports,
    job_ids: Sequence[str],
    *,
    seed: str,
    first_seen: datetime,
    last_seen: datetime,
    attempt: int,
    where: tuple[str, str],
) -> Batch | int | None:
    """Seal the stream batch again (`batcher.seal_batch`: a job claimed or sealed already is left
    where it is). Raises while attempts remain, so the queue hands the message over again; on the
    last attempt the jobs it leaves unsealed end FAILED, and how many is returned."""
    try:
        return batcher.seal_batch(ports, job_ids, seed=seed, first_seen=first_seen)
    except Exception as exc:
        if attempt < MAX_ATTEMPTS:
            raise
        shard, start = where
        reason = GAVE_UP.format(
            shard=shard, start=start, attempts=attempt, error=f"{type(exc).__name__}: {exc}"
        )
        return fail_unsealed(ports, job_ids, reason[:1000], last_seen)


def fail_unsealed(ports: Ports, job_ids: Sequence[str], reason: str, last_seen: datetime) -> int:
    """FAILED with `reason`: each job still QUEUED from these records, and each claimed for a batch
    whose file was never written (the seal died between its claim and its file; a batch recorded
    that far fails whole, with exact counts). A job queued again after the records arrived (a retry:
    its new record is elsewhere on the stream) is left alone, and so is a job of a batch whose file
    exists, which that batch's own events settle. Returns how many jobs failed."""
    jobs = ports.store.get_jobs(list(dict.fromkeys(job_ids)))
    moves = [
        JobMove(j.job_id, JobStatus.FAILED, error=reason) for j in jobs if _stranded_queued(j, last_seen)
    ]
    claimed = {
        j.batch_id: ports.store.get_batch(j.batch_id)
        for j in jobs
        if j.status is JobStatus.BATCHED and j.batch_id
    }
    moves += [
        JobMove(j.job_id, JobStatus.FAILED, error=reason, in_batch=j.batch_id)
        for j in jobs
        if j.status is JobStatus.BATCHED and j.batch_id in claimed and claimed[j.batch_id] is None
    ]
    failed = ports.store.move_jobs(moves, ports.clock.now()) if moves else []
    if failed:
        ports.publisher.publish_jobs(failed)
    count = len(failed)
    for batch in claimed.values():
        if (
            batch is not None
            and batch.status is BatchStatus.BATCHED
            and not ports.bucket.exists(batch.input_key)
        ):
            ended = results.fail_batch(ports, batch, reason)
            count += ended.failed_count or 0 if ended is not None else 0
    return count


def _stranded_queued(job: Job, last_seen: datetime) -> bool:
    return job.status is JobStatus.QUEUED and job.updated_at <= last_seen
