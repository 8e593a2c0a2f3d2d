"""[8] subscription (local API): strawberry types mirroring schema.graphql, AppSync scalars and directives."""

from __future__ import annotations

import json
from typing import Any, NewType, TypeVar

import strawberry
from strawberry import UNSET
from strawberry.schema_directive import Location
from strawberry.types.scalar import ScalarDefinition

from asyncml import model, shapes

T = TypeVar("T")

# AppSync scalars. Both travel as strings; the GraphQL layer keeps them as strings because
# `shapes` already renders them the way AppSync does (UTC, milliseconds, `Z`; JSON text).
AWSDateTime = NewType("AWSDateTime", str)
AWSJSON = NewType("AWSJSON", str)


def _parse_datetime(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError("AWSDateTime must be a string like 2026-01-31T12:00:00.000Z")
    return shapes.aws_datetime(shapes.parse_aws_datetime(value))


def _parse_json(value: object) -> str:
    # AppSync takes AWSJSON as a JSON string; a structured value is serialised for the caller. A string
    # that is not JSON passes through so the core can refuse it naming the field and the limit.
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


SCALARS: dict[object, ScalarDefinition] = {
    AWSDateTime: strawberry.scalar(name="AWSDateTime", serialize=str, parse_value=_parse_datetime),
    AWSJSON: strawberry.scalar(name="AWSJSON", serialize=str, parse_value=_parse_json),
}


# AppSync's directives are predefined there, so strawberry must not print their definitions.
# Without an explicit `name=`, strawberry would camelCase them (`@awsSubscribe`).
@strawberry.schema_directive(
    locations=[Location.OBJECT, Location.FIELD_DEFINITION], name="aws_api_key", print_definition=False
)
class AwsApiKey:
    pass


@strawberry.schema_directive(
    locations=[Location.OBJECT, Location.FIELD_DEFINITION], name="aws_iam", print_definition=False
)
class AwsIam:
    pass


@strawberry.schema_directive(
    locations=[Location.FIELD_DEFINITION], name="aws_subscribe", print_definition=False
)
class AwsSubscribe:
    mutations: list[str]


# The domain enums serve as the GraphQL enums (strawberry.enum marks the class and returns it).
JobStatus = model.JobStatus
BatchStatus = model.BatchStatus
strawberry.enum(JobStatus, name="JobStatus")
strawberry.enum(BatchStatus, name="BatchStatus")

_BOTH = [AwsApiKey(), AwsIam()]


# Field names are the GraphQL names, so a `shapes.job()` dict constructs a `Job` directly.
@strawberry.type(directives=_BOTH)
class Job:
    jobId: strawberry.ID
    status: JobStatus
    payload: str
    result: str | None
    resultKey: str | None = strawberry.field(
        description="Where a COMPLETED job's result is kept when it is too large for the job (result is then"
        " null): its key in the stack's bucket; locally GET /jobs/<jobId>/result with the API key."
    )
    error: str | None
    batchId: strawberry.ID | None
    transformJobName: str | None
    metadata: AWSJSON | None
    submittedAt: AWSDateTime
    updatedAt: AWSDateTime
    completedAt: AWSDateTime | None
    attempt: int = strawberry.field(description="1 for the submitted job, one more for each retryJobs.")


@strawberry.type(directives=_BOTH)
class Batch:
    batchId: strawberry.ID
    status: BatchStatus
    jobCount: int
    completedCount: int
    failedCount: int
    transformJobName: str | None
    error: str | None
    createdAt: AWSDateTime
    updatedAt: AWSDateTime


@strawberry.type(
    description="Many jobs moved together to one status: a submit or retry call, a sealed batch, a "
    "transform\nstart, a batch's results. One update per group of up to 1,000 jobs. For an end (COMPLETED,\n"
    "FAILED, CANCELLED) jobs holds the whole jobs; a job too large to share an update (about 200 KB)\n"
    "is named in jobIds only, and getJob reads it.",
    directives=_BOTH,
)
class JobsMoved:
    status: JobStatus
    jobIds: list[strawberry.ID]
    batchId: strawberry.ID | None
    transformJobName: str | None
    updatedAt: AWSDateTime
    jobs: list[Job] | None = strawberry.field(
        description="For an end, the jobs of jobIds, whole (null for QUEUED, BATCHED and PROCESSING)."
    )


@strawberry.type(directives=_BOTH)
class JobConnection:
    items: list[Job]
    nextToken: str | None


@strawberry.type(directives=_BOTH)
class BatchConnection:
    items: list[Batch]
    nextToken: str | None


@strawberry.type(description="How many jobs the server holds in each status, and in all.", directives=_BOTH)
class JobCounts:
    queued: int
    batched: int
    processing: int
    completed: int
    failed: int
    cancelled: int
    total: int


@strawberry.input
class SubmitJobInput:
    payload: str
    clientToken: str | None = UNSET
    metadata: AWSJSON | None = UNSET


@strawberry.input(description="Job's fields as an input: what a worker publishes after a status move.")
class JobUpdate:
    jobId: strawberry.ID
    status: JobStatus
    payload: str
    result: str | None = UNSET
    resultKey: str | None = UNSET
    error: str | None = UNSET
    batchId: strawberry.ID | None = UNSET
    transformJobName: str | None = UNSET
    metadata: AWSJSON | None = UNSET
    submittedAt: AWSDateTime
    updatedAt: AWSDateTime
    completedAt: AWSDateTime | None = UNSET
    attempt: int


@strawberry.input(
    description="JobsMoved's fields as an input: what a worker publishes after a group of jobs moves."
)
class JobsMovedUpdate:
    status: JobStatus
    jobIds: list[strawberry.ID]
    batchId: strawberry.ID | None = UNSET
    transformJobName: str | None = UNSET
    updatedAt: AWSDateTime
    jobs: list[JobUpdate] | None = UNSET


@strawberry.input(description="Batch's fields as an input: what a worker publishes after a batch moves.")
class BatchUpdate:
    batchId: strawberry.ID
    status: BatchStatus
    jobCount: int
    completedCount: int
    failedCount: int
    transformJobName: str | None = UNSET
    error: str | None = UNSET
    createdAt: AWSDateTime
    updatedAt: AWSDateTime


def job_of(fields: dict[str, Any]) -> Job:
    return Job(**fields)


def batch_of(fields: dict[str, Any]) -> Batch:
    return Batch(**fields)


def moved_of(fields: dict[str, Any]) -> JobsMoved:
    jobs = fields.get("jobs")
    return JobsMoved(**{**fields, "jobs": None if jobs is None else [job_of(j) for j in jobs]})


# Optional arguments default to UNSET rather than None so the printed SDL declares no default
# (`= null` would be a "dangerous change" against schema.graphql); the core wants None.
def opt(value: T | None) -> T | None:
    return None if value is UNSET else value


def fields_of(obj: object) -> dict[str, Any]:
    """An input object's fields by GraphQL name, UNSET as None."""
    return {k: opt(v) for k, v in vars(obj).items()}
