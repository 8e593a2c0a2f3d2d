"""[2] -> [3] stream re-drive: a stream batch the batcher gave up on (its on-failure record) -> sealed again.

The batcher's event source sends a stream batch that failed every retry to its on-failure queue:
a shard and a sequence range, not the records. This reads the range back from the stream and seals
it as the batcher would have (`stream_failures.redrive`); a range that still fails after
`MAX_ATTEMPTS` receives ends its jobs FAILED, visibly, instead of leaving them QUEUED."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from aws_lambda_powertools.utilities.data_classes import SQSEvent, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext

from asyncml import stream_failures
from asyncml.aws.observability import logger, metrics
from asyncml.aws.wiring import cloud_ports, cloud_stream_ranges


@logger.inject_lambda_context(correlation_id_path="Records[0].messageId")
@metrics.log_metrics
@event_source(data_class=SQSEvent)
def lambda_handler(event: SQSEvent, context: LambdaContext) -> dict[str, Any]:
    """One queue message per failed stream batch; a message whose range fails again is reported
    failed (ReportBatchItemFailures), so the queue hands it over again after its visibility timeout."""
    failures = []
    for message in event.records:
        try:
            _redrive(
                json.loads(message.body)["KinesisBatchInfo"],
                int(message.attributes.approximate_receive_count),
            )
        except Exception:
            logger.exception("stream batch not re-driven", extra={"message_id": message.message_id})
            failures.append({"itemIdentifier": message.message_id})
    return {"batchItemFailures": failures}


def _redrive(info: dict[str, Any], attempt: int) -> None:
    ports = cloud_ports()
    shard, start, end = info["shardId"], info["startSequenceNumber"], info["endSequenceNumber"]
    got = cloud_stream_ranges().read_range(shard, start, end)
    if got is None:
        # Past the stream's retention: nothing left to read. The records' jobs are QUEUED still.
        logger.error(
            "stream batch no longer on the stream", extra={"shard": shard, "start": start, "end": end}
        )
        return
    last = datetime.fromisoformat(info["approximateArrivalOfLastRecord"].replace("Z", "+00:00"))
    done = stream_failures.redrive(
        ports, got.job_ids, seed=got.seed, first_seen=got.first_seen, last_seen=max(last, got.first_seen),
        attempt=attempt, where=(shard, start),
    )  # fmt: skip
    if isinstance(done, int):
        logger.error(
            "stream batch given up: its jobs failed", extra={"shard": shard, "start": start, "jobs": done}
        )
    elif done is not None:
        logger.info("stream batch re-driven", extra={"batch_id": done.batch_id, "jobs": done.job_count})
