"""[2]->[5] triggers (local): what template.yaml's event sources do: seal, start, settle, the timer."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import defaultdict
from datetime import datetime
from typing import Any

from asyncml import batch_files, batcher, queries, results, transform, transform_jobs
from asyncml.local.emulator_runner import EmulatorRunner, UnreadableRequest
from asyncml.model import BatchStatus, JobStatus
from asyncml.ports import Ports

log = logging.getLogger(__name__)

LOST = "the transform job of this batch was lost when the server stopped"
NEVER_WRITTEN = (
    "the batch file was never written (the server stopped while sealing); its jobs were queued again"
)


class Triggers:
    def __init__(self, ports: Ports, runner: EmulatorRunner) -> None:
        self.ports = ports
        self.runner = runner

    def seal(self, job_ids: list[str], first_seen: datetime, payloads: dict[str, str] | None = None) -> None:
        """Kinesis event source -> batcher; in trigger "s3" the new file starts its transform at once."""
        # A fresh seed per seal: locally nothing replays a seal (a killed one is finished by
        # `recover`), and a job retried within the second of its first batch must get a new batch.
        seed = uuid.uuid4().hex
        batch = batcher.seal_batch(self.ports, job_ids, seed=seed, first_seen=first_seen, payloads=payloads)
        if batch is not None:
            log.info("batch %s sealed: %d job(s)", batch.batch_id, batch.job_count)
        if batch is not None and self.ports.settings.trigger == "s3":
            transform.start_batch(self.ports, batch.input_key)

    async def transform_done(self, job_name: str, describe: dict[str, Any]) -> None:
        """The emulator's answer plays both the `.out` S3 events and the EventBridge state change."""
        status = str(describe.get("TransformJobStatus", "Failed"))
        reason = describe.get("FailureReason")
        try:
            # Applying a large .out reads the file and moves thousands of jobs: in a thread, so the API
            # keeps answering (the store locks, and the Broadcast delivers on the loop).
            settled = await asyncio.to_thread(
                results.on_transform_state, self.ports, job_name, status, reason
            )
        except Exception as exc:  # e.g. an output the disk cannot give back: its batches end visibly
            log.exception("settling transform job %s failed", job_name)
            for batch in transform_jobs.batches_of_job(self.ports, job_name):
                out_key = batch_files.output_key(batch.input_key)
                results.fail_batch(self.ports, batch, f"applying {out_key} failed: {exc}")
            return
        completed, failed = sum(b.completed_count for b in settled), sum(b.failed_count for b in settled)
        done = f"{len(settled)} batch(es), {completed} completed, {failed} failed"
        took = _seconds(describe.get("TransformStartTime"), describe.get("TransformEndTime"))
        if status == "Failed":
            log.warning("transform %s failed%s: %s; %s", job_name, took, reason, done)
        else:
            log.info("transform %s %s%s: %s", job_name, status.lower(), took, done)

    async def schedule_loop(self) -> None:
        """EventBridge's rate rule (either trigger): re-drive refused or cut-off starts, and in
        trigger "schedule" start one transform over the waiting batches once they are enough."""
        while True:
            await asyncio.sleep(self.ports.settings.schedule_seconds)
            try:
                transform.tick(self.ports)  # on the loop: the runner starts its jobs there
            except Exception:
                log.exception("scheduled transform start failed; the next tick tries again")

    def recover(self, requeue: Any) -> dict[str, int]:
        """Pick up what a killed process left: QUEUED jobs go back in the buffer, sealed batches not
        yet started are started, and transforms that were running are applied or run again."""
        ports = self.ports
        queued = list(queries.all_jobs(ports, status=JobStatus.QUEUED))
        queued.reverse()  # the store lists newest first; the buffer keeps arrival order
        requeue(queued)
        # Jobs claimed by a seal killed before it recorded its batch: finish that seal.
        claimed = defaultdict(list)
        for job in queries.all_jobs(ports, status=JobStatus.BATCHED):
            if job.batch_id is not None:
                claimed[job.batch_id].append(job)
        for batch_id, jobs in claimed.items():
            batcher.finish_claimed(ports, batch_id, list(reversed(jobs)))
        started = 0
        for batch in list(queries.all_batches(ports, BatchStatus.BATCHED)):
            try:
                if not ports.bucket.exists(batch.input_key):
                    results.fail_batch(ports, batch, NEVER_WRITTEN)
                elif ports.settings.trigger == "s3" and transform.start_batch(ports, batch.input_key):
                    started += 1
            except Exception:  # e.g. a full disk: the batch stays BATCHED for the next start
                log.exception("could not start batch %s; the next start tries again", batch.batch_id)
        applied = 0
        resuming: set[str] = set()
        for batch in list(queries.all_batches(ports, BatchStatus.PROCESSING)):
            # One bad file fails its own batch, with the file named; it never stops the start.
            out_key = batch_files.output_key(batch.input_key)
            try:
                if ports.bucket.exists(out_key):
                    results.apply_output(ports, out_key)
                    applied += 1
                elif batch.transform_job_name and (
                    batch.transform_job_name in resuming or self.runner.resume(batch.transform_job_name)
                ):
                    resuming.add(batch.transform_job_name)
                else:
                    results.fail_batch(ports, batch, LOST)
            except UnreadableRequest as exc:
                results.fail_batch(ports, batch, f"{exc}; the transform cannot run again")
            except Exception as exc:
                log.exception("could not recover batch %s", batch.batch_id)
                results.fail_batch(ports, batch, f"recovering from {out_key} failed: {exc}")
        resumed = len(resuming)
        return {"requeued": len(queued), "started": started, "applied": applied, "resumed": resumed}


def _seconds(started: object, ended: object) -> str:
    if isinstance(started, datetime) and isinstance(ended, datetime):
        return f" in {(ended - started).total_seconds():.1f} s"
    return ""
