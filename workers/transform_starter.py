"""[3] -> [4] transform starter: a batch file created under data/ (or the schedule) -> a transform job."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.data_classes import S3Event
from aws_lambda_powertools.utilities.typing import LambdaContext

from asyncml import transform
from asyncml.aws.observability import logger, metrics
from asyncml.aws.s3_bucket import object_keys
from asyncml.aws.wiring import cloud_ports


@logger.inject_lambda_context(correlation_id_path='Records[0].responseElements."x-amz-request-id" || id')
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if event.get("source") == "aws.events":  # the EventBridge schedule (TriggerType schedule)
        return {"transformJobName": transform.start_scheduled(cloud_ports())}
    started = [transform.start_batch(cloud_ports(), key) for key in object_keys(S3Event(event))]
    return {"transformJobNames": [b.transform_job_name for b in started if b is not None]}
