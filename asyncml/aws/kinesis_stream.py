"""[2] buffer: JobStream on Kinesis, and what its event source mapping (BatchSize and window) delivers."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from asyncml.model import Job, run_of

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes import KinesisStreamEvent
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


@dataclass(frozen=True)
class StreamBatch:
    """What one batcher invocation got from the event source mapping."""

    job_ids: list[str]
    seed: str  # with first_seen, fixes the batch id (batcher.seal_batch)
    first_seen: datetime
    undecodable: list[str]  # sequence numbers of records that carry no job id


def read_batch(event: KinesisStreamEvent) -> StreamBatch:
    """The job ids of a Kinesis event, and the records that do not decode, to be reported failed."""
    records = list(event.records)
    ids, bad = [], []
    for r in records:
        try:
            ids.append(job_id_of(r.kinesis.data_as_bytes()))
        except (ValueError, KeyError, TypeError):
            bad.append(r.kinesis.sequence_number)
    # Kinesis redelivers a failed batch from the same first record: seeding the batch id with its
    # shard and sequence number (and its arrival time) seals the same batch again, not a second.
    first = records[0]
    arrived = datetime.fromtimestamp(first.kinesis.approximate_arrival_timestamp, UTC)
    return StreamBatch(job_ids=ids, seed=first.event_id, first_seen=arrived, undecodable=bad)


def read_range(
    client: KinesisClient, stream_name: str, shard_id: str, start: str, end: str
) -> StreamBatch | None:
    """The records of one shard from `start` to `end` (sequence numbers, both included) as the
    batcher got them, seeded the same way so a re-drive seals the same batch: what a batch the
    event source gave up on held (its on-failure record names only the range). None when the
    stream no longer holds them (past its retention)."""
    iterator: str | None = client.get_shard_iterator(
        StreamName=stream_name,
        ShardId=shard_id,
        ShardIteratorType="AT_SEQUENCE_NUMBER",
        StartingSequenceNumber=start,
    )["ShardIterator"]
    last = int(end)
    ids: list[str] = []
    arrivals: list[datetime] = []
    empty = 0
    while iterator and empty < 5:
        got = client.get_records(ShardIterator=iterator, Limit=10_000)
        records = got["Records"]
        empty = 0 if records else empty + 1
        for r in records:
            if int(r["SequenceNumber"]) > last:
                iterator = None
                break
            try:
                ids.append(job_id_of(r["Data"]))
            except (ValueError, KeyError, TypeError):
                continue  # the batcher reported it failed: no job to seal
            arrivals.append(r["ApproximateArrivalTimestamp"].astimezone(UTC))
        else:
            # Go on while the shard holds more (a read may come back empty though behind).
            behind = got.get("MillisBehindLatest", 0) > 0
            iterator = got.get("NextShardIterator") if records or behind else None
    if not arrivals:
        return None
    return StreamBatch(job_ids=ids, seed=f"{shard_id}:{start}", first_seen=arrivals[0], undecodable=[])


class KinesisJobStream:
    def __init__(
        self, client: KinesisClient, stream_name: str, *, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self._kinesis, self._name, self._sleep = client, stream_name, sleep

    def read_range(self, shard_id: str, start: str, end: str) -> StreamBatch | None:
        """`read_range` on this stream."""
        return read_range(self._kinesis, self._name, shard_id, start, end)

    def put(self, jobs: Sequence[Job]) -> None:
        # Partition key = the job's run (one submit call): its jobs reach one shard, in order, so
        # a batch mostly takes a run whole and its moves are one store write (DynamoRunStore).
        # Runs, not jobs, spread over the shards; the batcher needs no order between them.
        entries: list[PutRecordsRequestEntryTypeDef] = [
            {"Data": record_data(j), "PartitionKey": run_of(j.job_id)} for j in jobs
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
