"""[3] -> [4] transform starter: a batch file created under data/ (or the schedule) -> a transform job."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent, S3Event, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext

from asyncml import transform
from asyncml.aws.observability import logger, metrics
from asyncml.aws.s3_bucket import object_keys
from asyncml.aws.wiring import cloud_ports

# One entry per event source: template.yaml's Handler picks one by TriggerType, which wires either
# the bucket's notification or the rate rule to this function, never both.


@logger.inject_lambda_context(correlation_id_path='Records[0].responseElements."x-amz-request-id"')
@metrics.log_metrics
@event_source(data_class=S3Event)
def on_batch_file(event: S3Event, context: LambdaContext) -> dict[str, Any]:
    """TriggerType s3: one transform job per batch file, named for its batch, so a repeated S3 event
    starts nothing more."""
    started = [transform.start_batch(cloud_ports(), key) for key in object_keys(event)]
    return {"transformJobNames": [b.transform_job_name for b in started if b is not None]}


@logger.inject_lambda_context(correlation_id_path=correlation_paths.EVENT_BRIDGE)
@metrics.log_metrics
@event_source(data_class=EventBridgeEvent)
def on_schedule(event: EventBridgeEvent, context: LambdaContext) -> dict[str, Any]:
    """TriggerType schedule: the rate rule's tick, one transform job over every batch not yet started."""
    return {"transformJobName": transform.start_scheduled(cloud_ports())}
