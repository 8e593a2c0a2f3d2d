"""Kinesis, S3, SageMaker and AppSync adapters: the AWS behaviours the contract suites cannot show."""

from __future__ import annotations

import base64
import copy
import io
import json
import tracemalloc
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.data_classes import KinesisStreamEvent, S3Event
from botocore.response import StreamingBody
from botocore.stub import ANY, Stubber
from graphql import GraphQLSchema, parse, validate

from asyncml import shapes
from asyncml.aws.appsync_publisher import AppSyncPublisher
from asyncml.aws.kinesis_stream import (
    MAX_RECORDS,
    KinesisJobStream,
    StreamUnavailable,
    job_id_of,
    read_batch,
    record_data,
)
from asyncml.aws.s3_bucket import S3Bucket, object_keys
from asyncml.aws.sagemaker_runner import SageMakerTransformRunner
from asyncml.batch_files import split_lines
from asyncml.model import Job, JobsMoved, JobStatus
from asyncml.ports import TransformStartRefused
from tests.cloud_harness import appsync_stub, load_event
from tests.moto_stack import moto_stack
from tests.test_schema_matches import ROOT, _build

T0 = datetime(2026, 11, 25, 12, tzinfo=UTC)


def job(i: int, payload: str = "1,2") -> Job:
    return Job(
        job_id=f"job-{i:05d}", status=JobStatus.QUEUED, payload=payload, submitted_at=T0, updated_at=T0
    )


