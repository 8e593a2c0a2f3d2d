"""[1] submit: retryJobs queues FAILED jobs again as new attempts, back on the stream to the batcher."""

from __future__ import annotations

from collections.abc import Sequence

from asyncml.errors import Conflict, NotFound, ValidationError
from asyncml.model import Job, JobsMoved, JobStatus, can_retry_job
from asyncml.ports import Ports

FIELD = "jobIds"
NAMED = 5  # ids quoted in an error message; the rest are counted


def retry_jobs(ports: Ports, job_ids: Sequence[str]) -> list[Job]:
    """Check every id first (all or nothing), then queue each job once more.

    The move is a conditional write on FAILED: when two retries of the same job race, one queues
    it and the other answers the job as that one left it (QUEUED, the new attempt), so a job is
    never queued twice. Returns the jobs in the order asked, each id once."""
    limit = ports.settings.max_inputs_per_call
    if not job_ids:
        raise ValidationError(f"{FIELD} is empty; send 1 to {limit} ids", field=FIELD)
    if len(job_ids) > limit:
        raise ValidationError(f"{FIELD} has {len(job_ids)} ids; the limit is {limit} per call", field=FIELD)
    unique = list(dict.fromkeys(job_ids))
    current = ports.store.get_jobs(unique)
    missing = [i for i in unique if i not in {j.job_id for j in current}]
    if missing:
        raise NotFound(f"{FIELD} {_name(missing)} do not exist", field=FIELD)
    busy = [j for j in current if not can_retry_job(j.status)]
    if busy:
        statuses = sorted({j.status.value for j in busy})
        raise Conflict(
            f"{FIELD} {_name([j.job_id for j in busy])} are {'/'.join(statuses)}; only a FAILED job can be"
            " retried",
            field=FIELD,
        )
    now = ports.clock.now()
    moved = ports.store.retry_jobs(unique, now)
    if moved:
        ports.stream.put(moved)
        ports.publisher.publish_moves(JobsMoved(JobStatus.QUEUED, tuple(j.job_id for j in moved), now))
    by_id = {j.job_id: j for j in moved}
    raced = [i for i in unique if i not in by_id]
    by_id.update((j.job_id, j) for j in ports.store.get_jobs(raced))
    return [by_id[i] for i in unique if i in by_id]


def _name(ids: Sequence[str]) -> str:
    shown = ", ".join(repr(i) for i in ids[:NAMED])
    return shown + (f" and {len(ids) - NAMED} more" if len(ids) > NAMED else "")
