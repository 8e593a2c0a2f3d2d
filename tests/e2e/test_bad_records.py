"""One bad record among good ones, on the local runtime: only it ends FAILED, with the model's message."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from asyncml import queries
from asyncml.local.wiring import LocalRuntime, build_runtime
from asyncml.model import BATCH_TERMINAL, Batch, Job, JobStatus
from asyncml.settings import Settings
from asyncml.submit import SubmitInput, submit_jobs
from asyncml.transform_emulator.demo_model import DemoModel
from tests.e2e.test_local_pipeline import IRIS, make_settings, model, wait_terminal
from tests.transform_emulator.model_fakes import Script, model_url, per_line

__all__ = ["model", "model_url"]  # fixtures, imported for pytest
GOOD = [f"{i},1,1,1" for i in range(5)]


async def run_jobs(rt: LocalRuntime, payloads: list[str]) -> tuple[list[Job], Batch]:
    """Submit one batch's worth of records; its jobs and the batch once all are settled."""
    await rt.start()
    try:
        ids = [j.job_id for j in submit_jobs(rt.ports, [SubmitInput(p) for p in payloads])]
        jobs = await wait_terminal(rt, ids, within=60)
        async with asyncio.timeout(30):
            while True:  # the batch's counts land just after its last job
                batch = queries.get_batch(rt.ports, jobs[0].batch_id or "")
                if batch is not None and batch.status in BATCH_TERMINAL:
                    return jobs, batch
                await asyncio.sleep(0.05)
    finally:
        await rt.stop()


@pytest.fixture
def script() -> Iterator[Script]:
    # A model of the user's own that answers 500 ("boom") to any mini-batch holding the bad record.
    yield Script(fail_when=b"bad", respond=per_line(lambda line: "ok"))


async def test_a_record_the_model_answers_500_fails_alone_with_the_models_message(
    tmp_path: Path, model: DemoModel, model_url: str
) -> None:
    settings = make_settings(tmp_path, model, model_url=model_url, error_prefix="ERROR", batch_size=6)
    jobs, batch = await run_jobs(build_runtime(settings), [*GOOD[:3], "bad,0,0,0", *GOOD[3:]])
    statuses = [j.status for j in jobs]
    assert statuses == [JobStatus.COMPLETED] * 3 + [JobStatus.FAILED] + [JobStatus.COMPLETED] * 2
    assert {j.result for j in jobs if j.status is JobStatus.COMPLETED} == {"ok"}
    assert jobs[3].error == "ERROR: Bad HTTP status received from algorithm: 500 (boom) (after 3 retries)"
    assert (batch.status, batch.completed_count, batch.failed_count) == ("COMPLETED", 5, 1)


async def test_in_json_lines_the_isolated_record_fails_with_an_error_object(
    tmp_path: Path, model: DemoModel, model_url: str, script: Script
) -> None:
    script.respond = per_line(lambda line: '{"label": "ok"}')
    settings = make_settings(
        tmp_path, model, model_url=model_url, content_type="application/jsonlines", error_prefix='{"error"'
    )
    jobs, batch = await run_jobs(build_runtime(settings), ['{"x": 1}', '{"bad": 1}', '{"x": 3}'])
    assert [j.status for j in jobs] == [JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.COMPLETED]
    assert jobs[0].result == '{"label":"ok"}'
    assert (
        jobs[1].error == '{"error":"Bad HTTP status received from algorithm: 500 (boom) (after 3 retries)"}'
    )
    assert batch.failed_count == 1


async def test_without_an_error_prefix_the_emulator_fails_the_batch_as_sagemaker_does(
    tmp_path: Path, model: DemoModel, model_url: str
) -> None:
    settings = make_settings(tmp_path, model, model_url=model_url, batch_size=2)
    jobs, batch = await run_jobs(build_runtime(settings), [GOOD[0], "bad,0"])
    assert {j.status for j in jobs} == {JobStatus.FAILED}
    assert all("Bad HTTP status received from algorithm: 500" in (j.error or "") for j in jobs)
    assert batch.status == "FAILED"


@pytest.mark.parametrize(("prefix", "status"), [("ERROR", JobStatus.FAILED), ("", JobStatus.COMPLETED)])
async def test_the_error_prefix_decides_whether_the_demo_models_error_lines_fail(
    tmp_path: Path, model: DemoModel, prefix: str, status: JobStatus
) -> None:
    settings = make_settings(tmp_path, model, error_prefix=prefix, batch_size=2)
    (good, odd), batch = await run_jobs(build_runtime(settings), [IRIS[0], "not,a,flower"])
    assert good.status is JobStatus.COMPLETED
    assert odd.status is status
    assert (odd.error, odd.result) == (("ERROR", None) if prefix else (None, "ERROR"))
    assert batch.failed_count == (1 if prefix else 0)


def test_with_the_demo_model_the_error_prefix_defaults_to_its_marker(tmp_path: Path) -> None:
    for content_type, marker in (("text/csv", "ERROR"), ("application/jsonlines", '{"error"')):
        rt = build_runtime(Settings(data_dir=tmp_path / content_type[-3:], content_type=content_type))  # type: ignore[arg-type]
        rt.store.close()
        assert rt.settings.error_prefix == marker and rt.ports.settings.error_prefix == marker
        assert rt.runner.isolate_failures is not None
    own = build_runtime(Settings(data_dir=tmp_path / "own", model_url="http://127.0.0.1:9"))
    own.store.close()
    assert own.settings.error_prefix is None and own.runner.isolate_failures is None
