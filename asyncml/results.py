"""[5][6] results: apply a `.out` file to its jobs (COMPLETED / FAILED), settle a finished transform job."""

from __future__ import annotations

from itertools import islice

from asyncml import batch_files, record_errors
from asyncml.model import Batch, BatchStatus, JobMove, JobStatus
from asyncml.ports import Ports
from asyncml.transform import batch_job_ids, batches_of_job, mark_processing

CHUNK = 500  # moves per store call: bounded memory for any file size, few round trips
STOPPED = "the transform job was stopped before it wrote this batch's output"
NO_OUTPUT = "the transform job ended without an output file for this batch"


def apply_output(ports: Ports, output_key: str) -> Batch | None:
    """Apply `result/….out` to the jobs of its batch; None for a key that is not one of ours.

    Applying a file twice changes nothing: every move is conditional, so the second pass moves no
    job and publishes nothing."""
    batch_id = batch_files.batch_id_from_key(output_key)
    batch = ports.store.get_batch(batch_id) if batch_id else None
    if batch is None:
        return None
    ct = ports.settings.content_type
    outcomes = batch_files.pair_outputs(
        ports.bucket.read_lines(batch.input_key), ports.bucket.read_lines(output_key), ct
    )
    prefix = ports.settings.error_prefix
    while chunk := list(islice(outcomes, CHUNK)):
        moves = [record_errors.job_move(o, prefix, batch.batch_id) for o in chunk]
        moved = ports.store.move_jobs(moves, ports.clock.now())
        if moved:
            ports.publisher.publish_jobs(moved)
    return _finish_batch(ports, batch, BatchStatus.COMPLETED, None)


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
    ids = batch_job_ids(ports, batch.batch_id)
    while chunk := list(islice(ids, CHUNK)):
        moved = ports.store.move_jobs(
            [JobMove(i, JobStatus.FAILED, error=reason, in_batch=batch.batch_id) for i in chunk],
            ports.clock.now(),
        )
        if moved:
            ports.publisher.publish_jobs(moved)
    return _finish_batch(ports, batch, BatchStatus.FAILED, reason)


def _finish_batch(ports: Ports, batch: Batch, status: BatchStatus, error: str | None) -> Batch | None:
    counts = ports.store.count_batch_jobs(batch.batch_id)
    changes: dict[str, object] = {
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
