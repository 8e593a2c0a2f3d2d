"""The core's whole-list reads walk every page of the store, however small the page."""

from __future__ import annotations

import pytest

from asyncml import batcher, queries, results
from asyncml.model import BatchStatus, JobStatus
from asyncml.ports import Ports
from asyncml.submit import SubmitInput, submit_jobs


@pytest.fixture
def two_per_page(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(queries, "MAX_LIMIT", 2)


@pytest.mark.usefixtures("two_per_page")
def test_all_jobs_reads_past_the_first_page_newest_first(ports: Ports) -> None:
    jobs = submit_jobs(ports, [SubmitInput(f"{i},1") for i in range(5)])
    listed = list(queries.all_jobs(ports, status=JobStatus.QUEUED))
    assert [j.job_id for j in listed] == [j.job_id for j in reversed(jobs)]


@pytest.mark.usefixtures("two_per_page")
def test_all_batches_reads_past_the_first_page(ports: Ports) -> None:
    for i in range(3):
        (job,) = submit_jobs(ports, [SubmitInput(f"{i},1")])
        batcher.seal_batch(ports, [job.job_id], seed=f"s{i}", first_seen=ports.clock.now())
    assert len(list(queries.all_batches(ports, BatchStatus.BATCHED))) == 3
    assert list(queries.all_batches(ports, BatchStatus.PROCESSING)) == []


@pytest.mark.usefixtures("two_per_page")
def test_a_failed_batch_larger_than_a_page_fails_every_job(ports: Ports) -> None:
    jobs = submit_jobs(ports, [SubmitInput(f"{i},1") for i in range(5)])
    ids = [j.job_id for j in jobs]
    batch = batcher.seal_batch(ports, ids, seed=ids[0], first_seen=ports.clock.now())
    assert batch is not None
    results.fail_batch(ports, batch, "the transform job failed")
    assert {j.status for j in ports.store.get_jobs(ids)} == {JobStatus.FAILED}
