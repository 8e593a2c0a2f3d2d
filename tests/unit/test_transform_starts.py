"""Starting transforms: big scheduled transforms, claims that make retries safe, the re-drive."""

from __future__ import annotations

import asyncio
import json

from asyncml import batch_files, batcher, queries, shapes, transform
from asyncml.model import Batch, BatchStatus, JobStatus
from asyncml.ports import Ports
from asyncml.submit import SubmitInput, submit_jobs
from tests.conftest import with_settings

REFUSAL = "ResourceLimitExceeded: The account-level service limit 'ml.m5.xlarge for transform job usage' is 0"


def seal(ports: Ports, count: int = 1) -> Batch:
    jobs = submit_jobs(ports, [SubmitInput(f"{i},1") for i in range(count)])
    ids = [j.job_id for j in jobs]
    batch = batcher.seal_batch(ports, ids, seed=ids[0], first_seen=ports.clock.now())
    assert batch is not None
    return batch


def status(ports: Ports, batch: Batch) -> BatchStatus:
    got = queries.get_batch(ports, batch.batch_id)
    assert got is not None
    return got.status


def test_the_schedule_waits_for_enough_records_or_the_oldest_batchs_wait(ports: Ports) -> None:
    ports = with_settings(ports, trigger="schedule", transform_min_records=5, transform_max_wait=300)
    small = seal(ports, 2)
    assert transform.tick(ports) == []  # 2 records, 0 s old: a transform would start for too little
    seal(ports, 3)
    (name,) = transform.tick(ports)  # 5 records: one transform over both
    assert {b.transform_job_name for b in queries.all_batches(ports, BatchStatus.PROCESSING)} == {name}
    late = seal(ports, 1)
    ports.clock.advance(299)  # type: ignore[attr-defined]
    assert transform.tick(ports) == []
    ports.clock.advance(1)  # type: ignore[attr-defined]
    assert len(transform.tick(ports)) == 1 and status(ports, late) is BatchStatus.PROCESSING
    assert status(ports, small) is BatchStatus.PROCESSING


def test_a_tick_cut_off_after_its_claims_is_finished_by_a_retry_with_the_same_transform(ports: Ports) -> None:
    ports = with_settings(ports, trigger="schedule", transform_min_records=1, start_lease_seconds=300)
    batches = [seal(ports), seal(ports)]
    # The first invocation claimed both and wrote the manifest, then its Lambda timed out.
    ports.runner.refuse = "the invocation timed out here"  # type: ignore[attr-defined]
    transform.tick(ports)
    ports.runner.refuse = None  # type: ignore[attr-defined]
    (first,) = ports.runner.attempts  # type: ignore[attr-defined]
    # The async retry and a second delivery of the tick find the claims: no new transform over them.
    assert transform.tick(ports) == [] and transform.tick(ports) == []
    ports.clock.advance(300)  # type: ignore[attr-defined]  # the claim's lease is over: re-driven
    assert transform.tick(ports) == [first]
    assert [r["TransformJobName"] for r in ports.runner.requests] == [first]  # type: ignore[attr-defined]
    assert {status(ports, b) for b in batches} == {BatchStatus.PROCESSING}
    assert transform.tick(ports) == []


def test_two_invocations_of_one_tick_start_one_transform(ports: Ports) -> None:
    ports = with_settings(ports, trigger="schedule", transform_min_records=1)
    seal(ports)
    seal(ports)
    # Both listed the waiting batches before either claimed: the same name, so the same claims.
    waiting = list(queries.all_batches(ports, BatchStatus.BATCHED))
    a = transform.start_scheduled(ports)
    for b in waiting:  # the second invocation's claims, with the name it derived from what it saw
        assert (
            ports.store.move_batch(b.batch_id, BatchStatus.BATCHED, ports.clock.now(), claimed_by=a) is None
        )
    assert transform.start_scheduled(ports) is None
    assert len(ports.runner.requests) == 1  # type: ignore[attr-defined]


