"""Cloud wiring: Settings from the environment plus the AWS adapters, built once per Lambda container."""

from __future__ import annotations

import functools

import boto3
from botocore.config import Config

from asyncml.aws.appsync_publisher import AppSyncPublisher
from asyncml.aws.dynamodb_run_store import DynamoRunStore
from asyncml.aws.dynamodb_wire import plain_results_path
from asyncml.aws.kinesis_stream import KinesisJobStream
from asyncml.aws.metered_publisher import MeteredPublisher
from asyncml.aws.observability import metrics
from asyncml.aws.s3_bucket import S3Bucket
from asyncml.aws.sagemaker_runner import SageMakerTransformRunner
from asyncml.ports import Ports, SystemClock
from asyncml.settings import Settings

WORKERS = 16  # concurrent DynamoDB moves and AppSync publishes in one invocation


def cloud_ports() -> Ports:
    """Built on first use, not at import: a handler module imports cleanly anywhere, and tests
    create the clients inside moto's mock (clients made before it are not intercepted)."""
    return _built()[0]


def cloud_stream_ranges() -> KinesisJobStream:
    """The same job stream, for the stream re-drive, which reads shard ranges back (the JobStream
    port only appends; reading a range is Kinesis's own)."""
    return _built()[1]


def reset() -> None:
    """Forget the clients: the next call builds them again (from the environment as it is then)."""
    _built.cache_clear()


@functools.cache
def _built() -> tuple[Ports, KinesisJobStream]:
    settings = Settings.from_env()
    session = boto3.Session(region_name=settings.region or None)
    # Adaptive retry mode slows the client itself down under throttling instead of only retrying;
    # the pool is sized for the thread pools that share each client.
    config = Config(retries={"mode": "adaptive", "max_attempts": 8}, max_pool_connections=WORKERS + 4)
    region = session.region_name or "us-east-1"
    credentials = session.get_credentials()
    if credentials is None:
        raise RuntimeError("no AWS credentials found for signing AppSync requests")
    s3 = session.client("s3", config=config)
    stream = KinesisJobStream(session.client("kinesis", config=config), settings.stream_name)
    # The store builds every request itself, and botocore's validation walked each of a
    # transaction's 100 Updates, attribute map by map: a quarter of the results worker's CPU.
    # DynamoDB still refuses a malformed request (a ValidationException instead of botocore's error).
    dynamodb = plain_results_path(
        session.client("dynamodb", config=config.merge(Config(parameter_validation=False)))
    )
    ports = Ports(
        settings=settings,
        store=DynamoRunStore(
            dynamodb,
            settings.table_name,
            ttl_days=settings.job_ttl_days,
            workers=WORKERS,
        ),
        stream=stream,
        bucket=S3Bucket(s3, settings.bucket_name, kms_key_id=settings.kms_key_id),
        runner=SageMakerTransformRunner(session.client("sagemaker", config=config)),
        publisher=MeteredPublisher(
            AppSyncPublisher(
                settings.graphql_url, region, credentials, workers=WORKERS, each_job_end=settings.each_job_end
            ),
            metrics,  # the handler's own: what the publisher counts, the handler flushes
        ),
        clock=SystemClock(),
    )
    return ports, stream
