"""[2] buffer: JobStream on Kinesis; the window itself is the event source mapping's BatchSize and window."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING

from asyncml.model import Job

if TYPE_CHECKING:
    from mypy_boto3_kinesis import KinesisClient
    from mypy_boto3_kinesis.type_defs import PutRecordsRequestEntryTypeDef

MAX_RECORDS = 500  # PutRecords takes at most 500 records ...
MAX_BYTES = 5 * 1024 * 1024  # ... and 5 MiB (data plus partition keys) per call
MAX_ATTEMPTS = 8


class StreamUnavailable(RuntimeError):
    """Kinesis kept refusing some records; the submit fails and the client may retry."""


def record_data(job: Job) -> bytes:
    """What the batcher reads: the job id (it loads the job from the store, so a cancel made after
    the put is seen) and the submit time (for the submit->complete latency metric)."""
    return json.dumps({"jobId": job.job_id, "submittedAt": job.submitted_at.isoformat()}).encode()


def job_id_of(data: bytes) -> str:
    value: str = json.loads(data)["jobId"]
    return value


class KinesisJobStream:
    def __init__(
        self, client: KinesisClient, stream_name: str, *, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self._kinesis, self._name, self._sleep = client, stream_name, sleep

    def put(self, jobs: Sequence[Job]) -> None:
        # Partition key = job id: records spread evenly over shards and the batcher needs no order.
        entries: list[PutRecordsRequestEntryTypeDef] = [
            {"Data": record_data(j), "PartitionKey": j.job_id} for j in jobs
        ]
        for chunk in _chunks(entries):
            self._put_chunk(chunk)

    def _put_chunk(self, pending: list[PutRecordsRequestEntryTypeDef]) -> None:
        for attempt in range(MAX_ATTEMPTS):
            got = self._kinesis.put_records(StreamName=self._name, Records=pending)
            if not got.get("FailedRecordCount"):
                return
            # A throttled shard fails only its own records (ProvisionedThroughputExceeded) while the
            # call succeeds: resend exactly the failed ones, after a pause.
            pending = [e for e, r in zip(pending, got["Records"], strict=True) if "ErrorCode" in r]
            self._sleep(random.uniform(0, min(2.0, 0.05 * 2**attempt)))
        raise StreamUnavailable(f"Kinesis refused {len(pending)} records after {MAX_ATTEMPTS} attempts")


def _chunks(entries: list[PutRecordsRequestEntryTypeDef]) -> Iterator[list[PutRecordsRequestEntryTypeDef]]:
    chunk: list[PutRecordsRequestEntryTypeDef] = []
    size = 0
    for e in entries:
        data = e["Data"]
        n = (len(data) if isinstance(data, bytes) else 0) + len(e["PartitionKey"].encode())
        if chunk and (len(chunk) == MAX_RECORDS or size + n > MAX_BYTES):
            yield chunk
            chunk, size = [], 0
        chunk.append(e)
        size += n
    if chunk:
        yield chunk
