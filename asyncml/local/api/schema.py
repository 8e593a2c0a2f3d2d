"""[8] subscription (local API): the strawberry schema; resolvers make the same core calls as the cloud's."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from typing import Any

import strawberry
from strawberry import UNSET
from strawberry.extensions import ParserCache, ValidationCache
from strawberry.permission import BasePermission
from strawberry.schema.config import StrawberryConfig

from asyncml import queries, retry, shapes, submit
from asyncml.local.api import limits
from asyncml.local.api.errors import AppSyncErrors, log_unexpected
from asyncml.local.api.subscriptions import follow
from asyncml.local.api.types import (
    SCALARS,
    AwsIam,
    AwsSubscribe,
    Batch,
    BatchConnection,
    BatchUpdate,
    Job,
    JobConnection,
    JobCounts,
    JobsMoved,
    JobsMovedUpdate,
    JobStatus,
    JobUpdate,
    SubmitJobInput,
    batch_of,
    fields_of,
    job_of,
    moved_of,
    opt,
)
from asyncml.local.broadcast import Broadcast, Topic
from asyncml.ports import Ports

API_KEY = "API_KEY"
# Locally nothing outside the process can present IAM credentials: only code holding the schema
# (tests, an in-process worker) can build a context with this mode. The local pipeline itself
# publishes through the Broadcast port and never needs the publish mutations.
AWS_IAM = "AWS_IAM"


@dataclass
class ApiContext:
    ports: Ports  # ports.publisher is where the publish mutations hand their updates
    topics: Broadcast  # where subscriptions listen
    auth_mode: str = API_KEY
    request: Any = None
    response: Any = None
    connection_params: Any = None  # strawberry's WebSocket handlers put the connection_init payload here
    # Set by a subscription resolver once it is registered, so AppSync's start_ack never precedes it.
    subscribed: asyncio.Event | None = field(default=None)
    # Set by limits.DocumentBudget when the document asks for many list items: the answer is then
    # encoded off the event loop.
    large_answer: bool = False


class IamOnly(BasePermission):
    # AppSync's own wording and errorType for a caller whose auth mode the field does not allow.
    error_extensions = {"errorType": "Unauthorized"}

    def has_permission(self, source: Any, info: strawberry.Info, **kwargs: Any) -> bool:
        if info.context.auth_mode == AWS_IAM:
            return True
        self.message = f"Not Authorized to access {info.field_name} on type Mutation"
        return False


def _ports(info: strawberry.Info) -> Ports:
    ports: Ports = info.context.ports
    return ports


def _inp(i: SubmitJobInput) -> submit.SubmitInput:
    return submit.SubmitInput(payload=i.payload, client_token=opt(i.clientToken), metadata=opt(i.metadata))


@strawberry.type
class Query:
    @strawberry.field
    def get_job(self, info: strawberry.Info, job_id: strawberry.ID) -> Job | None:
        j = queries.get_job(_ports(info), job_id)
        return job_of(shapes.job(j)) if j else None

    @strawberry.field
    async def list_jobs(
        self,
        info: strawberry.Info,
        status: JobStatus | None = UNSET,
        batch_id: strawberry.ID | None = UNSET,
        limit: int | None = UNSET,
        next_token: str | None = UNSET,
    ) -> JobConnection:
        def read() -> JobConnection:
            p = queries.list_jobs(
                _ports(info),
                status=opt(status),
                batch_id=opt(batch_id),
                limit=opt(limit),
                next_token=opt(next_token),
            )
            return JobConnection(items=[job_of(shapes.job(j)) for j in p.items], nextToken=p.next_token)

        # Up to 1,000 rows of up to 256 KiB each: read and shaped in a thread, not on the event loop.
        return await asyncio.to_thread(read)

    @strawberry.field
    def get_batch(self, info: strawberry.Info, batch_id: strawberry.ID) -> Batch | None:
        b = queries.get_batch(_ports(info), batch_id)
        return batch_of(shapes.batch(b)) if b else None

    @strawberry.field
    async def list_batches(
        self, info: strawberry.Info, limit: int | None = UNSET, next_token: str | None = UNSET
    ) -> BatchConnection:
        def read() -> BatchConnection:
            p = queries.list_batches(_ports(info), limit=opt(limit), next_token=opt(next_token))
            return BatchConnection(items=[batch_of(shapes.batch(b)) for b in p.items], nextToken=p.next_token)

        return await asyncio.to_thread(read)

    @strawberry.field
    def job_counts(self, info: strawberry.Info) -> JobCounts:
        return JobCounts(**shapes.job_counts(queries.job_counts(_ports(info))))


def _publish_job_update(info: strawberry.Info, update: JobUpdate) -> Job | None:
    # As AppSync: this mutation fires onJobUpdated, and nothing else.
    f = fields_of(update)
    info.context.topics.jobs.publish([shapes.job_from_fields(f)])
    return job_of(f)


def _publish_batch_update(info: strawberry.Info, update: BatchUpdate) -> Batch | None:
    f = fields_of(update)
    _ports(info).publisher.publish_batch(shapes.batch_from_fields(f))
    return batch_of(f)


def _publish_jobs_moved(info: strawberry.Info, update: JobsMovedUpdate) -> JobsMoved | None:
    f = fields_of(update)
    if f["jobs"] is not None:
        f["jobs"] = [fields_of(j) for j in f["jobs"]]
    _ports(info).publisher.publish_moves(shapes.moves_from_fields(f))
    return moved_of(f)


@strawberry.type
class Mutation:
    @strawberry.mutation
    def submit_job(self, info: strawberry.Info, input: SubmitJobInput) -> Job:
        return job_of(shapes.job(submit.submit_job(_ports(info), _inp(input))))

    @strawberry.mutation
    def submit_jobs(self, info: strawberry.Info, inputs: list[SubmitJobInput]) -> list[Job]:
        return [job_of(shapes.job(j)) for j in submit.submit_jobs(_ports(info), [_inp(i) for i in inputs])]

    @strawberry.mutation
    def cancel_job(self, info: strawberry.Info, job_id: strawberry.ID) -> Job:
        return job_of(shapes.job(submit.cancel_job(_ports(info), job_id)))

    @strawberry.mutation
    def retry_jobs(self, info: strawberry.Info, job_ids: list[strawberry.ID]) -> list[Job]:
        return [job_of(shapes.job(j)) for j in retry.retry_jobs(_ports(info), job_ids)]

    # Like AppSync's NONE data source: hand the update to the subscribers and return it unchanged.
    # (Assigned, not decorated: strawberry's decorator overloads with arguments are untyped.)
    publish_job_update = strawberry.mutation(
        resolver=_publish_job_update, permission_classes=[IamOnly], directives=[AwsIam()]
    )
    publish_batch_update = strawberry.mutation(
        resolver=_publish_batch_update, permission_classes=[IamOnly], directives=[AwsIam()]
    )
    publish_jobs_moved = strawberry.mutation(
        resolver=_publish_jobs_moved, permission_classes=[IamOnly], directives=[AwsIam()]
    )


async def _follow(
    info: strawberry.Info, topic: Topic[Any], filters: dict[str, Any]
) -> AsyncGenerator[dict[str, Any], None]:
    ctx: ApiContext = info.context
    subscribed = ctx.subscribed.set if ctx.subscribed is not None else None
    async for fields in follow(topic, filters, subscribed):
        yield fields


async def _on_job_updated(
    info: strawberry.Info,
    job_id: strawberry.ID | None = UNSET,
    batch_id: strawberry.ID | None = UNSET,
    status: JobStatus | None = UNSET,
) -> AsyncGenerator[Job | None, None]:
    filters = {"jobId": opt(job_id), "batchId": opt(batch_id), "status": opt(status)}
    async for fields in _follow(info, info.context.topics.jobs, filters):
        yield job_of(fields)


async def _on_jobs_moved(
    info: strawberry.Info,
    job_id: strawberry.ID | None = UNSET,
    batch_id: strawberry.ID | None = UNSET,
    status: JobStatus | None = UNSET,
) -> AsyncGenerator[JobsMoved | None, None]:
    # jobId matches an update whose jobIds contains it (AppSync: the resolver's `contains` filter).
    filters = {"jobId": opt(job_id), "batchId": opt(batch_id), "status": opt(status)}
    async for fields in _follow(info, info.context.topics.moves, filters):
        yield moved_of(fields)


async def _on_batch_updated(
    info: strawberry.Info, batch_id: strawberry.ID | None = UNSET
) -> AsyncGenerator[Batch | None, None]:
    async for fields in _follow(info, info.context.topics.batches, {"batchId": opt(batch_id)}):
        yield batch_of(fields)


@strawberry.type
class Subscription:
    on_job_updated = strawberry.subscription(
        resolver=_on_job_updated,
        description="A job's end (COMPLETED, FAILED, CANCELLED), the whole job. Its earlier moves come on "
        "onJobsMoved.",
        directives=[AwsSubscribe(mutations=["publishJobUpdate"])],
    )
    on_jobs_moved = strawberry.subscription(
        resolver=_on_jobs_moved,
        description="Groups of jobs that moved; jobId matches an update whose jobIds contains it.",
        directives=[AwsSubscribe(mutations=["publishJobsMoved"])],
    )
    on_batch_updated = strawberry.subscription(
        resolver=_on_batch_updated, directives=[AwsSubscribe(mutations=["publishBatchUpdate"])]
    )


class AsyncmlSchema(strawberry.Schema):
    def process_errors(self, errors: Any, execution_context: Any = None) -> None:
        log_unexpected(errors)  # a refused input is the client's business, not a server log line


schema = AsyncmlSchema(
    query=Query,
    mutation=Mutation,
    subscription=Subscription,
    config=StrawberryConfig(scalar_map=SCALARS),
    extensions=[AppSyncErrors, ParserCache, ValidationCache, *limits.extensions()],
)
