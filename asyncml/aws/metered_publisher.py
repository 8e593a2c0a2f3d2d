"""[7] publish: a Publisher wrapper that counts finished records, their latency, batch sizes and durations."""

from __future__ import annotations

from collections.abc import Sequence

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit

from asyncml.model import Batch, BatchStatus, Job, JobsMoved, JobStatus
from asyncml.ports import Publisher

# CloudWatch's embedded metric format takes at most 100 values per metric in one document:
# a large .out file reports an even sample of its latencies, and exact counts.
MAX_SAMPLES = 100


class MeteredPublisher:
    """Every status move is published exactly once (the store's conditional writes decide which),
    so counting here counts each finished record once, whichever worker finished it."""

    def __init__(self, inner: Publisher, metrics: Metrics) -> None:
        self._inner, self._metrics = inner, metrics

    def publish_jobs(self, jobs: Sequence[Job]) -> None:
        self._inner.publish_jobs(jobs)
        done = [j for j in jobs if j.status in (JobStatus.COMPLETED, JobStatus.FAILED)]
        completed = sum(j.status is JobStatus.COMPLETED for j in done)
        if completed:
            self._metrics.add_metric("RecordsCompleted", MetricUnit.Count, completed)
        if len(done) > completed:
            self._metrics.add_metric("RecordsFailed", MetricUnit.Count, len(done) - completed)
        step = max(1, -(-len(done) // MAX_SAMPLES))
        for j in done[::step]:
            if j.completed_at is not None:
                ms = (j.completed_at - j.submitted_at).total_seconds() * 1000
                self._metrics.add_metric("SubmitToCompleteLatency", MetricUnit.Milliseconds, ms)

    def publish_moves(self, moves: JobsMoved) -> None:
        self._inner.publish_moves(moves)
        # What the event model saves: jobs moved per update sent (one update per MOVES_MAX_IDS ids).
        self._metrics.add_metric(f"Jobs{moves.status.value.title()}", MetricUnit.Count, len(moves.job_ids))

    def publish_batch(self, batch: Batch) -> None:
        self._inner.publish_batch(batch)
        # A batch is announced once when sealed and once when settled: its size, then its duration.
        if batch.status is BatchStatus.BATCHED:
            self._metrics.add_metric("BatchSize", MetricUnit.Count, batch.job_count)
        elif batch.status in (BatchStatus.COMPLETED, BatchStatus.FAILED):
            seconds = (batch.updated_at - batch.created_at).total_seconds()
            self._metrics.add_metric("BatchDuration", MetricUnit.Seconds, seconds)
            if batch.status is BatchStatus.FAILED:
                self._metrics.add_metric("BatchesFailed", MetricUnit.Count, 1)
