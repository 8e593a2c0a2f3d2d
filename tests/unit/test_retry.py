"""[1] retryJobs: FAILED jobs are queued again as new attempts, once each, and run in a new batch."""

from __future__ import annotations

import pytest

from asyncml import batcher, queries, results, transform
from asyncml.errors import Conflict, NotFound, ValidationError
from asyncml.model import Job, JobStatus
from asyncml.ports import Ports
from asyncml.retry import retry_jobs
from tests.unit.test_batch_to_results import play_transform, seal

REASON = "ClientError: Bad HTTP status received from algorithm: 500"


def failed_batch(ports: Ports, payloads: list[str]) -> list[str]:
    """Jobs whose transform failed: FAILED with the reason."""
    ids, batch = seal(ports, payloads)
    started = transform.start_batch(ports, batch.input_key)
    assert started is not None and started.transform_job_name
    results.on_transform_state(ports, started.transform_job_name, "Failed", REASON)
    return ids


def job(ports: Ports, job_id: str) -> Job:
    found = queries.get_job(ports, job_id)
    assert found is not None
    return found


def test_a_retried_job_is_queued_as_a_new_attempt_with_its_old_outcome_cleared(ports: Ports) -> None:
    ids = failed_batch(ports, ["1,2", "3,4"])
    old_batch = job(ports, ids[0]).batch_id
    (retried,) = retry_jobs(ports, [ids[0]])
    assert (retried.status, retried.attempt) == (JobStatus.QUEUED, 2)
    assert (retried.error, retried.result, retried.batch_id, retried.completed_at) == (None, None, None, None)
    assert ports.stream.put_ids[-1] == ids[0]  # type: ignore[attr-defined]
    last = ports.publisher.moves[-1]  # type: ignore[attr-defined]
    assert (last.status, last.job_ids) == (JobStatus.QUEUED, (ids[0],))  # one group move, not a Job
    assert job(ports, ids[1]).status is JobStatus.FAILED  # only the one asked for
    # The new attempt runs in a new batch and completes; the old batch lists it no more.
    batch = batcher.seal_batch(ports, [ids[0]], seed="retry", first_seen=ports.clock.now())
    assert batch is not None and batch.batch_id != old_batch
    results.apply_output(ports, play_transform(ports, batch))
    done = job(ports, ids[0])
    assert (done.status, done.attempt, done.result, done.error) == (JobStatus.COMPLETED, 2, "label-0", None)
    assert [j.job_id for j in queries.list_jobs(ports, batch_id=old_batch).items] == [ids[1]]


def test_retrying_twice_queues_a_job_once(ports: Ports) -> None:
    ids = failed_batch(ports, ["1,2"])
    first = retry_jobs(ports, ids)
    puts = len(ports.stream.put_ids)  # type: ignore[attr-defined]
    with pytest.raises(Conflict):
        retry_jobs(ports, ids)  # it is QUEUED now
    assert len(ports.stream.put_ids) == puts  # type: ignore[attr-defined]
    assert job(ports, ids[0]).attempt == first[0].attempt == 2


def test_a_retry_that_loses_a_race_answers_the_job_without_queuing_it_again(ports: Ports) -> None:
    ids = failed_batch(ports, ["1,2"])
    store = ports.store
    winner = store.retry_jobs(ids, ports.clock.now())  # the other caller's write lands after our check
    real = store.get_jobs

    def stale_read(job_ids: list[str]) -> list[Job]:
        store.get_jobs = real  # type: ignore[method-assign]  # only the check reads before the write
        return [j.replace(status=JobStatus.FAILED) for j in real(job_ids)]

    store.get_jobs = stale_read  # type: ignore[method-assign]
    (answer,) = retry_jobs(ports, ids)
    assert (answer.status, answer.attempt) == (JobStatus.QUEUED, winner[0].attempt)
    assert ports.stream.put_ids.count(ids[0]) == 1  # type: ignore[attr-defined]  # the submit only


def test_only_failed_jobs_can_be_retried_and_the_error_names_them(ports: Ports) -> None:
    failed = failed_batch(ports, ["1,2"])
    queued, _ = seal(ports, ["3,4"])
    with pytest.raises(Conflict) as exc:
        retry_jobs(ports, [*failed, *queued])
    assert exc.value.field == "jobIds"
    assert exc.value.message == f"jobIds {queued[0]!r} are BATCHED; only a FAILED job can be retried"
    assert job(ports, failed[0]).status is JobStatus.FAILED  # all or nothing


def test_unknown_ids_are_not_found_and_the_limits_are_named(ports: Ports) -> None:
    with pytest.raises(NotFound, match="jobIds 'nope' do not exist"):
        retry_jobs(ports, ["nope"])
    with pytest.raises(ValidationError, match="jobIds is empty; send 1 to 500 ids"):
        retry_jobs(ports, [])
    with pytest.raises(ValidationError, match="jobIds has 501 ids; the limit is 500 per call"):
        retry_jobs(ports, [f"j{i}" for i in range(501)])


def test_a_replay_of_the_finished_batch_does_not_swallow_a_retried_job(ports: Ports) -> None:
    ids, batch = seal(ports, ["1,2"])
    started = transform.start_batch(ports, batch.input_key)
    assert started is not None and started.transform_job_name
    results.on_transform_state(ports, started.transform_job_name, "Failed", REASON)
    retry_jobs(ports, ids)
    # The stream hands the batcher the first attempt's record again (at least once delivery).
    again = batcher.seal_batch(ports, ids, seed=ids[0], first_seen=batch.created_at)
    assert again is not None and again.batch_id == batch.batch_id
    assert job(ports, ids[0]).status is JobStatus.QUEUED  # left for its own, newer record


def test_a_replayed_output_of_the_old_batch_leaves_the_new_attempt_alone(ports: Ports) -> None:
    ids, batch = seal(ports, ["1,2", "3,4"])
    key = play_transform(ports, batch, skip=1)  # the model dropped the second record
    results.apply_output(ports, key)
    assert job(ports, ids[1]).status is JobStatus.FAILED
    retry_jobs(ports, [ids[1]])
    results.apply_output(ports, key)  # S3 delivers the old .out's event again
    again = job(ports, ids[1])
    assert (again.status, again.attempt, again.error) == (JobStatus.QUEUED, 2, None)
