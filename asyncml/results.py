"""[5][6] results: apply a `.out` file to its jobs (COMPLETED / FAILED), settle a finished transform job."""

from __future__ import annotations

from itertools import islice
from typing import Any

from asyncml import batch_files, queries, record_errors
from asyncml.model import JOB_TERMINAL, Batch, BatchStatus, JobMove, JobStatus
from asyncml.ports import Ports
from asyncml.transform_jobs import batches_of_job, mark_processing

CHUNK = 500  # moves per store call: bounded memory for any file size, few round trips
STOPPED = "the transform job was stopped before it wrote this batch's output"
NO_OUTPUT = "the transform job ended without an output file for this batch"
UNLISTED = "the batch file {key} has no readable line for this job (truncated or damaged)"


def apply_output(ports: Ports, output_key: str) -> Batch | None:
    """Apply `result/….out` to the jobs of its batch; None for a key that is not one of ours.

    The batch ends COMPLETED when its files account for every job, FAILED (naming the file) when
    they do not: a record without a usable output line fails alone, and a job the batch file has
    no readable line for (a truncated or damaged file) fails too, so no job is left PROCESSING and
    the counts add up to jobCount. Applying a file twice changes nothing: every move is
    conditional, so the second pass moves no job and publishes nothing."""
    batch_id = batch_files.batch_id_from_key(output_key)
    batch = ports.store.get_batch(batch_id) if batch_id else None
    if batch is None:
        return None
    ct = ports.settings.content_type
    outcomes = batch_files.pair_outputs(
        batch_files.split_lines(ports.bucket.read_chunks(batch.input_key)),
        batch_files.split_lines(ports.bucket.read_chunks(output_key), keep_tail=False),
        ct,
    )
    unusable = 0
    prefix = ports.settings.error_prefix
    while chunk := list(islice(outcomes, CHUNK)):
        unusable += sum(o.error is not None for o in chunk)
        moves = [record_errors.job_move(o, prefix, batch.batch_id) for o in chunk]
        moved = ports.store.move_jobs(moves, ports.clock.now())
        if moved:
            ports.publisher.publish_jobs(moved)
    problems = []
    if unusable:
        problems.append(f"{output_key}: {unusable} of {batch.job_count} records have no usable output line")
    unlisted = _fail_unlisted(ports, batch)
    if unlisted:
        problems.append(f"{batch.input_key}: no readable line for {unlisted} of {batch.job_count} jobs")
    if problems:
        return _finish_batch(ports, batch, BatchStatus.FAILED, "; ".join(problems))
    return _finish_batch(ports, batch, BatchStatus.COMPLETED, None)


def _fail_unlisted(ports: Ports, batch: Batch) -> int:
    """Jobs of the batch the files never reached -> FAILED. Only looked for when the counts do not
    add up, so a whole batch costs no extra writes."""
    counts = ports.store.count_batch_jobs(batch.batch_id)
    if sum(counts.get(s, 0) for s in JOB_TERMINAL) >= batch.job_count:
        return 0
    return _fail_jobs(ports, batch, UNLISTED.format(key=batch.input_key))


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
    _fail_jobs(ports, batch, reason)
    return _finish_batch(ports, batch, BatchStatus.FAILED, reason)


def _fail_jobs(ports: Ports, batch: Batch, reason: str) -> int:
    """The batch's unfinished jobs -> FAILED with `reason`; how many moved."""
    failed = 0
    ids = (j.job_id for j in queries.all_jobs(ports, batch_id=batch.batch_id))
    while chunk := list(islice(ids, CHUNK)):
        moved = ports.store.move_jobs(
            [JobMove(i, JobStatus.FAILED, error=reason, in_batch=batch.batch_id) for i in chunk],
            ports.clock.now(),
        )
        if moved:
            ports.publisher.publish_jobs(moved)
        failed += len(moved)
    return failed


def _finish_batch(ports: Ports, batch: Batch, status: BatchStatus, error: str | None) -> Batch | None:
    counts = ports.store.count_batch_jobs(batch.batch_id)
    changes: dict[str, Any] = {
        "completed_count": counts.get(JobStatus.COMPLETED, 0),
        "failed_count": counts.get(JobStatus.FAILED, 0),
    }
    if error is not None:
        changes["error"] = error
    moved = ports.store.move_batch(batch.batch_id, status, ports.clock.now(), **changes)
    if moved is not None:
        ports.publisher.publish_batch(moved)
        return moved
    return ports.store.get_batch(batch.batch_id)