def test_a_refused_start_is_re_driven_with_backoff_then_fails_its_jobs_with_sagemakers_error(
    ports: Ports,
) -> None:
    ports = with_settings(ports, start_retry_seconds=60, start_give_up_seconds=3600)
    batch = seal(ports, 2)
    ports.runner.refuse = REFUSAL  # type: ignore[attr-defined]
    assert transform.start_batch(ports, batch.input_key) is None
    waiting = queries.get_batch(ports, batch.batch_id)
    assert waiting is not None and waiting.status is BatchStatus.BATCHED
    assert (waiting.start_attempts, waiting.start_error) == (1, REFUSAL)
    tried_at: list[int] = []
    for minute in range(1, 75):
        ports.clock.advance(60)  # type: ignore[attr-defined]
        before = len(ports.runner.attempts)  # type: ignore[attr-defined]
        transform.tick(ports)
        if len(ports.runner.attempts) > before:  # type: ignore[attr-defined]
            tried_at.append(minute)
        if status(ports, batch) is BatchStatus.FAILED:
            break
    # 1, 2, 4, 8, 16 minutes apart, then every 16 minutes, until the batch is an hour old.
    assert tried_at == [1, 3, 7, 15, 31, 47, 63]
    jobs = list(queries.all_jobs(ports, batch_id=batch.batch_id))
    assert {j.status for j in jobs} == {JobStatus.FAILED}
    assert all(REFUSAL in (j.error or "") and "8 attempts" in (j.error or "") for j in jobs)
    assert transform.tick(ports) == []  # an ended batch is not re-driven


def test_a_start_that_succeeds_on_a_later_attempt_runs_once(ports: Ports) -> None:
    batch = seal(ports)
    ports.runner.refuse = REFUSAL  # type: ignore[attr-defined]
    transform.start_batch(ports, batch.input_key)
    ports.runner.refuse = None  # type: ignore[attr-defined]  # the quota was raised
    ports.clock.advance(60)  # type: ignore[attr-defined]
    assert transform.tick(ports) == [f"asyncml-{batch.batch_id}"]
    assert status(ports, batch) is BatchStatus.PROCESSING
    assert len(ports.runner.requests) == 1  # type: ignore[attr-defined]


def test_a_batch_whose_s3_event_never_came_is_started_by_the_re_drive(ports: Ports) -> None:
    batch = seal(ports)  # trigger s3, but nothing called start_batch
    assert transform.tick(ports) == []  # its S3 event may still be on its way
    ports.clock.advance(ports.settings.start_lease_seconds)  # type: ignore[attr-defined]
    assert transform.tick(ports) == [f"asyncml-{batch.batch_id}"]
    assert ports.bucket.exists(batch.input_key) and batch_files.output_dir(batch.input_key)


def test_a_batch_recorded_but_not_yet_written_waits_for_its_file(ports: Ports) -> None:
    # GIVEN a batch whose record exists but whose file does not (the batcher is between the two, or
    # died there and its stream retry will write it), beside one that is written
    ports = with_settings(ports, trigger="schedule", transform_min_records=1)
    written, pending = seal(ports), seal(ports)
    data = b"".join(ports.bucket.read_chunks(pending.input_key))
    (ports.bucket.path / pending.input_key).unlink()  # type: ignore[attr-defined]
    # WHEN the rule ticks, THEN the manifest names only the written file
    (name,) = transform.tick(ports)
    manifest = json.loads(b"".join(ports.bucket.read_chunks(f"manifests/{name}.json")))
    assert manifest[1:] == [written.input_key.removeprefix("data/")]
    assert status(ports, pending) is BatchStatus.BATCHED
    # and once the file lands, the next tick starts it
    ports.bucket.put(pending.input_key, data)
    assert len(transform.tick(ports)) == 1 and status(ports, pending) is BatchStatus.PROCESSING


def test_a_refused_batch_says_why_it_waits(ports: Ports) -> None:
    batch = seal(ports)
    ports.runner.refuse = REFUSAL  # type: ignore[attr-defined]
    transform.start_batch(ports, batch.input_key)
    stored = queries.get_batch(ports, batch.batch_id)
    assert stored is not None
    assert shapes.batch(stored)["error"] == f"waiting to start (attempt 1 was refused): {REFUSAL}"
    assert ports.publisher.batches[-1] == stored  # type: ignore[attr-defined]  # subscribers hear it


