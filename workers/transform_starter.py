"""[3] -> [4] transform starter: a batch file created under data/, or the rule's tick -> transform jobs."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent, S3Event, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext

from asyncml import transform
from asyncml.aws.observability import logger, metrics
from asyncml.aws.s3_bucket import object_keys
from asyncml.aws.wiring import cloud_ports


def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """One function, two sources: the rule's tick (always: it re-drives, and in TriggerType
    schedule it starts the big transforms) and, in TriggerType s3, the bucket's notifications."""
    handler = on_schedule if event.get("source") == "aws.events" else on_batch_file
    answer: dict[str, Any] = handler(event, context)
    return answer


@logger.inject_lambda_context(correlation_id_path='Records[0].responseElements."x-amz-request-id"')
@metrics.log_metrics
@event_source(data_class=S3Event)
def on_batch_file(event: S3Event, context: LambdaContext) -> dict[str, Any]:
    """TriggerType s3: one transform job per batch file, named for its batch, so a repeated S3 event
    starts nothing more. A refused start is recorded on the batch (not raised): the rule re-drives it."""
    started = [transform.start_batch(cloud_ports(), key) for key in object_keys(event)]
    return {"transformJobNames": [b.transform_job_name for b in started if b is not None]}


@logger.inject_lambda_context(correlation_id_path=correlation_paths.EVENT_BRIDGE)
@metrics.log_metrics
@event_source(data_class=EventBridgeEvent)
def on_schedule(event: EventBridgeEvent, context: LambdaContext) -> dict[str, Any]:
    """The rule's tick: claims first, so a retry after a timeout or a second delivery of the same
    tick starts each batch once (the same transform job name, which SageMaker never runs twice)."""
    return {"transformJobNames": transform.tick(cloud_ports())}
