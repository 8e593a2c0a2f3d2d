"""[2]->[5] triggers (local): what template.yaml's event sources do: seal, start, settle, the timer."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any

from asyncml import batch_files, batcher, results, transform
from asyncml.local.emulator_runner import EmulatorRunner
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

    def seal(self, job_ids: list[str], first_seen: datetime) -> None:
        """Kinesis event source -> batcher; in trigger "s3" the new file starts its transform at once."""
        batch = batcher.seal_batch(self.ports, job_ids, seed=job_ids[0], first_seen=first_seen)
        if batch is not None and self.ports.settings.trigger == "s3":
            transform.start_batch(self.ports, batch.input_key)

    async def transform_done(self, job_name: str, describe: dict[str, Any]) -> None:
        """The emulator's answer plays both the `.out` S3 events and the EventBridge state change."""
        status = str(describe.get("TransformJobStatus", "Failed"))
        if status == "Failed":
            log.warning("transform job %s failed: %s", job_name, describe.get("FailureReason"))
        # Applying a large .out reads the file and moves thousands of jobs: in a thread, so the API
        # keeps answering (the store locks, and the Broadcast delivers on the loop).
        await asyncio.to_thread(
            results.on_transform_state, self.ports, job_name, status, describe.get("FailureReason")
        )

    async def schedule_loop(self) -> None:
        """EventBridge's rate rule: one transform over every batch not yet started."""
        while True:
            await asyncio.sleep(self.ports.settings.schedule_seconds)
            try:
                transform.start_scheduled(self.ports)
            except Exception:
                log.exception("scheduled transform start failed; the next tick tries again")

    def recover(self, requeue: Any) -> dict[str, int]:
        """Pick up what a killed process left: QUEUED jobs go back in the buffer, sealed batches not
        yet started are started, and transforms that were running are applied or run again."""
        ports = self.ports
        queued = []
        token: str | None = None
        while True:
            page = ports.store.list_jobs(status=JobStatus.QUEUED, batch_id=None, limit=1000, next_token=token)
            queued.extend(page.items)
            token = page.next_token
            if not token:
                break
        queued.reverse()  # the store lists newest first; the buffer keeps arrival order
        requeue(queued)
        started = 0
        for batch in list(transform.iter_batches(ports, BatchStatus.BATCHED)):
            if not ports.bucket.exists(batch.input_key):
                results.fail_batch(ports, batch, NEVER_WRITTEN)
            elif ports.settings.trigger == "s3" and transform.start_batch(ports, batch.input_key):
                started += 1
        applied = 0
        resuming: set[str] = set()
        for batch in list(transform.iter_batches(ports, BatchStatus.PROCESSING)):
            out_key = batch_files.output_key(batch.input_key)
            if ports.bucket.exists(out_key):
                results.apply_output(ports, out_key)
                applied += 1
            elif batch.transform_job_name and (
                batch.transform_job_name in resuming or self.runner.resume(batch.transform_job_name)
            ):
                resuming.add(batch.transform_job_name)
            else:
                results.fail_batch(ports, batch, LOST)
        resumed = len(resuming)
        return {"requeued": len(queued), "started": started, "applied": applied, "resumed": resumed}