def _records_per_transform(ports: Ports, jobs_per_second: int, minutes: int) -> list[int]:
    """Batches of 100 arrive at `jobs_per_second` (as the batcher seals them), the rule ticks every
    minute with the stack's defaults; how many records each transform started over."""
    per_second = max(1, jobs_per_second // 100)
    for second in range(minutes * 60):
        for k in range(per_second):
            now = ports.clock.now()
            batch_id = f"{now:%Y%m%d-%H%M%S}-{k:08x}"
            key = f"data/{now:%Y/%m/%d}/{batch_id}.csv"
            ports.store.create_batch(Batch(batch_id, BatchStatus.BATCHED, 100, now, now, key))
            ports.bucket.put(key, b"")  # its file (only what the manifest names is counted here)
        ports.clock.advance(1)  # type: ignore[attr-defined]
        if second % 60 == 59:
            transform.tick(ports)
    counts = []
    for request in ports.runner.requests:  # type: ignore[attr-defined]
        manifest = batch_files.MANIFEST_PREFIX + request["TransformJobName"] + ".json"
        counts.append(100 * (len(json.loads(b"".join(ports.bucket.read_chunks(manifest)))) - 1))
    return counts


def test_at_the_defaults_every_transform_covers_5000_records_or_more_from_100_jobs_a_second(
    ports: Ports,
) -> None:
    ports = with_settings(ports, trigger="schedule")  # the template's default; Settings' own thresholds
    counts = _records_per_transform(ports, 100, 20)
    assert len(counts) >= 10 and min(counts) >= 5000, counts


def test_a_trickle_still_starts_within_the_max_wait(ports: Ports) -> None:
    ports = with_settings(ports, trigger="schedule")
    # One job every 10 s: 5,000 records would take 14 hours; the oldest batch's wait starts them.
    for second in range(0, 11 * 60, 10):
        seal(ports, 1)
        ports.clock.advance(10)  # type: ignore[attr-defined]
        if second % 60 == 50:
            transform.tick(ports)
    assert len(ports.runner.requests) == 2  # type: ignore[attr-defined]  # at minutes 5 and 10


async def test_the_local_timer_re_drives_a_refused_start_with_either_trigger(ports: Ports) -> None:
    from asyncml.local.triggers import Triggers

    ports = with_settings(ports, schedule_seconds=0.01)  # trigger s3, the local default
    batch = seal(ports)
    ports.runner.refuse = REFUSAL  # type: ignore[attr-defined]
    assert transform.start_batch(ports, batch.input_key) is None
    ports.runner.refuse = None  # type: ignore[attr-defined]
    ports.clock.advance(60)  # type: ignore[attr-defined]  # the first backoff is over
    task = asyncio.create_task(Triggers(ports, runner=None).schedule_loop())  # type: ignore[arg-type]
    try:
        for _ in range(3000):  # until a tick ran, however slow the machine (30 s at most)
            if status(ports, batch) is BatchStatus.PROCESSING:
                break
            await asyncio.sleep(0.01)
    finally:
        task.cancel()
    assert status(ports, batch) is BatchStatus.PROCESSING
    assert [r["TransformJobName"] for r in ports.runner.requests] == [f"asyncml-{batch.batch_id}"]  # type: ignore[attr-defined]


def test_the_batches_of_one_refused_transform_fail_together_at_the_oldests_bound(ports: Ports) -> None:
    ports = with_settings(ports, trigger="schedule", transform_min_records=1, start_give_up_seconds=3600)
    old = seal(ports)
    ports.clock.advance(1800)  # type: ignore[attr-defined]
    young = seal(ports)
    ports.runner.refuse = "ValidationException: Could not find model asyncml-demo"  # type: ignore[attr-defined]
    transform.tick(ports)
    assert len(set(ports.runner.attempts)) == 1  # type: ignore[attr-defined]  # one manifest for both
    ports.clock.advance(1800)  # type: ignore[attr-defined]  # the old batch is an hour old
    transform.tick(ports)
    assert (status(ports, old), status(ports, young)) == (BatchStatus.FAILED, BatchStatus.FAILED)
    job = next(iter(queries.all_jobs(ports, batch_id=young.batch_id)))
    assert job.error is not None and job.error.endswith(
        "ValidationException: Could not find model asyncml-demo"
    )
