"""[6] store: how jobs, batches and client tokens are laid out as DynamoDB items (pure)."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from asyncml.errors import ValidationError
from asyncml.model import Batch, BatchStatus, Job, JobStatus

# One table, one string partition key `pk`. Three KEYS_ONLY / INCLUDE indexes serve the listings;
# KEYS_ONLY means a status move writes only the indexes whose keys change, not a copy of the item.
BY_KIND = "byKind"  # kind -> sortKey: every job (or batch), newest first
BY_STATUS = "byStatus"  # statusKey -> sortKey: jobs (or batches) in one status, newest first
BY_BATCH = "byBatch"  # batchKey -> sortKey: the jobs of one batch (status projected for counting)
JOB, BATCH, TOKEN = "job", "batch", "token"
# A fixed-width UTC format, so that string order is time order in the sort keys.
_TIME = "%Y-%m-%dT%H:%M:%S.%fZ"

_ser = TypeSerializer()
_de = TypeDeserializer()


def ts(value: datetime) -> str:
    return value.astimezone(UTC).strftime(_TIME)


def parse_ts(text: str) -> datetime:
    return datetime.strptime(text, _TIME).replace(tzinfo=UTC)


def key(kind: str, ident: str) -> dict[str, Any]:
    return {"pk": {"S": f"{kind}#{ident}"}}


def status_key(kind: str, status: str) -> str:
    return f"{kind}#{status}"


def expires_at(now: datetime, ttl_days: int) -> int | None:
    """Epoch seconds for DynamoDB TTL (it deletes within days after that time, not at it)."""
    return int((now + timedelta(days=ttl_days)).timestamp()) if ttl_days > 0 else None


def to_item(values: dict[str, Any]) -> dict[str, Any]:
    return {k: _ser.serialize(v) for k, v in values.items() if v is not None}


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _de.deserialize(v) for k, v in item.items()}


def job_item(job: Job, ttl_days: int) -> dict[str, Any]:
    terminal = job.completed_at is not None
    return to_item(
        {
            "pk": f"{JOB}#{job.job_id}",
            "kind": JOB,
            "sortKey": f"{ts(job.submitted_at)}#{job.job_id}",
            "statusKey": status_key(JOB, job.status),
            "batchKey": job.batch_id,
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


def encode_token(index: str, last_key: dict[str, Any] | None) -> str | None:
    """nextToken: DynamoDB's LastEvaluatedKey, base64url, tagged with the listing it belongs to."""
    if not last_key:
        return None
    raw = json.dumps({"i": index, "k": last_key}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode()


def decode_token(index: str, token: str | None) -> dict[str, Any] | None:
    if token is None:
        return None
    try:
        doc = json.loads(base64.urlsafe_b64decode(token.encode()))
        ok = isinstance(doc, dict) and doc.get("i") == index and isinstance(doc.get("k"), dict)
    except (ValueError, binascii.Error):
        ok = False
    if not ok:
        raise ValidationError(
            "nextToken is not one this listing returned; pass the nextToken of the previous page "
            "with the same filters, or leave it out to start again",
            field="nextToken",
        )
    last_key: dict[str, Any] = doc["k"]
    return last_key
