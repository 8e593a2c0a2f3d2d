"""[7] publish (local): Prometheus figures for GET /metrics, observed where every status move passes.

Every status move is published exactly once (the store's conditional writes decide which), so a
Publisher wrapper sees each sealed batch, finished batch and finished record once, as
`aws/metered_publisher.py` does for CloudWatch. Stocks (jobs per status, queue depth, subscribers)
are read when scraped, so they are right however the process got there (a restart included)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from asyncml.model import Batch, BatchStatus, Job, JobsMoved, JobStatus
from asyncml.ports import JobStore, Publisher

if TYPE_CHECKING:
    from asyncml.local.broadcast import Broadcast

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Seconds from a few hundred milliseconds (a small local batch) to an hour (a large SageMaker job).
SECONDS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)
SIZES = (1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000)  # up to Kinesis' BatchSize limit
_FINISHED = (JobStatus.COMPLETED, JobStatus.FAILED)


class Metrics:
    """One registry per runtime (not prometheus_client's global one), so two servers in one process,
    as in the tests, never mix their figures."""

    def __init__(self, store: JobStore, queue_depth: Callable[[], float], topics: Broadcast) -> None:
        self.registry = CollectorRegistry()
        self.batch_size = Histogram(
            "asyncml_batch_size", "Jobs per sealed batch", buckets=SIZES, registry=self.registry
        )
        self.batch_duration = Histogram(
            "asyncml_batch_duration_seconds",
            "From a batch's seal to its last record's status, by how the batch ended",
            ["status"],
            buckets=SECONDS,
            registry=self.registry,
        )
        self.latency = Histogram(
            "asyncml_job_latency_seconds",
            "From submitJob to COMPLETED or FAILED, by final status",
            ["status"],
            buckets=SECONDS,
            registry=self.registry,
        )
        self.records = Counter(
            "asyncml_records_finished",
            "Records that ended COMPLETED or FAILED",
            ["status"],
            registry=self.registry,
        )
        self.model_errors = Counter(
            "asyncml_model_errors",
            "Records that ended FAILED (the model or the transform failed them)",
            registry=self.registry,
        )
        self.moves = Counter(
            "asyncml_job_moves",
            "Jobs that moved to QUEUED, BATCHED or PROCESSING (published in groups, on onJobsMoved)",
            ["status"],
            registry=self.registry,
        )
        self.registry.register(_Stocks(store, queue_depth, topics))

    def render(self) -> bytes:
        return generate_latest(self.registry)

    def observe_jobs(self, jobs: Sequence[Job]) -> None:
        for job in jobs:
            if job.status not in _FINISHED:
                continue
            status = job.status.value
            self.records.labels(status).inc()
            if job.status is JobStatus.FAILED:
                self.model_errors.inc()
            if job.completed_at is not None:
                self.latency.labels(status).observe((job.completed_at - job.submitted_at).total_seconds())

    def observe_moves(self, moves: JobsMoved) -> None:
        self.moves.labels(moves.status.value).inc(len(moves.job_ids))

    def observe_batch(self, batch: Batch) -> None:
        if batch.status is BatchStatus.BATCHED:
            self.batch_size.observe(batch.job_count)
        elif batch.status in (BatchStatus.COMPLETED, BatchStatus.FAILED):
            seconds = (batch.updated_at - batch.created_at).total_seconds()
            self.batch_duration.labels(batch.status.value).observe(seconds)


class MeteredPublisher:
    """The runtime's Publisher: hands every update on, then counts it."""

    def __init__(self, inner: Publisher, metrics: Metrics) -> None:
        self._inner, self._metrics = inner, metrics

    def publish_jobs(self, jobs: Sequence[Job]) -> None:
        self._inner.publish_jobs(jobs)
        self._metrics.observe_jobs(jobs)

    def publish_moves(self, moves: JobsMoved) -> None:
        self._inner.publish_moves(moves)
        self._metrics.observe_moves(moves)

    def publish_batch(self, batch: Batch) -> None:
        self._inner.publish_batch(batch)
        self._metrics.observe_batch(batch)


class _Stocks(Collector):
    def __init__(self, store: JobStore, queue_depth: Callable[[], float], topics: Broadcast) -> None:
        self._store, self._queue_depth, self._topics = store, queue_depth, topics

    def collect(self) -> Iterator[Metric]:
        jobs = GaugeMetricFamily("asyncml_jobs", "Stored jobs in each status", labels=["status"])
        counts = self._store.count_jobs_by_status()  # one GROUP BY in SQLite
        for status in JobStatus:
            jobs.add_metric([status.value], counts.get(status, 0))
        yield jobs
        yield GaugeMetricFamily(
            "asyncml_queue_depth", "Jobs in the buffer waiting to be sealed", value=self._queue_depth()
        )
        subscribers = GaugeMetricFamily(
            "asyncml_subscribers", "Open subscriptions, by subscription field", labels=["field"]
        )
        subscribers.add_metric(["onJobUpdated"], len(self._topics.jobs))
        subscribers.add_metric(["onJobsMoved"], len(self._topics.moves))
        subscribers.add_metric(["onBatchUpdated"], len(self._topics.batches))
        yield subscribers
