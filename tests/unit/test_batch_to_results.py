"""Batcher -> transform -> results on local adapters, the transform's outcome scripted by the test."""

from __future__ import annotations

from asyncml import batch_files, batcher, queries, results, transform
from asyncml.model import Batch, BatchStatus, JobMove, JobStatus
from asyncml.ports import Ports
from asyncml.submit import SubmitInput, cancel_job, submit_jobs
from tests.conftest import with_settings


def read_lines(ports: Ports, key: str) -> list[str]:
    return [line.decode() for line in batch_files.split_lines(ports.bucket.read_chunks(key))]


def seal(ports: Ports, payloads: list[str]) -> tuple[list[str], Batch]:
    jobs = submit_jobs(ports, [SubmitInput(p) for p in payloads])
    ids = [j.job_id for j in jobs]
    batch = batcher.seal_batch(ports, ids, seed=ids[0], first_seen=ports.clock.now())
    assert batch is not None
    return ids, batch


def play_transform(ports: Ports, batch: Batch, skip: int | None = None) -> str:
    """Write the `.out` the way Batch Transform joins CSV: the input line, a comma, the output."""
    lines = read_lines(ports, batch.input_key)
    out = [f"{line},label-{i}" for i, line in enumerate(lines) if i != skip]
    key = batch_files.output_key(batch.input_key)
    ports.bucket.put(key, ("\n".join(out) + "\n").encode())
    return key


def test_cancelled_job_is_never_batched(ports: Ports) -> None:
    jobs = submit_jobs(ports, [SubmitInput("1,2"), SubmitInput("3,4")])
    cancel_job(ports, jobs[0].job_id)
    batch = batcher.seal_batch(ports, [j.job_id for j in jobs], seed="s", first_seen=ports.clock.now())
    assert batch is not None and batch.job_count == 1
    assert read_lines(ports, batch.input_key) == [f"{jobs[1].job_id},3,4"]
    assert queries.get_job(ports, jobs[0].job_id).status is JobStatus.CANCELLED  # type: ignore[union-attr]


def test_batch_file_follows_the_key_layout_with_the_job_id_first(ports: Ports) -> None:
    ids, batch = seal(ports, ["1,2", "3,4"])
    assert batch.input_key == f"data/2026/11/25/{batch.batch_id}.csv"
    assert [line.split(",")[0] for line in read_lines(ports, batch.input_key)] == ids
    assert {queries.get_job(ports, i).status for i in ids} == {JobStatus.BATCHED}  # type: ignore[union-attr]


def test_a_replayed_stream_batch_seals_the_same_batch_once(ports: Ports) -> None:
    ids, batch = seal(ports, ["1,2", "3,4"])
    again = batcher.seal_batch(ports, ids, seed=ids[0], first_seen=ports.clock.now())
    assert again is not None and again.batch_id == batch.batch_id
    assert len(queries.list_batches(ports).items) == 1
    assert len(ports.publisher.batches) == 1  # type: ignore[attr-defined]


def test_transform_request_filters_the_id_and_joins_the_input(ports: Ports) -> None:
    _, batch = seal(ports, ["1,2"])
    started = transform.start_batch(ports, batch.input_key)
    assert started is not None and started.status is BatchStatus.PROCESSING
    (request,) = ports.runner.requests  # type: ignore[attr-defined]
    assert request["TransformJobName"] == f"asyncml-{batch.batch_id}"
    assert request["TransformInput"]["SplitType"] == "Line"
    assert request["TransformInput"]["ContentType"] == "text/csv"
    assert request["DataProcessing"] == {"InputFilter": "$[1:]", "JoinSource": "Input", "OutputFilter": "$"}
    assert request["TransformOutput"]["AssembleWith"] == "Line"
    assert request["TransformOutput"]["S3OutputPath"] == "s3://asyncml-local/result/2026/11/25/"


def test_a_repeated_file_event_does_not_start_the_batch_twice(ports: Ports) -> None:
    _, batch = seal(ports, ["1,2"])
    transform.start_batch(ports, batch.input_key)
    assert transform.start_batch(ports, batch.input_key) is None
    assert len(ports.runner.requests) == 1  # type: ignore[attr-defined]


