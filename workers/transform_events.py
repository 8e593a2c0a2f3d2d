"""[4] -> [5] transform events: SageMaker's job state changes (EventBridge) -> batches and jobs settle."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext

from asyncml import results
from asyncml.aws.observability import logger, metrics
from asyncml.aws.wiring import cloud_ports


@logger.inject_lambda_context(correlation_id_path=correlation_paths.EVENT_BRIDGE)
@metrics.log_metrics
@event_source(data_class=EventBridgeEvent)
def lambda_handler(event: EventBridgeEvent, context: LambdaContext) -> dict[str, Any]:
    """EventBridge delivers at least once and out of order: a late InProgress after Completed is a
    no-op, because every move the core makes is conditional on the status only climbing."""
    detail = event.detail
    moved = results.on_transform_state(
        cloud_ports(), detail["TransformJobName"], detail["TransformJobStatus"], detail.get("FailureReason")
    )
    return {"batches": [{"batchId": b.batch_id, "status": b.status.value} for b in moved]}
