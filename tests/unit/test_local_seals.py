"""[3] the local runtime's seals: a retried job always gets a new batch, and a seal killed after its
claim is finished on restart (locally nothing replays a seal, so `Triggers` must)."""

from __future__ import annotations

import dataclasses
from typing import Any

from asyncml import batch_files, batcher, queries, results
from asyncml.local.triggers import Triggers
from asyncml.model import BatchStatus, JobMove, JobStatus
from asyncml.ports import Ports
from asyncml.retry import retry_jobs
from asyncml.submit import SubmitInput, submit_jobs
from tests.fakes import ScriptedRunner


class Resumable(ScriptedRunner):
    """The scripted runner, standing in for the emulator: a started transform resumes on restart."""

    def resume(self, job_name: str) -> bool:
        return True


def triggers(ports: Ports) -> Triggers:
    runner: Any = ports.runner
    return Triggers(ports, runner)


def test_a_job_retried_within_the_second_of_its_first_batch_is_sealed_again(ports: Ports) -> None:
    # GIVEN a batch that failed, its jobs retried, all at one instant of the (frozen) clock
    ids = [j.job_id for j in submit_jobs(ports, [SubmitInput("1,2"), SubmitInput("3,4")])]
    now = ports.clock.now()
    triggers(ports).seal(ids, now)
    first = queries.get_job(ports, ids[0])
    assert first is not None and first.batch_id is not None
    batch = ports.store.get_batch(first.batch_id)
    assert batch is not None
    results.fail_batch(ports, batch, "the model was down")
    retry_jobs(ports, ids)
    # WHEN the buffer seals them again with the same first-seen time
    triggers(ports).seal(ids, now)
    # THEN they are in a new batch, not left QUEUED behind the finished one
    again = [queries.get_job(ports, i) for i in ids]
    assert {(j.status, j.attempt) for j in again if j} == {(JobStatus.PROCESSING, 2)}
    assert {j.batch_id for j in again if j} != {first.batch_id}


def test_a_seal_killed_after_its_claim_is_finished_on_restart(ports: Ports) -> None:
    # GIVEN jobs a seal claimed (BATCHED in its batch) before the process was killed: no record, no file
    ids = [j.job_id for j in submit_jobs(ports, [SubmitInput("1,2"), SubmitInput("3,4")])]
    batch_id = batch_files.make_batch_id(ports.clock.now(), "killed")
    ports.store.move_jobs([JobMove(i, JobStatus.BATCHED, batch_id=batch_id) for i in ids], ports.clock.now())
    # WHEN the server starts again
    ports = dataclasses.replace(ports, runner=Resumable())
    picked = triggers(ports).recover(lambda jobs: None)
    # THEN that batch is recorded with every job it claimed, written, and started
    batch = ports.store.get_batch(batch_id)
    assert batch is not None and batch.job_count == 2
    lines = b"".join(ports.bucket.read_chunks(batch.input_key)).decode().splitlines()
    assert sorted(line.split(",")[0] for line in lines) == sorted(ids)
    assert batch.status is BatchStatus.PROCESSING and picked["started"] == 1


def test_a_seal_given_the_streams_payloads_writes_the_same_file_without_reading_the_jobs(
    ports: Ports,
) -> None:
    # GIVEN three queued jobs, one of them cancelled since it was put on the stream
    jobs = submit_jobs(ports, [SubmitInput("1,2"), SubmitInput("3,4"), SubmitInput("5,6")])
    ports.store.move_jobs([JobMove(jobs[1].job_id, JobStatus.CANCELLED)], ports.clock.now())
    reads: list[list[str]] = []
    real = ports.store.get_jobs

    def counted(ids: Any) -> Any:
        reads.append(list(ids))
        return real(ids)

    store: Any = ports.store
    store.get_jobs = counted
    # WHEN the buffer seals them with the payloads its records carried
    ids = [j.job_id for j in jobs]
    batch = batcher.seal_batch(ports, ids, seed="s", first_seen=ports.clock.now(),
                               payloads={j.job_id: j.payload for j in jobs})  # fmt: skip
    # THEN the file holds the two the claim took, with their payloads, and no job was read back
    assert batch is not None and batch.job_count == 2 and reads == []
    lines = b"".join(ports.bucket.read_chunks(batch.input_key)).decode().splitlines()
    assert lines == [f"{jobs[0].job_id},1,2", f"{jobs[2].job_id},5,6"]
    assert [j.status for j in real(ids)] == [JobStatus.BATCHED, JobStatus.CANCELLED, JobStatus.BATCHED]