def test_jsonlines_request_keeps_the_id_beside_the_output(ports: Ports) -> None:
    ports = with_settings(ports, content_type="application/jsonlines")
    _, batch = seal(ports, ['{"features": [1, 2, 3, 4]}'])
    assert batch.input_key.endswith(".jsonl")
    transform.start_batch(ports, batch.input_key)
    (request,) = ports.runner.requests  # type: ignore[attr-defined]
    assert request["DataProcessing"]["InputFilter"] == "$.payload"
    assert request["DataProcessing"]["OutputFilter"] == "$['asyncmlJobId','SageMakerOutput']"
    line = read_lines(ports, batch.input_key)[0]
    ports.bucket.put(
        batch_files.output_key(batch.input_key),
        (line[:-1].split(', "payload"')[0] + ', "SageMakerOutput": {"label": "setosa"}}\n').encode(),
    )
    results.apply_output(ports, batch_files.output_key(batch.input_key))
    job = queries.list_jobs(ports).items[0]
    assert job.status is JobStatus.COMPLETED
    assert job.result == '{"label":"setosa"}'


def test_results_complete_every_job_with_the_whole_model_output(ports: Ports) -> None:
    ids, batch = seal(ports, ["1,2", "3,4", '"a,b",5'])
    transform.start_batch(ports, batch.input_key)
    done = results.apply_output(ports, play_transform(ports, batch))
    assert done is not None and done.status is BatchStatus.COMPLETED
    assert (done.completed_count, done.failed_count) == (3, 0)
    jobs = [queries.get_job(ports, i) for i in ids]
    assert [j.result for j in jobs] == ["label-0", "label-1", "label-2"]  # type: ignore[union-attr]
    assert all(j.completed_at is not None for j in jobs)  # type: ignore[union-attr]
    assert ports.publisher.statuses(ids[0]) == ["QUEUED", "BATCHED", "PROCESSING", "COMPLETED"]  # type: ignore[attr-defined]


def test_a_record_missing_from_the_output_fails_alone(ports: Ports) -> None:
    ids, batch = seal(ports, ["1,2", "3,4", "5,6"])
    done = results.apply_output(ports, play_transform(ports, batch, skip=1))
    assert done is not None and (done.completed_count, done.failed_count) == (2, 1)
    missing = queries.get_job(ports, ids[1])
    assert missing is not None and missing.status is JobStatus.FAILED
    assert missing.error == batch_files.MISSING_OUTPUT


def test_applying_an_output_twice_changes_nothing_and_publishes_nothing(ports: Ports) -> None:
    ids, batch = seal(ports, ["1,2", "3,4"])
    key = play_transform(ports, batch)
    results.apply_output(ports, key)
    before = (len(ports.publisher.jobs), len(ports.publisher.batches))  # type: ignore[attr-defined]
    results.apply_output(ports, key)
    assert (len(ports.publisher.jobs), len(ports.publisher.batches)) == before  # type: ignore[attr-defined]
    assert ports.publisher.statuses(ids[0]).count("COMPLETED") == 1  # type: ignore[attr-defined]


def test_failed_transform_fails_every_job_with_the_reason(ports: Ports) -> None:
    ids, batch = seal(ports, ["1,2", "3,4"])
    started = transform.start_batch(ports, batch.input_key)
    assert started is not None and started.transform_job_name
    reason = "ClientError: Bad HTTP status received from algorithm: 500"
    (failed,) = results.on_transform_state(ports, started.transform_job_name, "Failed", reason)
    assert failed.status is BatchStatus.FAILED and failed.error == reason and failed.failed_count == 2
    assert {queries.get_job(ports, i).error for i in ids} == {reason}  # type: ignore[union-attr]