def client(service: str) -> Any:
    return boto3.client(service, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")  # type: ignore[call-overload]


def test_kinesis_puts_at_most_500_records_a_call_keyed_by_the_jobs_run() -> None:
    with moto_stack() as stack:
        kinesis = stack.client("kinesis")
        calls: list[int] = []
        kinesis.meta.events.register(
            "provide-client-params.kinesis.PutRecords",
            lambda params, **_: calls.append(len(params["Records"])),
        )
        KinesisJobStream(kinesis, stack.stream).put([job(i) for i in range(1201)])
        assert calls == [MAX_RECORDS, MAX_RECORDS, 201]
        shard = kinesis.list_shards(StreamName=stack.stream)["Shards"][0]["ShardId"]
        it = kinesis.get_shard_iterator(
            StreamName=stack.stream, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
        )
        got = kinesis.get_records(ShardIterator=it["ShardIterator"], Limit=3)["Records"]
        # Keyed by run (the id but its last 3 characters): a run's jobs reach one shard, in order.
        assert [(r["PartitionKey"], job_id_of(r["Data"])) for r in got] == [
            ("job-00", f"job-{i:05d}") for i in range(3)
        ]


def test_kinesis_resends_only_the_records_a_throttled_shard_refused() -> None:
    kinesis = client("kinesis")
    pauses: list[float] = []
    stream = KinesisJobStream(kinesis, "s", sleep=pauses.append)
    ok, throttled = (
        {"SequenceNumber": "1", "ShardId": "shardId-0"},
        {"ErrorCode": "ProvisionedThroughputExceededException", "ErrorMessage": "slow down"},
    )
    with Stubber(kinesis) as stub:
        stub.add_response(
            "put_records",
            {"FailedRecordCount": 1, "Records": [ok, throttled, ok]},
            {"StreamName": "s", "Records": ANY},
        )
        resent = {"StreamName": "s", "Records": [{"Data": ANY, "PartitionKey": "job-00"}]}
        stub.add_response("put_records", {"Records": [ok]}, resent)
        stream.put([job(1), job(2), job(3)])
        stub.assert_no_pending_responses()
    assert len(pauses) == 1


def test_kinesis_gives_up_loudly_when_a_record_keeps_failing() -> None:
    kinesis = client("kinesis")
    stream = KinesisJobStream(kinesis, "s", sleep=lambda _: None)
    refused = {"ErrorCode": "InternalFailure", "ErrorMessage": "x"}
    with Stubber(kinesis) as stub, pytest.raises(StreamUnavailable):
        for _ in range(8):
            stub.add_response(
                "put_records",
                {"FailedRecordCount": 1, "Records": [refused]},
                {"StreamName": "s", "Records": ANY},
            )
        stream.put([job(1)])


def test_a_kinesis_batch_is_seeded_by_its_first_record_and_keeps_the_undecodable_apart() -> None:
    event = load_event("kinesis")  # its record's data ("Hello, this is a test.") is no job id
    good = copy.deepcopy(event["Records"][0])
    good["kinesis"]["sequenceNumber"] = "2"
    good["kinesis"]["data"] = base64.b64encode(record_data(job(1))).decode()
    event["Records"].append(good)
    got = read_batch(KinesisStreamEvent(event))
    assert got.job_ids == ["job-00001"]
    assert got.undecodable == [event["Records"][0]["kinesis"]["sequenceNumber"]]
    # a redelivery starts from the same first record: same seed, same arrival time, same batch id
    assert got.seed == event["Records"][0]["eventID"]
    assert got.first_seen == datetime.fromtimestamp(1545084650.987, UTC)


class LazyLines(io.RawIOBase):
    """An object body that makes its lines as they are read, like a socket: nothing held in memory."""

    def __init__(self, lines: int) -> None:
        self.left, self.line = lines, b"0123456789abcdef,setosa,0.97,0.02,0.01\n"

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = min(len(buffer) // len(self.line), self.left)
        data = self.line * n
        buffer[: len(data)] = data
        self.left -= n
        return len(data)


def peak_while_reading(lines: int) -> int:
    s3 = client("s3")
    bucket = S3Bucket(s3, "b")
    raw = LazyLines(lines)
    body = StreamingBody(io.BufferedReader(raw), lines * len(raw.line))
    with Stubber(s3) as stub:
        stub.add_response("get_object", {"Body": body}, {"Bucket": "b", "Key": "result/x.out"})
        tracemalloc.start()
        count = sum(1 for _ in split_lines(bucket.read_chunks("result/x.out")))
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert count == lines
    return peak


def test_s3_results_are_read_as_a_stream_memory_flat_as_the_object_grows() -> None:
    small, large = peak_while_reading(50_000), peak_while_reading(500_000)  # 2 MB and 20 MB objects
    assert large < small * 1.5 and large < 8 * 1024 * 1024


def test_s3_objects_are_written_encrypted() -> None:
    with moto_stack() as stack:
        s3 = stack.client("s3")
        S3Bucket(s3, stack.bucket).put("data/a.csv", b"x\n")
        assert s3.head_object(Bucket=stack.bucket, Key="data/a.csv")["ServerSideEncryption"] == "AES256"


def test_s3_event_keys_are_read_url_decoded() -> None:
    event = load_event("s3_object_created")
    event["Records"][0]["s3"]["object"]["key"] = "data/2026/11/25/my+notes+%281%29.csv"
    assert object_keys(S3Event(event)) == ["data/2026/11/25/my notes (1).csv"]


DUPLICATES = [
    ("ResourceInUse", "Job name in use"),
    ("ValidationException", "Transform job name must be unique within an AWS account and region"),
    ("ValidationException", "Job asyncml-x already exists"),
]


@pytest.mark.parametrize(("code", "message"), DUPLICATES)
def test_a_transform_job_that_exists_already_counts_as_started(code: str, message: str) -> None:
    sagemaker = client("sagemaker")
    with Stubber(sagemaker) as stub:
        stub.add_client_error("create_transform_job", code, message)
        SageMakerTransformRunner(sagemaker).start(request())


def test_other_sagemaker_refusals_are_raised_with_sagemakers_code_and_message() -> None:
    sagemaker = client("sagemaker")
    with Stubber(sagemaker) as stub, pytest.raises(TransformStartRefused) as refused:
        stub.add_client_error("create_transform_job", "ResourceLimitExceeded", "quota of 0 ml.m5.xlarge")
        SageMakerTransformRunner(sagemaker).start(request())
    assert str(refused.value) == "ResourceLimitExceeded: quota of 0 ml.m5.xlarge"


def request() -> dict[str, Any]:
    return {"TransformJobName": "asyncml-x", "ModelName": "m",
            "TransformInput": {"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://b/k"}}},
            "TransformOutput": {"S3OutputPath": "s3://b/r/"},
            "TransformResources": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1}}  # fmt: skip


