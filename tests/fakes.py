"""Hand-written doubles where local adapters cannot stand in: time, transform outcomes, a publish log."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from asyncml.model import Batch, Job
from asyncml.ports import TransformStartRefused


class FakeClock:
    def __init__(self, start: datetime | None = None) -> None:
        self.current = start or datetime(2026, 11, 25, 12, 0, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.current

    def advance(self, seconds: float) -> None:
        self.current += timedelta(seconds=seconds)


class RecordingPublisher:
    """Records what the core asked to publish, so tests read `published_statuses(...)`."""

    def __init__(self) -> None:
        self.jobs: list[Job] = []
        self.batches: list[Batch] = []

    def publish_jobs(self, jobs: Sequence[Job]) -> None:
        self.jobs.extend(jobs)

    def publish_batch(self, batch: Batch) -> None:
        self.batches.append(batch)

    def statuses(self, job_id: str) -> list[str]:
        return [j.status.value for j in self.jobs if j.job_id == job_id]


class ScriptedRunner:
    """A TransformRunner that records requests; the test decides what the transform did, and with
    `refuse` what SageMaker answers CreateTransformJob instead (e.g. "ResourceLimitExceeded: ...")."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.refuse: str | None = None
        self.attempts: list[str] = []  # every name asked for, refused or not

    def start(self, request: dict[str, Any]) -> None:
        self.attempts.append(request["TransformJobName"])
        if self.refuse:
            raise TransformStartRefused(self.refuse)
        if any(r["TransformJobName"] == request["TransformJobName"] for r in self.requests):
            return  # a name already started counts as started, as on SageMaker
        self.requests.append(request)


class ListStream:
    def __init__(self) -> None:
        self.put_ids: list[str] = []

    def put(self, jobs: Sequence[Job]) -> None:
        self.put_ids.extend(j.job_id for j in jobs)
