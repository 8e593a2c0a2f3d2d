"""[1] submit and queries: AppSync's client fields -> the core, in one powertools AppSyncResolver."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.event_handler import AppSyncResolver
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from asyncml import queries, retry, shapes, submit
from asyncml.aws.observability import logger, metrics
from asyncml.aws.wiring import cloud_ports
from asyncml.errors import AsyncmlError
from asyncml.model import JobStatus

app = AppSyncResolver()  # type: ignore[no-untyped-call]  # powertools leaves __init__ unannotated
Shape = dict[str, Any]


@app.resolver(type_name="Query", field_name="getJob")
def get_job(jobId: str) -> Shape | None:
    job = queries.get_job(cloud_ports(), jobId)
    return shapes.job(job) if job else None


@app.resolver(type_name="Query", field_name="listJobs")
def list_jobs(
    status: str | None = None,
    batchId: str | None = None,
    limit: int | None = None,
    nextToken: str | None = None,
) -> Shape:
    wanted = JobStatus(status) if status else None  # the schema's enum: AppSync has checked the value
    ports = cloud_ports()
    page = queries.list_jobs(ports, status=wanted, batch_id=batchId, limit=limit, next_token=nextToken)
    return shapes.page(page, shapes.job)


@app.resolver(type_name="Query", field_name="getBatch")
def get_batch(batchId: str) -> Shape | None:
    batch = queries.get_batch(cloud_ports(), batchId)
    return shapes.batch(batch) if batch else None


@app.resolver(type_name="Query", field_name="listBatches")
def list_batches(limit: int | None = None, nextToken: str | None = None) -> Shape:
    return shapes.page(queries.list_batches(cloud_ports(), limit=limit, next_token=nextToken), shapes.batch)


@app.resolver(type_name="Query", field_name="jobCounts")
def job_counts() -> dict[str, int]:
    return shapes.job_counts(queries.job_counts(cloud_ports()))


@app.resolver(type_name="Mutation", field_name="submitJob")
def submit_job(input: Shape) -> Shape:
    job = submit.submit_job(cloud_ports(), _submit_input(input))
    metrics.add_metric("JobsSubmitted", MetricUnit.Count, 1)
    return shapes.job(job)


@app.resolver(type_name="Mutation", field_name="submitJobs")
def submit_jobs(inputs: list[Shape]) -> list[Shape]:
    jobs = submit.submit_jobs(cloud_ports(), [_submit_input(i) for i in inputs])
    metrics.add_metric("JobsSubmitted", MetricUnit.Count, len(jobs))
    return [shapes.job(j) for j in jobs]


@app.resolver(type_name="Mutation", field_name="cancelJob")
def cancel_job(jobId: str) -> Shape:
    return shapes.job(submit.cancel_job(cloud_ports(), jobId))


@app.resolver(type_name="Mutation", field_name="retryJobs")
def retry_jobs(jobIds: list[str]) -> list[Shape]:
    jobs = retry.retry_jobs(cloud_ports(), jobIds)
    metrics.add_metric("JobsRetried", MetricUnit.Count, len(jobs))
    return [shapes.job(j) for j in jobs]


@app.exception_handler(AsyncmlError)  # type: ignore[untyped-decorator]  # unannotated in powertools
def domain_error(exc: AsyncmlError) -> dict[str, str]:
    """A bad input is an answer, not a crash: appsync/invoke_lambda.js turns this shape into a
    GraphQL error with this errorType (a raised exception would reach the client only as
    "Lambda:Unhandled"). The local server sends the same errorType for the same input."""
    logger.info("refused", extra={"error_type": exc.error_type, "field": exc.field})
    return {"errorType": exc.error_type, "errorMessage": exc.message}


def _submit_input(arg: Shape) -> submit.SubmitInput:
    metadata = arg.get("metadata")
    if metadata is not None and not isinstance(metadata, str):
        metadata = json.dumps(metadata)  # AWSJSON may reach a Lambda parsed; the core keeps the text
    return submit.SubmitInput(payload=arg["payload"], client_token=arg.get("clientToken"), metadata=metadata)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.APPSYNC_RESOLVER)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> Any:
    return app.resolve(event, context)