@pytest.fixture
def signed_by_testing(monkeypatch: pytest.MonkeyPatch) -> None:
    """The AppSync stub checks SigV4 against the environment's credentials: `testing`, as the
    publishers built here sign."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)


def publisher(url: str, pauses: list[float] | None = None, *, each_job_end: bool = False) -> AppSyncPublisher:
    creds = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing").get_credentials()
    assert creds is not None
    sleep = (pauses if pauses is not None else []).append
    return AppSyncPublisher(url, "us-east-1", creds, sleep=sleep, each_job_end=each_job_end)


def ended(i: int, status: JobStatus = JobStatus.COMPLETED, **changes: Any) -> Job:
    fields = {"result": f"r{i}", "batch_id": "b1", "transform_job_name": "asyncml-b1", "completed_at": T0}
    return job(i).replace(status=status, **{**fields, **changes})


def test_ends_are_published_signed_in_groups_of_whole_jobs_selecting_every_field(
    signed_by_testing: None,
) -> None:
    jobs = [ended(i, JobStatus.FAILED if i % 4 == 0 else JobStatus.COMPLETED) for i in range(40)]
    with appsync_stub() as stub:
        publisher(stub.url).publish_jobs(jobs)
        assert stub.refused == [] and stub.updates("publishJobUpdate") == []
        updates = stub.updates("publishJobsMoved")
        # One request per status of the batch, not one per job.
        assert sorted((u["status"], len(u["jobIds"])) for u in updates) == [("COMPLETED", 30), ("FAILED", 10)]
        for u in updates:
            assert [j["jobId"] for j in u["jobs"]] == u["jobIds"]
            assert all(j["status"] == u["status"] and j["batchId"] == u["batchId"] == "b1" for j in u["jobs"])
        assert sorted(j["jobId"] for u in updates for j in u["jobs"]) == [j.job_id for j in jobs]
        assert next(j for u in updates for j in u["jobs"] if j["jobId"] == "job-00007") == shapes.job(jobs[7])
        doc = parse(stub.published[0]["query"])
        assert validate(appsync_schema(), doc) == []
        assert all(f" {name} " in stub.published[0]["query"] for name in shapes.JOB_FIELDS)


def test_with_each_job_end_every_end_is_also_its_own_publish_job_update(signed_by_testing: None) -> None:
    with appsync_stub() as stub:
        publisher(stub.url, each_job_end=True).publish_jobs([ended(i) for i in range(40)])
        assert stub.refused == []
        assert sorted(u["jobId"] for u in stub.updates("publishJobUpdate")) == [
            f"job-{i:05d}" for i in range(40)
        ]
        assert [len(u["jobs"]) for u in stub.updates("publishJobsMoved")] == [40]


def test_an_end_group_stays_under_appsyncs_payload_limit_and_a_job_too_large_is_named_only(
    signed_by_testing: None,
) -> None:
    # 60 jobs of ~10 KB results, and one whose payload alone (256 KiB) is over the 240 KB limit.
    jobs = [ended(i, result="x" * 10_000) for i in range(60)]
    jobs.insert(30, ended(99, result="y").replace(payload="p" * 256 * 1024))
    with appsync_stub() as stub:
        publisher(stub.url).publish_jobs(jobs)
        updates = stub.updates("publishJobsMoved")
        assert stub.refused == [] and len(updates) > 1
        assert all(len(json.dumps(u)) < 240_000 for u in updates)
        assert sorted(i for u in updates for i in u["jobIds"]) == sorted(j.job_id for j in jobs)
        carried = [j["jobId"] for u in updates for j in u["jobs"]]
        assert sorted(carried) == sorted(j.job_id for j in jobs if j.job_id != "job-00099")


def test_throttled_publishes_are_retried_with_backoff(signed_by_testing: None) -> None:
    pauses: list[float] = []
    with appsync_stub() as stub:
        stub.throttle_next = 2
        publisher(stub.url, pauses).publish_jobs([ended(1)])
        assert [u["jobIds"] for u in stub.updates("publishJobsMoved")] == [["job-00001"]]
    assert len(pauses) == 2


def test_a_publish_refused_for_good_is_not_retried(signed_by_testing: None) -> None:
    pauses: list[float] = []
    with appsync_stub() as stub:
        # signed with other credentials than the stub checks against: a 401, final
        wrong = boto3.Session(aws_access_key_id="wrong", aws_secret_access_key="wrong").get_credentials()
        assert wrong is not None
        AppSyncPublisher(stub.url, "us-east-1", wrong, sleep=pauses.append).publish_jobs([job(1)])
        assert stub.published == [] and len(stub.refused) == 1
    assert pauses == []


def test_a_group_move_is_published_in_updates_of_at_most_1000_ids_selecting_every_field(
    signed_by_testing: None,
) -> None:
    ids = tuple(f"job-{i:05d}" for i in range(2500))
    moved = JobsMoved(JobStatus.PROCESSING, ids, datetime(2026, 1, 2, tzinfo=UTC), "b1", "asyncml-b1")
    with appsync_stub() as stub:
        publisher(stub.url).publish_moves(moved)
        updates = stub.updates("publishJobsMoved")
        assert stub.refused == [] and len(updates) == 3  # ceil(2500 / 1000) requests, not 2,500
        assert sorted(len(u["jobIds"]) for u in updates) == [500, 1000, 1000]
        assert sorted(i for u in updates for i in u["jobIds"]) == list(ids)
        assert {(u["status"], u["batchId"], u["transformJobName"]) for u in updates} == {
            ("PROCESSING", "b1", "asyncml-b1")
        }
        # The document is valid against the AppSync SDL and selects every JobsMoved field, because
        # AppSync hands subscribers (and filters on) only what the mutation selected.
        doc = parse(stub.published[0]["query"])
        assert validate(appsync_schema(), doc) == []
        assert all(f" {name} " in stub.published[0]["query"] for name in shapes.MOVES_FIELDS)


def appsync_schema() -> GraphQLSchema:
    return _build((ROOT / "schema.graphql").read_text())
