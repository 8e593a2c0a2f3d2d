"""The event model: a job's intermediate moves are published per group (JobsMoved), its end per job."""

from __future__ import annotations

import asyncio
import json
import math
from datetime import UTC, datetime
from typing import Any

from asyncml import batch_files, batcher, results, shapes, transform
from asyncml.local.broadcast import Broadcast
from asyncml.model import Job, JobsMoved, JobStatus, ends_of
from asyncml.ports import Ports
from asyncml.submit import SubmitInput, submit_jobs
from tests.fakes import RecordingPublisher

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
N = 1200  # more than one JobsMoved update's worth of ids, in three submit calls


def run_batch(ports: Ports, n: int) -> list[str]:
    ids: list[str] = []
    for start in range(0, n, 400):
        inputs = [SubmitInput(f"{i},1") for i in range(start, start + 400)]
        ids += [j.job_id for j in submit_jobs(ports, inputs)]
    batch = batcher.seal_batch(ports, ids, seed=ids[0], first_seen=ports.clock.now())
    assert batch is not None
    transform.start_batch(ports, batch.input_key)
    lines = [line.decode() for line in batch_files.split_lines(ports.bucket.read_chunks(batch.input_key))]
    out_key = batch_files.output_key(batch.input_key)
    ports.bucket.put(out_key, "".join(f"{line},ok\n" for line in lines).encode())
    results.apply_output(ports, out_key)
    return ids


def test_a_batch_publishes_one_group_per_move_and_one_end_per_job(ports: Ports) -> None:
    ids = run_batch(ports, N)
    publisher: RecordingPublisher = ports.publisher  # type: ignore[assignment]
    # One QUEUED per submit call, one BATCHED for the sealed batch, one PROCESSING for its start
    assert [(m.status, len(m.job_ids)) for m in publisher.moves] == [
        (JobStatus.QUEUED, 400), (JobStatus.QUEUED, 400), (JobStatus.QUEUED, 400),
        (JobStatus.BATCHED, N), (JobStatus.PROCESSING, N),
    ]  # fmt: skip
    batched, processing = publisher.moves[3:]
    assert sorted(batched.job_ids) == sorted(ids) and batched.batch_id == processing.batch_id
    assert processing.transform_job_name is not None
    # and every job's end on its own, whole, once
    assert sorted(j.job_id for j in publisher.jobs) == sorted(ids)
    assert {j.status for j in publisher.jobs} == {JobStatus.COMPLETED}
    assert publisher.statuses(ids[-1]) == ["QUEUED", "BATCHED", "PROCESSING", "COMPLETED"]


def test_replayed_events_publish_nothing(ports: Ports) -> None:
    ids = run_batch(ports, 3)
    publisher: RecordingPublisher = ports.publisher  # type: ignore[assignment]
    before = (len(publisher.moves), len(publisher.jobs), len(publisher.batches))
    batch = batcher.seal_batch(ports, ids, seed=ids[0], first_seen=ports.clock.now())  # the stream replays
    assert batch is not None
    name = batch.transform_job_name
    assert name is not None
    results.on_transform_state(ports, name, "InProgress", None)  # a late InProgress event
    results.apply_output(ports, batch_files.output_key(batch.input_key))  # the S3 event again
    assert (len(publisher.moves), len(publisher.jobs), len(publisher.batches)) == before


def test_the_local_broadcast_splits_a_group_into_updates_of_at_most_1000_ids() -> None:
    ids = tuple(f"job-{i:05d}" for i in range(2500))
    got: dict[str, list[dict[str, Any]]] = {"all": [], "one": [], "other": [], "queued": []}

    async def watch() -> None:
        topic = Broadcast()
        for name, filters in {
            "all": {},
            "one": {"jobId": ids[1500]},
            "other": {"jobId": "not-in-it"},
            "queued": {"jobId": ids[0], "status": JobStatus.QUEUED},
        }.items():
            topic.moves.add(filters, lambda fields, _memo, name=name: got[name].append(fields))
        topic.publish_moves(JobsMoved(JobStatus.BATCHED, ids, T0, batch_id="b1"))

    asyncio.run(watch())
    assert len(got["all"]) == math.ceil(len(ids) / shapes.MOVES_MAX_IDS) == 3
    assert [i for u in got["all"] for i in u["jobIds"]] == list(ids)
    # jobId matches the one update that contains it; other filters are equality, as on AppSync
    assert len(got["one"]) == 1 and ids[1500] in got["one"][0]["jobIds"]
    assert got["one"][0]["status"] == "BATCHED" and got["one"][0]["batchId"] == "b1"
    assert got["other"] == [] and got["queued"] == []


