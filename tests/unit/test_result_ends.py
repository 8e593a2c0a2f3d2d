"""Exact batch counts on any pass, results too large for a job, and one refused record among many."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import pytest

from asyncml import batch_files, queries, record_errors, results, transform
from asyncml.model import Batch, BatchStatus, Job, JobMove, JobStatus
from asyncml.ports import Ports
from asyncml.retry import retry_jobs
from tests.unit.test_batch_to_results import read_lines, seal

HUGE = "x" * 300_000  # over AppSync's 240 KB subscription message once published whole


def write_out(ports: Ports, batch: Batch, outputs: dict[int, str]) -> str:
    """The `.out` as Batch Transform joins CSV, with a line only for the records in `outputs`."""
    lines = read_lines(ports, batch.input_key)
    key = batch_files.output_key(batch.input_key)
    ports.bucket.put(key, "".join(f"{lines[i]},{out}\n" for i, out in sorted(outputs.items())).encode())
    return key


def job(ports: Ports, job_id: str) -> Job:
    found = queries.get_job(ports, job_id)
    assert found is not None
    return found


class StoreDies:
    """The store goes away after `ok` move calls (a Lambda timeout mid-file, a lost connection)."""

    def __init__(self, ports: Ports, ok: int) -> None:
        self._store, self._ok = ports.store, ok

    def __getattr__(self, name: str) -> object:
        return getattr(self._store, name)

    def move_jobs(self, moves: Sequence[JobMove], now: datetime) -> list[Job]:
        if self._ok <= 0:
            raise ConnectionError("the store went away")
        self._ok -= 1
        return self._store.move_jobs(moves, now)


def test_counts_are_exact_after_a_crashed_pass_and_a_retry_in_between(
    ports: Ports, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN 5 jobs whose .out has no line for the second, applied 2 records at a time
    monkeypatch.setattr(results, "CHUNK", 2)
    ids, batch = seal(ports, ["1", "2", "3", "4", "5"])
    transform.start_batch(ports, batch.input_key)
    key = write_out(ports, batch, {0: "a", 2: "c", 3: "d", 4: "e"})
    # WHEN the first pass dies after its first chunk, the client retries the job that failed in it,
    # and S3 delivers the event again
    dying = Ports(**{**ports.__dict__, "store": StoreDies(ports, ok=1)})
    with pytest.raises(ConnectionError):
        results.apply_output(dying, key)
    assert job(ports, ids[1]).status is JobStatus.FAILED
    retry_jobs(ports, [ids[1]])
    done = results.apply_output(ports, key)
    # THEN the batch counts what its records came to: 4 completed, 1 failed (since retried)
    assert done is not None and done.status is BatchStatus.FAILED
    assert (done.completed_count, done.failed_count) == (4, 1)
    assert job(ports, ids[1]).status is JobStatus.QUEUED
    # and a third delivery changes nothing
    assert results.apply_output(ports, key) == done


def test_a_failed_transform_counts_the_jobs_an_earlier_output_completed(ports: Ports) -> None:
    ids, batch = seal(ports, ["1", "2", "3"])
    started = transform.start_batch(ports, batch.input_key)
    assert started is not None and started.transform_job_name
    ports.store.move_jobs(
        [JobMove(ids[0], JobStatus.COMPLETED, result="a", in_batch=batch.batch_id)], ports.clock.now()
    )
    (failed,) = results.on_transform_state(ports, started.transform_job_name, "Stopped", None)
    assert (failed.completed_count, failed.failed_count) == (1, 2)


def test_a_result_too_large_for_the_job_is_kept_in_the_bucket_and_the_rest_completes(ports: Ports) -> None:
    ids, batch = seal(ports, ["1", "2", "3"])
    key = write_out(ports, batch, {0: "a", 1: HUGE, 2: "c"})
    done = results.apply_output(ports, key)
    assert done is not None and (done.status, done.completed_count, done.failed_count) == (
        BatchStatus.COMPLETED,
        3,
        0,
    )
    big = job(ports, ids[1])
    assert (big.status, big.result, big.result_key) == (
        JobStatus.COMPLETED,
        None,
        f"job-results/{batch.batch_id}/{ids[1]}",
    )
    assert big.result_key is not None and b"".join(ports.bucket.read_chunks(big.result_key)).decode() == HUGE
    assert [job(ports, i).result for i in (ids[0], ids[2])] == ["a", "c"]
    published = [j for j in ports.publisher.jobs if j.job_id == ids[1]]  # type: ignore[attr-defined]
    assert published[-1].status is JobStatus.COMPLETED and published[-1].result_key == big.result_key


def test_a_record_the_store_refuses_fails_alone(ports: Ports) -> None:
    ids, batch = seal(ports, ["1", "2", "3"])
    key = write_out(ports, batch, {0: "a", 1: "refused", 2: "c"})
    store = ports.store

    class Picky:
        def __getattr__(self, name: str) -> object:
            return getattr(store, name)

        def move_jobs(self, moves: Sequence[JobMove], now: datetime) -> list[Job]:
            if any(m.result == "refused" for m in moves):
                raise ValueError("Item size has exceeded the maximum allowed size")
            return store.move_jobs(moves, now)

    done = results.apply_output(Ports(**{**ports.__dict__, "store": Picky()}), key)
    assert done is not None and (done.completed_count, done.failed_count) == (2, 1)
    refused = job(ports, ids[1])
    assert refused.status is JobStatus.FAILED and "Item size has exceeded" in (refused.error or "")
    assert [job(ports, i).status for i in (ids[0], ids[2])] == [JobStatus.COMPLETED] * 2


def test_a_long_error_line_is_cut(ports: Ports) -> None:
    line = "ERROR: " + "y" * 50_000
    move = record_errors.job_move(batch_files.Outcome("j", line, None), "ERROR")
    assert move.status is JobStatus.FAILED and move.error is not None
    assert move.error.startswith(line[:8192]) and len(move.error) < 8300
    assert "50007 characters" in move.error


def test_what_fits_in_a_job_counts_the_payload_and_escaping() -> None:
    small = batch_files.Outcome("j", None, None, line_bytes=100)
    assert record_errors.fits_in_job(small, "r" * 190_000)
    assert not record_errors.fits_in_job(
        batch_files.Outcome("j", None, None, line_bytes=150_000), "r" * 60_000
    )
    assert not record_errors.fits_in_job(small, "\x01" * 40_000)  # 6 bytes each as JSON


def test_a_late_state_event_of_a_settled_batch_reads_none_of_its_jobs(ports: Ports) -> None:
    # GIVEN a batch its .out's S3 event settled
    ids, batch = seal(ports, ["1", "2"])
    started = transform.start_batch(ports, batch.input_key)
    assert started is not None and started.transform_job_name
    results.apply_output(ports, write_out(ports, batch, {0: "a", 1: "b"}))
    listed: list[object] = []
    store_list = ports.store.list_jobs

    def spying_list(**kw: object) -> object:
        listed.append(kw)
        return store_list(**kw)  # type: ignore[arg-type]

    ports.store.list_jobs = spying_list  # type: ignore[method-assign]
    published = len(ports.publisher.jobs)  # type: ignore[attr-defined]
    # WHEN a Stopped event (out of order: a stop asked too late) and a repeated Completed event arrive
    for status in ("Stopped", "Completed"):
        (settled,) = results.on_transform_state(ports, started.transform_job_name, status, "late")
        # THEN the batch stays as it ended, nothing is published, and its jobs are not listed again
        assert (settled.status, settled.completed_count, settled.error) == (BatchStatus.COMPLETED, 2, None)
    assert listed == [] and len(ports.publisher.jobs) == published  # type: ignore[attr-defined]
    assert {job(ports, i).status for i in ids} == {JobStatus.COMPLETED}
