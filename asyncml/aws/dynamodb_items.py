"""[6] store: how jobs, batches and client tokens are laid out as DynamoDB items (pure)."""

from __future__ import annotations

import contextlib
import zlib
from datetime import UTC, datetime, timedelta
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from asyncml.model import Batch, BatchStatus, Job, JobStatus

# One table, one string partition key `pk`. Three KEYS_ONLY / INCLUDE indexes serve the listings;
# KEYS_ONLY means a status move writes only the indexes whose keys change, not a copy of the item.
BY_KIND = "byKind"  # kind -> sortKey: every job (or batch), newest first
BY_STATUS = "byStatus"  # statusKey -> sortKey: jobs (or batches) in one status, newest first
BY_BATCH = "byBatch"  # batchKey -> sortKey: the jobs of one batch (status projected, for listJobs)
JOB, BATCH, TOKEN = "job", "batch", "token"
# A job's index keys carry a shard suffix (`job#QUEUED#07`), a stable hash of its id: at 1,000 jobs/s
# one unsharded key would take every job's write (~2,000 WCU/s on job#QUEUED; one partition
# allows 1,000). Listings read the 16 shards and merge them. Batches (~1/1,000 of the writes) are not
# sharded. Items written before sharding hold the bare key (`job#QUEUED`, `job`, the batch id):
# listings read it as a 17th source, so those jobs stay listed and counted (docs/performance.md).
SHARDS = 16
# A fixed-width UTC format, so that string order is time order in the sort keys.
_TIME = "%Y-%m-%dT%H:%M:%S.%fZ"

_ser = TypeSerializer()
_de = TypeDeserializer()


def ts(value: datetime) -> str:
    return value.astimezone(UTC).strftime(_TIME)


def parse_ts(text: str) -> datetime:
    # fromisoformat reads what ts() writes ~10x faster than strptime (results read back 500 jobs a
    # chunk); anything else falls to strptime, which raises as before.
    if len(text) == 27 and text[-1] == "Z" and text[10] == "T":
        with contextlib.suppress(ValueError):
            return datetime.fromisoformat(text[:-1]).replace(tzinfo=UTC)
    return datetime.strptime(text, _TIME).replace(tzinfo=UTC)


def key(kind: str, ident: str) -> dict[str, Any]:
    return {"pk": {"S": f"{kind}#{ident}"}}


def status_key(kind: str, status: str) -> str:
    return f"{kind}#{status}"


def shard(job_id: str) -> str:
    return f"{zlib.crc32(job_id.encode()) % SHARDS:02d}"  # crc32: the same in every process


def job_status_key(job_id: str, status: str) -> str:
    return f"{JOB}#{status}#{shard(job_id)}"


def job_batch_key(job_id: str, batch_id: str | None) -> str | None:
    return f"{batch_id}#{shard(job_id)}" if batch_id is not None else None


def sources(value: str) -> list[str]:
    """Every partition key value a sharded listing of `value` reads: the shards, then the bare
    key of items written before sharding."""
    return [f"{value}#{i:02d}" for i in range(SHARDS)] + [value]


def expires_at(now: datetime, ttl_days: int) -> int | None:
    """Epoch seconds for DynamoDB TTL (it deletes within days after that time, not at it)."""
    return int((now + timedelta(days=ttl_days)).timestamp()) if ttl_days > 0 else None


def to_item(values: dict[str, Any]) -> dict[str, Any]:
    # Strings, most of every item, skip boto3's type dispatch; it serializes the rest as before.
    return {k: {"S": v} if type(v) is str else _ser.serialize(v) for k, v in values.items() if v is not None}


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v["S"] if "S" in v and len(v) == 1 else _de.deserialize(v) for k, v in item.items()}


def job_item(job: Job, ttl_days: int) -> dict[str, Any]:
    terminal = job.completed_at is not None
    return to_item(
        {
            "pk": f"{JOB}#{job.job_id}",
            "kind": f"{JOB}#{shard(job.job_id)}",
            "sortKey": f"{ts(job.submitted_at)}#{job.job_id}",
            "statusKey": job_status_key(job.job_id, job.status),
            "batchKey": job_batch_key(job.job_id, job.batch_id),
            "jobId": job.job_id,
            "status": job.status.value,
            "payload": job.payload,
            "result": job.result,
            "error": job.error,
            "batchId": job.batch_id,
            "transformJobName": job.transform_job_name,
            "metadata": job.metadata,
            "clientToken": job.client_token,
            "submittedAt": ts(job.submitted_at),
            "updatedAt": ts(job.updated_at),
            "completedAt": ts(job.completed_at) if job.completed_at else None,
            "expiresAt": expires_at(job.updated_at, ttl_days) if terminal else None,
            "attempt": job.attempt,
        }
    )


# What job_from_item reads: a read of jobs asks only these (not the index keys, the sort key or the
# TTL), so botocore parses a third fewer attributes. Reads cost the same: RRU go by item size.
JOB_ATTRIBUTES = ("jobId", "status", "payload", "submittedAt", "updatedAt", "result", "error", "batchId",
                  "transformJobName", "metadata", "clientToken", "completedAt", "attempt")  # fmt: skip


def job_from_item(item: dict[str, Any]) -> Job:
    v = from_item(item)
    return Job(
        job_id=v["jobId"],
        status=JobStatus(v["status"]),
        payload=v["payload"],
        submitted_at=parse_ts(v["submittedAt"]),
        updated_at=parse_ts(v["updatedAt"]),
        result=v.get("result"),
        error=v.get("error"),
        batch_id=v.get("batchId"),
        transform_job_name=v.get("transformJobName"),
        metadata=v.get("metadata"),
        client_token=v.get("clientToken"),
        completed_at=parse_ts(v["completedAt"]) if v.get("completedAt") else None,
        attempt=int(v.get("attempt", 1)),  # items written before retryJobs have none
    )


def batch_item(batch: Batch) -> dict[str, Any]:
    return to_item(
        {
            "pk": f"{BATCH}#{batch.batch_id}",
            "kind": BATCH,
            "sortKey": f"{ts(batch.created_at)}#{batch.batch_id}",
            "statusKey": status_key(BATCH, batch.status),
            "batchId": batch.batch_id,
            "status": batch.status.value,
            "jobCount": batch.job_count,
            "completedCount": batch.completed_count,
            "failedCount": batch.failed_count,
            "createdAt": ts(batch.created_at),
            "updatedAt": ts(batch.updated_at),
            "inputKey": batch.input_key,
            "transformJobName": batch.transform_job_name,
            "error": batch.error,
            "startAttempts": batch.start_attempts or None,
            "startError": batch.start_error,
        }
    )


def batch_from_item(item: dict[str, Any]) -> Batch:
    v = from_item(item)
    return Batch(
        batch_id=v["batchId"],
        status=BatchStatus(v["status"]),
        job_count=int(v["jobCount"]),
        created_at=parse_ts(v["createdAt"]),
        updated_at=parse_ts(v["updatedAt"]),
        input_key=v["inputKey"],
        completed_count=int(v.get("completedCount", 0)),
        failed_count=int(v.get("failedCount", 0)),
        transform_job_name=v.get("transformJobName"),
        error=v.get("error"),
        start_attempts=int(v.get("startAttempts", 0)),  # absent until a start is refused
        start_error=v.get("startError"),
    )
