"""Hand-written doubles where local adapters cannot stand in: time, transform outcomes, a publish log."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from asyncml.model import JOB_TERMINAL, Batch, Job, JobsMoved
from asyncml.ports import TransformStartRefused


class FakeClock:
    def __init__(self, start: datetime | None = None) -> None:
        self.current = start or datetime(2026, 11, 25, 12, 0, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.current

    def advance(self, seconds: float) -> None:
        self.current += timedelta(seconds=seconds)


class RecordingPublisher:
    """Records what the core asked to publish, so tests read `statuses(job_id)`: every status a
    subscriber watching that one job would have seen, from group moves and ends alike."""

    def __init__(self) -> None:
        self.jobs: list[Job] = []  # ends only (the event model)
        self.moves: list[JobsMoved] = []
        self.batches: list[Batch] = []
        self._log: list[tuple[str, frozenset[str]]] = []  # (status, job ids), in publish order

    def publish_jobs(self, jobs: Sequence[Job]) -> None:
        early = [j.status.value for j in jobs if j.status not in JOB_TERMINAL]
        assert not early, f"publish_jobs is for ends only; got {early} (use publish_moves)"
        self.jobs.extend(jobs)
        self._log.extend((j.status.value, frozenset([j.job_id])) for j in jobs)

    def publish_moves(self, moves: JobsMoved) -> None:
        assert moves.job_ids, "an empty JobsMoved is never published"
        self.moves.append(moves)
        self._log.append((moves.status.value, frozenset(moves.job_ids)))

    def publish_batch(self, batch: Batch) -> None:
        self.batches.append(batch)

    def statuses(self, job_id: str) -> list[str]:
        return [status for status, ids in self._log if job_id in ids]


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
