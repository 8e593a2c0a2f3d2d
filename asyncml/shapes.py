"""[7][8] shapes: domain objects as GraphQL field dicts (AWSDateTime, AWSJSON), shared by both runtimes."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from asyncml.model import Batch, BatchStatus, Job, JobsMoved, JobStatus, Page

T = TypeVar("T")


@functools.lru_cache(maxsize=4096)
def aws_datetime(value: datetime) -> str:
    """AWSDateTime as AppSync emits it: UTC, milliseconds, a `Z`."""
    if value.utcoffset():
        value = value.astimezone(UTC)
    # Every update formats three times; a job's submittedAt recurs in each of its updates, and a
    # batch's moves share one `now`, so most calls are cache hits. isoformat beats strftime on a miss.
    text = value.isoformat(timespec="milliseconds")
    return text[:-6] + "Z" if value.tzinfo is not None else text + "Z"


def parse_aws_datetime(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def job(j: Job) -> dict[str, Any]:
    """Every field of `Job`: the publish mutation selects them all, because AppSync hands a
    subscriber only what the triggering mutation selected."""
    return {
        "jobId": j.job_id,
        "status": j.status.value,
        "payload": j.payload,
        "result": j.result,
        "resultKey": j.result_key,
        "error": j.error,
        "batchId": j.batch_id,
        "transformJobName": j.transform_job_name,
        "metadata": j.metadata,
        "submittedAt": aws_datetime(j.submitted_at),
        "updatedAt": aws_datetime(j.updated_at),
        "completedAt": aws_datetime(j.completed_at) if j.completed_at else None,
        "attempt": j.attempt,
    }


def batch(b: Batch) -> dict[str, Any]:
    return {
        "batchId": b.batch_id,
        "status": b.status.value,
        "jobCount": b.job_count,
        "completedCount": b.completed_count,
        "failedCount": b.failed_count,
        "transformJobName": b.transform_job_name,
        "error": b.error or _waiting(b),
        "createdAt": aws_datetime(b.created_at),
        "updatedAt": aws_datetime(b.updated_at),
    }


def _waiting(b: Batch) -> str | None:
    """While a refused start waits for the re-drive, the batch says why it has not started."""
    if b.status is not BatchStatus.BATCHED or not b.start_error:
        return None
    return f"waiting to start (attempt {b.start_attempts} was refused): {b.start_error}"


def job_from_fields(f: dict[str, Any]) -> Job:
    """The inverse of `job`: a publish mutation's JobUpdate back into the domain object
    (`resultKey` is derived from the others)."""
    when = parse_aws_datetime
    return Job(
        job_id=f["jobId"],
        status=JobStatus(f["status"]),
        payload=f["payload"],
        result=f.get("result"),
        error=f.get("error"),
        batch_id=f.get("batchId"),
        transform_job_name=f.get("transformJobName"),
        metadata=f.get("metadata"),
        submitted_at=when(f["submittedAt"]),
        updated_at=when(f["updatedAt"]),
        completed_at=when(f["completedAt"]) if f.get("completedAt") else None,
        attempt=f.get("attempt") or 1,
    )


def batch_from_fields(f: dict[str, Any]) -> Batch:
    """The inverse of `batch`; `input_key` is not part of the API, so an update never carries it."""
    return Batch(
        batch_id=f["batchId"],
        status=BatchStatus(f["status"]),
        job_count=f["jobCount"],
        completed_count=f["completedCount"],
        failed_count=f["failedCount"],
        transform_job_name=f.get("transformJobName"),
        error=f.get("error"),
        input_key="",
        created_at=parse_aws_datetime(f["createdAt"]),
        updated_at=parse_aws_datetime(f["updatedAt"]),
    )


# One JobsMoved update names at most this many jobs: 1,000 ids of 36 characters are ~40 KB, well
# inside AppSync's 240 KB subscription payload, and a 5,000-job batch still costs 5 requests a move.
MOVES_MAX_IDS = 1000
# An end's update carries whole jobs up to this many bytes of JSON (ids and jobs): AppSync delivers
# nothing of a publish whose payload is over 240 KB, and the envelope around it needs some room.
ENDS_MAX_BYTES = 200_000


def moves_updates(m: JobsMoved) -> list[dict[str, Any]]:
    """`JobsMoved` (and its input, JobsMovedUpdate) in updates of at most MOVES_MAX_IDS ids each.

    An end's updates carry its jobs whole, also at most ENDS_MAX_BYTES each; a job too large for
    one update on its own is named in `jobIds` only (a client reads it with getJob)."""
    common = _moves_common(m)
    return [
        {"jobIds": ids, **common, **({"jobs": [fields for fields, _ in jobs]} if m.jobs else {})}
        for ids, jobs in _move_groups(m)
    ]


def moves_updates_json(m: JobsMoved) -> list[str]:
    """`moves_updates` as JSON text, each job encoded once: the encoding that sized it."""
    common = json.dumps(_moves_common(m))[1:-1]
    texts = []
    for ids, jobs in _move_groups(m):
        head = '{"jobIds": ' + json.dumps(ids) + ", " + common
        texts.append(head + (', "jobs": [' + ", ".join(text for _, text in jobs) + "]}" if m.jobs else "}"))
    return texts


def _moves_common(m: JobsMoved) -> dict[str, Any]:
    return {
        "status": m.status.value,
        "batchId": m.batch_id,
        "transformJobName": m.transform_job_name,
        "updatedAt": aws_datetime(m.updated_at),
    }


def _move_groups(m: JobsMoved) -> list[tuple[list[str], list[tuple[dict[str, Any], str]]]]:
    """The ids of each update, and for an end its jobs' fields with their JSON."""
    ids = m.job_ids
    if not m.jobs:
        return [(list(ids[i : i + MOVES_MAX_IDS]), []) for i in range(0, len(ids), MOVES_MAX_IDS)]
    whole = {j.job_id: j for j in m.jobs}
    groups: list[tuple[list[str], list[tuple[dict[str, Any], str]]]] = []
    group_ids: list[str] = []
    group_jobs: list[tuple[dict[str, Any], str]] = []
    size = 0
    for job_id in ids:
        j = whole.get(job_id)
        fields = job(j) if j is not None else None
        # json's defaults: ensure_ascii makes characters and bytes one, and the spaced separators
        # count what the most verbose encoder of this update (ours, AppSync's) could send.
        text = json.dumps(fields) if fields is not None else ""
        cost = len(job_id) + 4 + (len(text) + 2 if fields is not None else 0)
        if fields is not None and cost > ENDS_MAX_BYTES:
            fields, cost = None, len(job_id) + 4
        if group_ids and (len(group_ids) == MOVES_MAX_IDS or size + cost > ENDS_MAX_BYTES):
            groups.append((group_ids, group_jobs))
            group_ids, group_jobs, size = [], [], 0
        group_ids.append(job_id)
        if fields is not None:
            group_jobs.append((fields, text))
        size += cost
    if group_ids:
        groups.append((group_ids, group_jobs))
    return groups


