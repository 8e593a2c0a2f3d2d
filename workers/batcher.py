"""[2] -> [3] batcher: a Kinesis batch of submitted job ids -> one sealed batch file (jobs -> BATCHED)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import KinesisStreamEvent, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext

from asyncml import batcher
from asyncml.aws.kinesis_stream import read_batch
from asyncml.aws.observability import logger, metrics
from asyncml.aws.wiring import cloud_ports


@logger.inject_lambda_context(correlation_id_path="Records[0].eventID")
@metrics.log_metrics
@event_source(data_class=KinesisStreamEvent)
def lambda_handler(event: KinesisStreamEvent, context: LambdaContext) -> dict[str, Any]:
    """The event source mapping's BatchSize and window are the batch thresholds: one invocation,
    one batch. A record that does not decode is reported failed (ReportBatchItemFailures), so
    after the retries it lands on the on-failure queue instead of vanishing or blocking the shard."""
    got = read_batch(event)
    if got.job_ids:
        batch = batcher.seal_batch(cloud_ports(), got.job_ids, seed=got.seed, first_seen=got.first_seen)
        if batch is not None:
            metrics.add_metric("BatchesSealed", MetricUnit.Count, 1)
            logger.info("batch sealed", extra={"batch_id": batch.batch_id, "jobs": batch.job_count})
    return {"batchItemFailures": [{"itemIdentifier": n} for n in got.undecodable]}
