"""The local runtime end to end, no HTTP: buffer, batch file, emulator + demo model, results, broadcast."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from asyncml import batch_files, batcher, queries, results, transform_jobs
from asyncml.local.wiring import LocalRuntime, build_runtime
from asyncml.model import BatchStatus, Job, JobStatus
from asyncml.settings import Settings
from asyncml.submit import SubmitInput, cancel_job, submit_jobs
from asyncml.transform_emulator.demo_model import DemoModel, start_demo_model

IRIS = ["5.1,3.5,1.4,0.2", "6.7,3.0,5.2,2.3", "5.9,3.0,4.2,1.5"]


@pytest.fixture(scope="module")
def model() -> Iterator[DemoModel]:
    with start_demo_model() as m:
        yield m


def make_settings(tmp_path: Path, model: DemoModel, **changes: object) -> Settings:
    base = {"data_dir": tmp_path / "data", "batch_size": 3, "batch_window": 0.2, "model_url": model.url}
    base.update(changes)
    return Settings(**base)  # type: ignore[arg-type]


@pytest.fixture
async def runtime(tmp_path: Path, model: DemoModel) -> AsyncIterator[LocalRuntime]:
    rt = build_runtime(make_settings(tmp_path, model))
    await rt.start()
    yield rt
    await rt.stop()


async def wait_terminal(rt: LocalRuntime, ids: list[str], within: float = 15) -> list[Job]:
    async def poll() -> list[Job]:
        while True:
            jobs = rt.ports.store.get_jobs(ids)
            if all(j.status in (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED) for j in jobs):
                return jobs
            await asyncio.sleep(0.05)

    return await asyncio.wait_for(poll(), within)


async def test_every_job_completes_with_the_models_whole_output(runtime: LocalRuntime) -> None:
    updates: list[tuple[str, list[str]]] = []
    moves = runtime.broadcast.moves.add({}, lambda f, _memo: updates.append((f["status"], f["jobIds"])))
    ids = [j.job_id for j in submit_jobs(runtime.ports, [SubmitInput(p) for p in IRIS])]
    jobs = await wait_terminal(runtime, ids)
    runtime.broadcast.moves.remove(moves)
    assert [j.status for j in jobs] == [JobStatus.COMPLETED] * 3
    labels = [j.result.split(",")[0] for j in jobs]  # type: ignore[union-attr]
    assert labels == ["setosa", "virginica", "versicolor"]
    assert all(len(j.result.split(",")) == 4 for j in jobs)  # type: ignore[union-attr]  # class + 3 probabilities
    seen = [status for status, job_ids in updates if ids[0] in job_ids]
    assert seen == ["QUEUED", "BATCHED", "PROCESSING", "COMPLETED"]
    # the three moved together: one update per move, not one per job
    assert [s for s, _ in updates].count("BATCHED") == 1
    batch = queries.get_batch(runtime.ports, jobs[0].batch_id or "")
    assert batch is not None and batch.status is BatchStatus.COMPLETED and batch.completed_count == 3


async def test_the_window_seals_a_partial_batch(runtime: LocalRuntime) -> None:
    ids = [j.job_id for j in submit_jobs(runtime.ports, [SubmitInput(IRIS[0])])]
    (job,) = await wait_terminal(runtime, ids)
    assert job.status is JobStatus.COMPLETED
    batch = queries.get_batch(runtime.ports, job.batch_id or "")
    assert batch is not None and batch.job_count == 1


async def test_a_failing_model_fails_every_job_of_the_batch_with_the_reason(
    tmp_path: Path, model: DemoModel
) -> None:
    rt = build_runtime(
        make_settings(tmp_path, model, model_url="http://127.0.0.1:9")
    )  # nothing listens there
    rt.runner.ready_timeout_s = 0.5
    await rt.start()
    try:
        ids = [j.job_id for j in submit_jobs(rt.ports, [SubmitInput(p) for p in IRIS])]
        jobs = await wait_terminal(rt, ids)
    finally:
        await rt.stop()
    assert {j.status for j in jobs} == {JobStatus.FAILED}
    assert all("did not answer GET /ping" in (j.error or "") for j in jobs)


async def test_schedule_trigger_runs_one_job_over_every_waiting_batch(
    tmp_path: Path, model: DemoModel
) -> None:
    rt = build_runtime(
        make_settings(
            tmp_path, model, trigger="schedule", schedule_seconds=0.5, batch_size=1, transform_min_records=1
        )
    )
    # Sealed before the timer runs, so its first tick finds all three however slow the machine is
    # (sealing them after the start would race the 0.5 s tick).
    ids = [j.job_id for j in submit_jobs(rt.ports, [SubmitInput(p) for p in IRIS])]
    for i in ids:
        batcher.seal_batch(rt.ports, [i], seed=i, first_seen=rt.ports.clock.now())
    await rt.start()
    try:
        jobs = await wait_terminal(rt, ids)
    finally:
        await rt.stop()
    assert {j.status for j in jobs} == {JobStatus.COMPLETED}
    assert len({j.batch_id for j in jobs}) == 3
    assert len({j.transform_job_name for j in jobs}) == 1


async def test_restart_picks_up_queued_jobs_unstarted_batches_and_unapplied_outputs(
    tmp_path: Path, model: DemoModel
) -> None:
    settings = make_settings(tmp_path, model)
    # A previous process accepted jobs, sealed a batch, and ran a transform, then died before
    # buffering, starting or applying anything further (the store and files are all it left).
    rt = build_runtime(settings)
    queued = submit_jobs(rt.ports, [SubmitInput(IRIS[0])])
    sealed = submit_jobs(rt.ports, [SubmitInput(IRIS[1])])
    b = batcher.seal_batch(rt.ports, [sealed[0].job_id], seed="s", first_seen=rt.ports.clock.now())
    cancelled = submit_jobs(rt.ports, [SubmitInput(IRIS[2])])
    cancel_job(rt.ports, cancelled[0].job_id)
    rt.store.close()
    assert b is not None and not rt.ports.bucket.exists(batch_files.output_key(b.input_key))

    again = build_runtime(settings)
    await again.start()
    try:
        jobs = await wait_terminal(again, [queued[0].job_id, sealed[0].job_id, cancelled[0].job_id])
    finally:
        await again.stop()
    assert [j.status for j in jobs] == [JobStatus.COMPLETED, JobStatus.COMPLETED, JobStatus.CANCELLED], jobs
    assert again.recovered["requeued"] == 1 and again.recovered["started"] == 1


async def test_restart_applies_an_output_left_unapplied_and_publishes_it_once(
    tmp_path: Path, model: DemoModel
) -> None:
    settings = make_settings(tmp_path, model)
    # A previous process ran the transform (the .out is on disk) and died before applying it.
    rt = build_runtime(settings)
    jobs = submit_jobs(rt.ports, [SubmitInput(p) for p in IRIS])
    ids = [j.job_id for j in jobs]
    b = batcher.seal_batch(rt.ports, ids, seed="s", first_seen=rt.ports.clock.now())
    assert b is not None
    transform_jobs.mark_processing(rt.ports, [b], transform_jobs.job_name_for_batch(settings, b.batch_id))
    lines = [x.decode() for x in batch_files.split_lines(rt.ports.bucket.read_chunks(b.input_key))]
    out = "".join(f"{line},label-{i}\n" for i, line in enumerate(lines))
    rt.ports.bucket.put(batch_files.output_key(b.input_key), out.encode())
    rt.store.close()

    again = build_runtime(settings)
    completed: list[str] = []
    again.broadcast.moves.add(
        {"status": "COMPLETED"}, lambda f, _memo: completed.extend(j["jobId"] for j in f["jobs"])
    )
    await again.start()
    try:
        done = await wait_terminal(again, ids)
        # Applying the same file again (a replayed S3 event) moves nothing and publishes nothing.
        results.apply_output(again.ports, batch_files.output_key(b.input_key))
        await asyncio.sleep(0.1)
    finally:
        await again.stop()
    assert [j.result for j in done] == ["label-0", "label-1", "label-2"]
    assert again.recovered["applied"] == 1
    assert sorted(completed) == sorted(ids)
