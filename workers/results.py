"""[5] -> [6] -> [7] results: a .out object created under result/ -> its jobs COMPLETED / FAILED."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.data_classes import S3Event, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext

from asyncml import results
from asyncml.aws.observability import logger, metrics
from asyncml.aws.s3_bucket import object_keys
from asyncml.aws.wiring import cloud_ports


@logger.inject_lambda_context(correlation_id_path='Records[0].responseElements."x-amz-request-id"')
@metrics.log_metrics
@event_source(data_class=S3Event)
def lambda_handler(event: S3Event, context: LambdaContext) -> dict[str, Any]:
    """S3 delivers at least once: applying the same .out again moves no job and publishes nothing."""
    applied = [results.apply_output(cloud_ports(), key) for key in object_keys(event)]
    return {"batches": [{"batchId": b.batch_id, "status": b.status.value} for b in applied if b is not None]}
