"""A moto-backed copy of template.yaml's storage (table, stream, bucket) for the cloud adapter tests.

The table is created from template.yaml's own definition, so the adapter and the template cannot
drift apart (a GSI renamed on one side fails here)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import boto3
import yaml
from moto import mock_aws

ROOT = Path(__file__).resolve().parents[1]
REGION = "us-east-1"
TABLE, STREAM, BUCKET = "asyncml-test", "asyncml-test", "asyncml-test-bucket"
# Fake credentials: moto signs nothing for real, and botocore must find some.
ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
       "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION}  # fmt: skip


class _CfnLoader(yaml.SafeLoader):
    """Reads CloudFormation's short-form tags (!Ref, !Sub, ...) as plain values."""


_CfnLoader.add_multi_constructor("!", lambda loader, _tag, node: _plain(loader, node))


def _plain(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]


@cache
def template() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.load((ROOT / "template.yaml").read_text(), Loader=_CfnLoader)
    return doc


def table_definition() -> dict[str, Any]:
    props = template()["Resources"]["Table"]["Properties"]
    keep = ("AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes", "BillingMode")
    return {k: props[k] for k in keep}


@dataclass(frozen=True)
class MotoStack:
    table: str
    stream: str
    bucket: str
    region: str = REGION

    def client(self, service: str) -> Any:
        return boto3.client(service, region_name=self.region)  # type: ignore[call-overload]


@contextmanager
def moto_stack(*, shards: int = 1) -> Iterator[MotoStack]:
    """Start moto, then create the stack's storage; clients made before the mock are not mocked."""
    saved = {k: os.environ.get(k) for k in ENV}
    os.environ.update(ENV)
    try:
        with mock_aws(config={"core": {"reset_boto3_session": False}}):
            boto3.client("dynamodb", region_name=REGION).create_table(TableName=TABLE, **table_definition())
            boto3.client("kinesis", region_name=REGION).create_stream(StreamName=STREAM, ShardCount=shards)
            boto3.client("s3", region_name=REGION).create_bucket(Bucket=BUCKET)
            yield MotoStack(TABLE, STREAM, BUCKET)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
