"""The batcher's Kinesis event source mapping: replays that cannot split a batch, bounded retries,
an encrypted on-failure queue, and batches large enough to cut per-batch overhead."""

from __future__ import annotations

import base64
import json

from tests.cloud_harness import load_event
from tests.moto_stack import template

LAMBDA_EVENT_LIMIT = 6 * 1024 * 1024


def test_the_stream_mapping_never_splits_a_batch_and_never_retries_forever() -> None:
    resources = template()["Resources"]
    batcher = resources["BatcherFunction"]["Properties"]
    mapping = batcher["Events"]["Submitted"]["Properties"]
    assert mapping["BisectBatchOnFunctionError"] is False  # a split half would seal under another id
    assert 0 < mapping["MaximumRetryAttempts"] <= 10
    assert 0 < mapping["MaximumRecordAgeInSeconds"] <= 3600
    queue = mapping["DestinationConfig"]["OnFailure"]
    assert queue["Type"] == "SQS"
    queue_name = str(queue["Destination"]).removesuffix(".Arn")  # !GetAtt Queue.Arn
    assert resources[queue_name]["Properties"]["SqsManagedSseEnabled"] is True


def test_the_default_batch_is_large_and_its_event_fits_lambda() -> None:
    params = template()["Parameters"]
    size, window = params["BatchSize"]["Default"], params["BatchWindow"]["Default"]
    # At 100 jobs/s over the default shards (or the 4 an on-demand stream starts with), a file
    # holds >= 500 records; the shards carry 1,000 jobs/s (1,000 records/s each) with room to spare.
    shards = params["ShardCount"]["Default"] or 4
    assert 100 / shards * window >= 500 and size >= 5000
    assert 1000 / shards <= 500
    # What one record costs in the event Lambda hands the batcher (the documented shape).
    record = load_event("kinesis")["Records"][0]
    data = json.dumps(
        {"jobId": "00000000-0000-4000-8000-000000000000", "submittedAt": "2026-12-02T06:00:00.000000+00:00"}
    )
    record["kinesis"]["data"] = base64.b64encode(data.encode()).decode()
    per_record = len(json.dumps(record))
    # Lambda stops a batch at 6 MB on its own; the template's figure (~9,000) is what that allows.
    assert 8000 < LAMBDA_EVENT_LIMIT // per_record < 10000
