"""[5][6] results: apply a `.out` file to its jobs (COMPLETED / FAILED), settle a finished transform job."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import islice
from typing import Any

from asyncml import batch_files, queries, record_errors
from asyncml.batch_files import Outcome
from asyncml.model import (
    BATCH_TERMINAL,
    JOB_TERMINAL,
    Batch,
    BatchStatus,
    Job,
    JobMove,
    JobStatus,
    result_key,
)
from asyncml.ports import Ports
from asyncml.transform_jobs import batches_of_job, mark_processing

CHUNK = 500  # moves per store call: bounded memory for any file size, few round trips
STOPPED = "the transform job was stopped before it wrote this batch's output"
NO_OUTPUT = "the transform job ended without an output file for this batch"
UNLISTED = "the batch file {key} has no readable line for this job (truncated or damaged)"
REFUSED = "the store refused this job's end ({reason}); retryJobs runs it again"
NOT_KEPT = (
    "the result ({size} characters) is too large for the job and could not be kept in the bucket ({reason})"
)


def apply_output(ports: Ports, output_key: str) -> Batch | None:
    """Apply `result/….out` to the jobs of its batch; None for a key that is not one of ours.

    The batch ends COMPLETED when its files account for every job, FAILED (naming the file) when
    they do not: a record without a usable output line fails alone, and a job the batch file has
    no readable line for (a truncated or damaged file) fails too, so no job is left PROCESSING.
    A result too large for the job is kept in the bucket (`Job.result_key`), and a record the
    store refuses fails alone, so no record blocks the rest. Applying a file again changes
    nothing: a finished batch is left as it is, and every move is conditional."""
    batch_id = batch_files.batch_id_from_key(output_key)
    batch = ports.store.get_batch(batch_id) if batch_id else None
    if batch is None or batch.status in BATCH_TERMINAL:
        return batch  # a finished batch had every move and its counts done before it finished
    outcomes = batch_files.pair_outputs(
        batch_files.split_lines(ports.bucket.read_chunks(batch.input_key)),
        batch_files.split_lines(ports.bucket.read_chunks(output_key), keep_tail=False),
        ports.settings.content_type,
    )
    tally = _Tally(batch.batch_id)
    unusable = 0
    while chunk := list(islice(outcomes, CHUNK)):
        unusable += sum(o.error is not None for o in chunk)
        moves = [_move_for(ports, batch.batch_id, o) for o in chunk]
        tally.add(ports, moves, _apply(ports, moves))
    problems = []
    if unusable:
        problems.append(f"{output_key}: {unusable} of {batch.job_count} records have no usable output line")
    unlisted = batch.job_count - tally.listed
    if unlisted > 0:
        _fail_jobs(ports, batch, UNLISTED.format(key=batch.input_key))
        problems.append(f"{batch.input_key}: no readable line for {unlisted} of {batch.job_count} jobs")
    status = BatchStatus.FAILED if problems else BatchStatus.COMPLETED
    return _finish_batch(ports, batch, status, "; ".join(problems) or None, tally.completed)


def on_transform_state(ports: Ports, job_name: str, status: str, failure_reason: str | None) -> list[Batch]:
    """A transform job changed state (EventBridge in the cloud, the emulator's answer locally).

    Events come at least once and out of order: InProgress only moves batches that have not gone
    further, and a finished job applies whatever output exists (a failed job may still have
    written the output of some of its files) before failing the batches that have none."""
    batches = batches_of_job(ports, job_name)
    if status == "InProgress":
        return mark_processing(ports, batches, job_name)
    if status not in ("Completed", "Failed", "Stopped"):
        return []
    settled = []
    for batch in batches:
        if batch.status in BATCH_TERMINAL:
            # Settled already (its .out's own event came first, or this event comes again): it had
            # every move and its counts; listing its jobs again would change nothing.
            settled.append(batch)
            continue
        out_key = batch_files.output_key(batch.input_key)
        if status != "Stopped" and ports.bucket.exists(out_key):
            done = apply_output(ports, out_key)
        else:
            reason = STOPPED if status == "Stopped" else (failure_reason or NO_OUTPUT)
            done = fail_batch(ports, batch, reason)
        if done is not None:
            settled.append(done)
    return settled


def fail_batch(ports: Ports, batch: Batch, reason: str) -> Batch | None:
    """Every unfinished job of the batch -> FAILED with `reason`; then the batch."""
    completed = _fail_jobs(ports, batch, reason)
    return _finish_batch(ports, batch, BatchStatus.FAILED, reason, completed)


def _move_for(ports: Ports, batch_id: str, outcome: Outcome) -> JobMove:
    """The record's move; a result too large for the job goes to the bucket first (`model.result_key`)."""
    move = record_errors.job_move(outcome, ports.settings.error_prefix, batch_id)
    if move.result is None or record_errors.fits_in_job(outcome, move.result):
        return move
    try:
        # The same key and bytes on every pass, so a replay rewrites the same object.
        ports.bucket.put(result_key(batch_id, move.job_id), move.result.encode())
    except Exception as exc:  # this record's storage problem must not block the rest of the file
        error = NOT_KEPT.format(size=len(move.result), reason=_short(exc))
        return JobMove(move.job_id, JobStatus.FAILED, error=error, in_batch=batch_id)
    return JobMove(move.job_id, JobStatus.COMPLETED, in_batch=batch_id)


def _apply(ports: Ports, moves: Sequence[JobMove]) -> list[Job]:
    """Apply and publish the moves. When the store refuses the chunk, each record is tried on its
    own and one it still refuses (an item too large, say) ends FAILED with the store's reason."""
    if not moves:
        return []
    try:
        moved = ports.store.move_jobs(moves, ports.clock.now())
    except Exception:
        moved = [j for m in moves for j in _apply_one(ports, m)]
        # The refused call may have applied other moves before it raised: publish those as stored.
        done, want = {j.job_id for j in moved}, {m.job_id: m for m in moves}
        rest = [i for i in want if i not in done]
        for j in ports.store.get_jobs(rest) if rest else []:
            if j.status is want[j.job_id].status and j.batch_id == want[j.job_id].in_batch:
                moved.append(j)
    if moved:
        ports.publisher.publish_jobs(moved)
    return moved


def _apply_one(ports: Ports, move: JobMove) -> list[Job]:
    try:
        return ports.store.move_jobs([move], ports.clock.now())
    except Exception as exc:
        failed = JobMove(
            move.job_id, JobStatus.FAILED, error=REFUSED.format(reason=_short(exc)), in_batch=move.in_batch
        )
        # If the store refuses this too, it is down, not picky: the invocation fails and is retried.
        return ports.store.move_jobs([failed], ports.clock.now())


class _Tally:
    """What the file's records came to, the same on every pass over the same file: the jobs that
    moved now, plus (read back, only on a replay) those an earlier pass moved."""

    def __init__(self, batch_id: str) -> None:
        self.batch_id, self.listed, self.completed = batch_id, 0, 0

    def add(self, ports: Ports, moves: Sequence[JobMove], moved: Iterable[Job]) -> None:
        done = {j.job_id: j for j in moved}
        rest = [m.job_id for m in moves if m.job_id not in done]
        # Read back: a job retried out of this batch since failed here; an unknown id is a damaged line's.
        before = ports.store.get_jobs(rest) if rest else []
        self.listed += len(done) + len(before)
        self.completed += sum(j.status is JobStatus.COMPLETED for j in done.values())
        self.completed += sum(j.status is JobStatus.COMPLETED and j.batch_id == self.batch_id for j in before)


def _fail_jobs(ports: Ports, batch: Batch, reason: str) -> int:
    """The batch's unfinished jobs -> FAILED with `reason`; how many of its jobs are COMPLETED."""
    completed = 0
    jobs = queries.all_jobs(ports, batch_id=batch.batch_id)
    while chunk := list(islice(jobs, CHUNK)):
        completed += sum(j.status is JobStatus.COMPLETED for j in chunk)
        unfinished = [j.job_id for j in chunk if j.status not in JOB_TERMINAL]
        _apply(
            ports, [JobMove(i, JobStatus.FAILED, error=reason, in_batch=batch.batch_id) for i in unfinished]
        )
    return completed


def _finish_batch(
    ports: Ports, batch: Batch, status: BatchStatus, error: str | None, completed: int
) -> Batch | None:
    """The batch ends with exact counts: every job of it that did not complete failed (by its
    record, for want of one, or with the batch), including one retried since."""
    changes: dict[str, Any] = {"completed_count": completed, "failed_count": batch.job_count - completed}
    if error is not None:
        changes["error"] = error
    moved = ports.store.move_batch(batch.batch_id, status, ports.clock.now(), **changes)
    if moved is not None:
        ports.publisher.publish_batch(moved)
        return moved
    return ports.store.get_batch(batch.batch_id)


def _short(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"[:300]
