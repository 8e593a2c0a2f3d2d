"""A start never fails on one bad file: the file's batch ends FAILED naming it, other batches run on."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from asyncml import batch_files, batcher, transform, transform_jobs
from asyncml.local.wiring import LocalRuntime, build_runtime
from asyncml.model import Batch, BatchStatus, JobStatus
from asyncml.ports import Ports
from asyncml.settings import Settings
from asyncml.submit import SubmitInput, submit_jobs
from asyncml.transform_emulator.demo_model import DemoModel
from tests.fakes import ScriptedRunner

IRIS = ["5.1,3.5,1.4,0.2", "6.7,3.0,5.2,2.3", "5.9,3.0,4.2,1.5"]
DAMAGE: dict[str, Callable[[bytes], bytes]] = {
    "empty": lambda data: b"",
    "truncated": lambda data: data[: len(data) // 2],
    "not-utf8": lambda data: data[: len(data) // 2] + "é".encode("latin-1") + data[len(data) // 2 :],
    "garbage": lambda data: b"\x00\x9c{[garbage,\xff\n" * 3,
}


def settings_for(tmp_path: Path, model: DemoModel, **changes: object) -> Settings:
    values = {"data_dir": tmp_path / "data", "batch_size": 3, "batch_window": 0.1, "model_url": model.url}
    return Settings(**{**values, **changes})  # type: ignore[arg-type]


def seal(ports: Ports, seed: str) -> Batch:
    ids = [j.job_id for j in submit_jobs(ports, [SubmitInput(p) for p in IRIS])]
    batch = batcher.seal_batch(ports, ids, seed=seed, first_seen=ports.clock.now())
    assert batch is not None
    return batch


def started_by_a_dead_process(rt: LocalRuntime, batch: Batch, *, scheduled: bool = False) -> str:
    """Start the batch's transform as a killed process did: request kept, batch PROCESSING, no run."""
    recorder = ScriptedRunner()
    ports = dataclasses.replace(rt.ports, runner=recorder)
    if scheduled:
        transform.start_scheduled(ports)
    else:
        transform.start_batch(ports, batch.input_key)
    (request,) = recorder.requests
    name = str(request["TransformJobName"])
    (rt.settings.data_dir / "transforms").mkdir(exist_ok=True)
    (rt.settings.data_dir / "transforms" / f"{name}.json").write_text(json.dumps(request))
    return name


def bucket_file(rt: LocalRuntime, key: str) -> Path:
    return rt.settings.data_dir / "bucket" / rt.settings.bucket_name / key


def run_transform_by_hand(rt: LocalRuntime, batch: Batch) -> None:
    """The `.out` the transform wrote before the process died (input line, then a label)."""
    lines = bucket_file(rt, batch.input_key).read_bytes().splitlines()
    rt.ports.bucket.put(batch_files.output_key(batch.input_key), b"".join(x + b",setosa\n" for x in lines))


async def settled(rt: LocalRuntime, *batch_ids: str) -> list[Batch]:
    async def poll() -> list[Batch]:
        while True:
            batches = [rt.ports.store.get_batch(i) for i in batch_ids]
            if all(b and b.status in (BatchStatus.COMPLETED, BatchStatus.FAILED) for b in batches):
                return batches  # type: ignore[return-value]
            await asyncio.sleep(0.05)

    return await asyncio.wait_for(poll(), 30)  # a hang guard, not a speed check


async def restart_and_settle(settings: Settings, bad: Batch, good: Batch) -> tuple[Batch, Batch]:
    rt = build_runtime(settings)
    await rt.start()  # must not raise
    try:
        bad_now, good_now = await settled(rt, bad.batch_id, good.batch_id)
        jobs = rt.ports.store.list_jobs(status=None, batch_id=bad.batch_id, limit=10, next_token=None).items
    finally:
        await rt.stop()
    assert {j.status for j in jobs} <= {JobStatus.COMPLETED, JobStatus.FAILED}, "a job was left behind"
    assert bad_now.completed_count + bad_now.failed_count == bad_now.job_count
    return bad_now, good_now


def assert_outcome(bad: Batch, good: Batch, named: str) -> None:
    assert bad.status is BatchStatus.FAILED
    assert bad.error is not None and named in bad.error, bad.error
    assert good.status is BatchStatus.COMPLETED and good.completed_count == 3


@pytest.mark.parametrize("damage", DAMAGE)
async def test_a_bad_transform_request_file(tmp_path: Path, demo_model: DemoModel, damage: str) -> None:
    settings = settings_for(tmp_path, demo_model)
    rt = build_runtime(settings)
    bad, good = seal(rt.ports, "bad"), seal(rt.ports, "good")
    name = started_by_a_dead_process(rt, bad)
    path = settings.data_dir / "transforms" / f"{name}.json"
    path.write_bytes(DAMAGE[damage](path.read_bytes()))
    rt.store.close()
    assert_outcome(*await restart_and_settle(settings, bad, good), named=f"transforms/{name}.json")


@pytest.mark.parametrize("damage", DAMAGE)
async def test_a_bad_out_file(tmp_path: Path, demo_model: DemoModel, damage: str) -> None:
    settings = settings_for(tmp_path, demo_model)
    rt = build_runtime(settings)
    bad, good = seal(rt.ports, "bad"), seal(rt.ports, "good")
    started_by_a_dead_process(rt, bad)
    run_transform_by_hand(rt, bad)
    out = bucket_file(rt, batch_files.output_key(bad.input_key))
    out.write_bytes(DAMAGE[damage](out.read_bytes()))
    rt.store.close()
    assert_outcome(
        *await restart_and_settle(settings, bad, good), named=batch_files.output_key(bad.input_key)
    )


@pytest.mark.parametrize("damage", DAMAGE)
async def test_a_bad_batch_file(tmp_path: Path, demo_model: DemoModel, damage: str) -> None:
    settings = settings_for(tmp_path, demo_model)
    rt = build_runtime(settings)
    bad, good = seal(rt.ports, "bad"), seal(rt.ports, "good")
    started_by_a_dead_process(rt, bad)
    run_transform_by_hand(rt, bad)
    data = bucket_file(rt, bad.input_key)
    data.write_bytes(DAMAGE[damage](data.read_bytes()))
    rt.store.close()
    assert_outcome(*await restart_and_settle(settings, bad, good), named=bad.input_key)


@pytest.mark.parametrize("damage", DAMAGE)
async def test_a_bad_manifest(tmp_path: Path, demo_model: DemoModel, damage: str) -> None:
    settings = settings_for(
        tmp_path, demo_model, trigger="schedule", schedule_seconds=0.1, transform_min_records=1
    )
    rt = build_runtime(settings)
    bad = seal(rt.ports, "bad")
    name = started_by_a_dead_process(rt, bad, scheduled=True)
    good = seal(rt.ports, "good")  # sealed after: the next scheduled job takes it
    manifest = bucket_file(rt, transform_jobs.manifest_key(name))
    manifest.write_bytes(DAMAGE[damage](manifest.read_bytes()))
    rt.store.close()
    assert_outcome(*await restart_and_settle(settings, bad, good), named=transform_jobs.manifest_key(name))
