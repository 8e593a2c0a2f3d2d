"""The moto-backed AWS adapters, registered into the contract suites' fixtures (see conftest.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from asyncml.aws.dynamodb_run_store import DynamoRunStore
from asyncml.aws.dynamodb_store import DynamoJobStore
from asyncml.aws.dynamodb_wire import plain_results_path
from asyncml.aws.s3_bucket import S3Bucket
from tests.moto_stack import moto_stack


def _dynamo_store(_tmp: Path) -> Iterator[Any]:
    with moto_stack() as stack:
        # One worker: moto undoes a cancelled transaction by restoring a copy of the whole table,
        # so two of its transactions at once can undo each other (DynamoDB isolates them).
        # As cloud_ports builds it: TransactWriteItems and BatchGetItem as plain JSON.
        client = plain_results_path(stack.client("dynamodb"))
        yield DynamoJobStore(client, stack.table, ttl_days=30, workers=1)


def _dynamo_run_store(_tmp: Path) -> Iterator[Any]:
    with moto_stack() as stack:
        client = plain_results_path(stack.client("dynamodb"))
        yield DynamoRunStore(client, stack.table, ttl_days=30, workers=1)


def _s3_bucket(_tmp: Path) -> Iterator[Any]:
    with moto_stack() as stack:
        yield S3Bucket(stack.client("s3"), stack.bucket)


STORE_FACTORIES: dict[str, Callable[[Path], Any]] = {
    "dynamodb": _dynamo_store,
    "dynamodb-runs": _dynamo_run_store,
}
BUCKET_FACTORIES: dict[str, Callable[[Path], Any]] = {"s3": _s3_bucket}