def moves_from_fields(f: dict[str, Any]) -> JobsMoved:
    """The inverse of one `moves_updates` item: a publishJobsMoved input back into the domain object."""
    return JobsMoved(
        status=JobStatus(f["status"]),
        job_ids=tuple(f["jobIds"]),
        updated_at=parse_aws_datetime(f["updatedAt"]),
        batch_id=f.get("batchId"),
        transform_job_name=f.get("transformJobName"),
        jobs=tuple(job_from_fields(j) for j in f.get("jobs") or ()),
    )


# The publish mutations take the object's own fields as their input.
job_update = job
batch_update = batch

JOB_FIELDS = [
    "jobId",
    "status",
    "payload",
    "result",
    "resultKey",
    "error",
    "batchId",
    "transformJobName",
    "metadata",
    "submittedAt",
    "updatedAt",
    "completedAt",
    "attempt",
]
MOVES_FIELDS = [
    "status",
    "jobIds",
    "batchId",
    "transformJobName",
    "updatedAt",
    "jobs { " + " ".join(JOB_FIELDS) + " }",
]
BATCH_FIELDS = [
    "batchId",
    "status",
    "jobCount",
    "completedCount",
    "failedCount",
    "transformJobName",
    "error",
    "createdAt",
    "updatedAt",
]


def page(p: Page[T], shape: Callable[[T], dict[str, Any]]) -> dict[str, Any]:
    return {"items": [shape(i) for i in p.items], "nextToken": p.next_token}


def job_counts(counts: dict[JobStatus, int]) -> dict[str, int]:
    """`JobCounts`: one field per status (`queued`, ...) plus `total`."""
    fields = {status.value.lower(): counts.get(status, 0) for status in JobStatus}
    return {**fields, "total": sum(fields.values())}
