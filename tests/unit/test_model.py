from __future__ import annotations

import dataclasses
import pickle
from datetime import UTC, datetime

import pytest

from asyncml.model import BatchStatus, Job, JobStatus, can_move_batch, can_move_job

Q, B, P, C, F, X = (
    JobStatus[s] for s in ("QUEUED", "BATCHED", "PROCESSING", "COMPLETED", "FAILED", "CANCELLED")
)


@pytest.mark.parametrize(("current", "new"), [(Q, B), (B, P), (P, C), (P, F), (Q, X), (B, C), (Q, F)])
def test_forward_moves_are_allowed(current: JobStatus, new: JobStatus) -> None:
    assert can_move_job(current, new)


@pytest.mark.parametrize(
    ("current", "new"), [(C, P), (P, B), (B, Q), (C, F), (F, C), (B, X), (P, X), (X, B), (C, C), (P, P)]
)
def test_a_late_or_repeated_event_never_moves_a_job_back(current: JobStatus, new: JobStatus) -> None:
    assert not can_move_job(current, new)


def test_finished_batches_stay_finished() -> None:
    assert can_move_batch(BatchStatus.BATCHED, BatchStatus.COMPLETED)
    assert not can_move_batch(BatchStatus.COMPLETED, BatchStatus.PROCESSING)
    assert not can_move_batch(BatchStatus.FAILED, BatchStatus.COMPLETED)


def test_a_job_crosses_to_another_process_whole() -> None:
    # The local pipeline process pickles every job it ends to the API's: every field, none dropped
    # (a field added to Job must be added to its __reduce__ too, or this fails).
    t = datetime(2026, 12, 2, 12, tzinfo=UTC)
    values = {f.name: f"v-{f.name}" for f in dataclasses.fields(Job)}
    values |= {
        "status": JobStatus.FAILED,
        "submitted_at": t,
        "updated_at": t,
        "completed_at": t,
        "attempt": 3,
    }
    job = Job(**values)
    assert pickle.loads(pickle.dumps(job)) == job
    assert len(job.__reduce__()[1]) == len(dataclasses.fields(Job))