def test_in_progress_after_completion_moves_nothing_back(ports: Ports) -> None:
    _, batch = seal(ports, ["1,2"])
    started = transform.start_batch(ports, batch.input_key)
    assert started is not None and started.transform_job_name
    results.on_transform_state(ports, started.transform_job_name, "Completed", None)  # no .out yet
    assert queries.get_batch(ports, batch.batch_id).status is BatchStatus.FAILED  # type: ignore[union-attr]
    ids2, batch2 = seal(ports, ["3,4"])
    started2 = transform.start_batch(ports, batch2.input_key)
    assert started2 is not None and started2.transform_job_name
    results.apply_output(ports, play_transform(ports, batch2))
    assert results.on_transform_state(ports, started2.transform_job_name, "InProgress", None) == []
    assert queries.get_job(ports, ids2[0]).status is JobStatus.COMPLETED  # type: ignore[union-attr]
    assert queries.get_batch(ports, batch2.batch_id).status is BatchStatus.COMPLETED  # type: ignore[union-attr]


def test_schedule_starts_one_job_over_a_manifest_of_unstarted_batches(ports: Ports) -> None:
    ports = with_settings(ports, trigger="schedule", transform_min_records=2)
    _, b1 = seal(ports, ["1,2"])
    ports.clock.advance(1)  # type: ignore[attr-defined]
    _, b2 = seal(ports, ["3,4"])
    name = transform.start_scheduled(ports)
    assert name is not None and name.startswith("asyncml-s-")
    (request,) = ports.runner.requests  # type: ignore[attr-defined]
    source = request["TransformInput"]["DataSource"]["S3DataSource"]
    assert source["S3DataType"] == "ManifestFile"
    assert transform.start_scheduled(ports) is None  # nothing left unstarted
    # The job failed on one file but wrote the other's output: that batch completes, the other fails.
    results_key = play_transform(ports, b1)
    settled = {b.batch_id: b for b in results.on_transform_state(ports, name, "Failed", "b2: model error")}
    assert settled[b1.batch_id].status is BatchStatus.COMPLETED
    assert settled[b2.batch_id].status is BatchStatus.FAILED
    assert ports.bucket.exists(results_key)


def test_a_replay_after_a_crash_before_the_file_was_written_writes_it(ports: Ports) -> None:
    jobs = submit_jobs(ports, [SubmitInput("1,2"), SubmitInput("3,4")])
    ids = [j.job_id for j in jobs]
    now = ports.clock.now()
    # The state a crash leaves between the batch record and the file: the record, no file, jobs QUEUED.
    batch_id = batch_files.make_batch_id(now, ids[0])
    key = batch_files.input_key(batch_id, "csv")
    ports.store.create_batch(
        Batch(
            batch_id=batch_id,
            status=BatchStatus.BATCHED,
            job_count=2,
            created_at=now,
            updated_at=now,
            input_key=key,
        )
    )
    again = batcher.seal_batch(ports, ids, seed=ids[0], first_seen=now)
    assert again is not None and again.batch_id == batch_id
    assert [line.split(",")[0] for line in read_lines(ports, key)] == ids
    assert {queries.get_job(ports, i).status for i in ids} == {JobStatus.BATCHED}  # type: ignore[union-attr]
    assert len(ports.publisher.batches) == 1  # type: ignore[attr-defined]  # announced once its file is written


def test_a_replay_after_a_crash_between_the_claim_and_the_record_finishes_the_batch(ports: Ports) -> None:
    jobs = submit_jobs(ports, [SubmitInput("1,2"), SubmitInput("3,4"), SubmitInput("5,6")])
    ids = [j.job_id for j in jobs]
    now = ports.clock.now()
    cancel_job(ports, ids[2])
    # The state a crash leaves after the claim: jobs BATCHED in a batch with no record and no file.
    batch_id = batch_files.make_batch_id(now, ids[0])
    ports.store.move_jobs([JobMove(i, JobStatus.BATCHED, batch_id=batch_id) for i in ids[:2]], now)
    again = batcher.seal_batch(ports, ids, seed=ids[0], first_seen=now)
    assert again is not None and (again.batch_id, again.job_count) == (batch_id, 2)
    assert [line.split(",")[0] for line in read_lines(ports, again.input_key)] == ids[:2]
    # A seal starting at another record finds every job claimed: no second batch, no second file.
    assert batcher.seal_batch(ports, ids[1:], seed=ids[1], first_seen=now) is None
    assert len(queries.list_batches(ports).items) == 1