def test_an_iam_caller_publishes_a_group_move_through_the_local_schema(ports: Ports) -> None:
    """What publishJobsMoved does on AppSync's NONE data source: hand the update on, answer it."""
    from asyncml.local.api.schema import AWS_IAM, ApiContext, schema

    query = """mutation ($u: JobsMovedUpdate!) {
      publishJobsMoved(update: $u) { status jobIds batchId transformJobName updatedAt } }"""
    update = {
        "status": "PROCESSING",
        "jobIds": ["a", "b"],
        "batchId": "b1",
        "updatedAt": "2026-11-25T12:00:00Z",
    }
    ctx = ApiContext(ports=ports, topics=Broadcast(), auth_mode=AWS_IAM)
    result = asyncio.run(schema.execute(query, variable_values={"u": update}, context_value=ctx))
    assert result.errors is None
    assert result.data == {
        "publishJobsMoved": {**update, "transformJobName": None, "updatedAt": "2026-11-25T12:00:00.000Z"}
    }
    publisher: RecordingPublisher = ports.publisher  # type: ignore[assignment]
    assert publisher.moves == [JobsMoved(JobStatus.PROCESSING, ("a", "b"), T0, batch_id="b1")]


def ended(i: int, status: JobStatus = JobStatus.COMPLETED, result: str = "r") -> Job:
    return Job(f"job-{i:05d}", status, f"{i},1", T0, T0, result=result, batch_id="b1", completed_at=T0)


def test_ends_go_out_grouped_by_status_whole_and_within_the_payload_limit() -> None:
    # 1,500 ends of one batch, every fifth FAILED, some results large enough to fill updates
    jobs = [
        ended(i, JobStatus.FAILED if i % 5 == 0 else JobStatus.COMPLETED, "x" * (5000 if i % 7 == 0 else 8))
        for i in range(1500)
    ]
    got: dict[str, list[dict[str, Any]]] = {"all": [], "one": [], "failed": []}

    async def watch() -> None:
        topic = Broadcast()
        filters = {"all": {}, "one": {"jobId": "job-00777"}, "failed": {"status": JobStatus.FAILED}}
        for name, f in filters.items():
            topic.moves.add(f, lambda fields, _memo, name=name: got[name].append(fields))
        topic.publish_jobs(jobs)

    asyncio.run(watch())
    updates = got["all"]
    # far fewer updates than jobs, each of one status, at most 1,000 ids and ENDS_MAX_BYTES of JSON
    assert 2 <= len(updates) <= 20
    assert all(len(u["jobIds"]) <= shapes.MOVES_MAX_IDS for u in updates)
    assert all(len(json.dumps(u)) <= shapes.ENDS_MAX_BYTES + 1000 for u in updates)
    assert all({j["status"] for j in u["jobs"]} == {u["status"]} for u in updates)
    # every job once, whole, as shaped for its own update
    assert sorted(j["jobId"] for u in updates for j in u["jobs"]) == sorted(j.job_id for j in jobs)
    assert all([j["jobId"] for j in u["jobs"]] == u["jobIds"] for u in updates)
    # a watcher of one job gets the one update holding it; a status filter only its status
    [mine] = got["one"]
    assert [j for j in mine["jobs"] if j["jobId"] == "job-00777"] == [shapes.job(jobs[777])]
    assert {u["status"] for u in got["failed"]} == {"FAILED"}
    assert sum(len(u["jobIds"]) for u in got["failed"]) == 300


def test_an_end_too_large_to_share_an_update_is_named_without_its_fields() -> None:
    big = ended(1).replace(payload="p" * (shapes.ENDS_MAX_BYTES + 1))
    [update] = shapes.moves_updates(ends_of([ended(0), big, ended(2)])[0])
    assert update["jobIds"] == ["job-00000", "job-00001", "job-00002"]
    assert [j["jobId"] for j in update["jobs"]] == ["job-00000", "job-00002"]


def test_updates_as_json_text_are_the_same_updates() -> None:
    # The AppSync publisher sends the text form, whose jobs are encoded once; it must say the same.
    big = ended(1).replace(payload="p" * (shapes.ENDS_MAX_BYTES + 1), result='"quoted" \u00e9\n')
    ends = ends_of([ended(i) for i in range(2500)] + [big])
    ids = tuple(f"job-{i:05d}" for i in range(2500))
    moved = JobsMoved(JobStatus.PROCESSING, ids, T0, "b1", None)
    for m in [*ends, moved]:
        texts = shapes.moves_updates_json(m)
        assert len(texts) > 1
        assert [json.loads(t) for t in texts] == shapes.moves_updates(m)


def test_an_iam_caller_publishes_ends_with_their_jobs_through_the_local_schema(ports: Ports) -> None:
    from asyncml.local.api.schema import AWS_IAM, ApiContext, schema

    query = """mutation ($u: JobsMovedUpdate!) {
      publishJobsMoved(update: $u) { status jobIds jobs { jobId status result } } }"""
    job = shapes.job(ended(3))
    update = {"status": "COMPLETED", "jobIds": [job["jobId"]], "batchId": "b1", "updatedAt": job["updatedAt"],
              "jobs": [job]}  # fmt: skip
    ctx = ApiContext(ports=ports, topics=Broadcast(), auth_mode=AWS_IAM)
    result = asyncio.run(schema.execute(query, variable_values={"u": update}, context_value=ctx))
    assert result.errors is None
    assert result.data == {
        "publishJobsMoved": {"status": "COMPLETED", "jobIds": ["job-00003"],
                             "jobs": [{"jobId": "job-00003", "status": "COMPLETED", "result": "r"}]}
    }  # fmt: skip
    publisher: RecordingPublisher = ports.publisher  # type: ignore[assignment]
    assert [m.jobs for m in publisher.moves] == [(ended(3),)]
