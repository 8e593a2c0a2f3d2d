"""[6] store: listings of runs (`DynamoRunStore`): the index entries of a filter, newest first, and
the page token that resumes them.

An index holds a run's state item (or a marker standing for it) under one of 16 shard keys; a
listing reads every shard newest first and merges them. A token names the run a page stopped in
(its sort key) and how many of its matching jobs that page listed, so the next page starts at that
run (`sortKey <=` it) and skips those.
"""

from __future__ import annotations

import base64
import binascii
import functools
import heapq
import json
from collections.abc import Iterator
from concurrent.futures import Executor
from itertools import islice
from typing import TYPE_CHECKING, Any

from asyncml.aws import dynamodb_runs as runs
from asyncml.errors import ValidationError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


def entries(
    db: DynamoDBClient, table: str, pool: Executor, where: tuple[str, str, list[str]], start: str | None
) -> Iterator[tuple[str, str]]:
    """(sort key, run) of every entry under `where` (index, its key attribute, the key's shard
    values), newest first, from the sort key `start` on (included); each run once."""
    index, attr, values = where

    def first(value: str) -> dict[str, Any]:
        args: dict[str, Any] = {
            "TableName": table, "IndexName": index, "ScanIndexForward": False,
            "KeyConditionExpression": "#k = :k", "ExpressionAttributeNames": {"#k": attr},
            "ExpressionAttributeValues": {":k": {"S": value}},
        }  # fmt: skip
        if start is not None:
            args["KeyConditionExpression"] += " AND sortKey <= :s"
            args["ExpressionAttributeValues"][":s"] = {"S": start}
        return args

    def shard(args: dict[str, Any], page: Any) -> Iterator[tuple[str, str]]:
        got = page.result()
        while True:
            for e in got.get("Items", []):
                run = runs.run_of_key(e["pk"]["S"])
                if run is not None:
                    yield e["sortKey"]["S"], run
            if "LastEvaluatedKey" not in got:
                return
            got = db.query(**args, ExclusiveStartKey=got["LastEvaluatedKey"])

    # Every shard's first page at once: a listing waits for one round trip, not sixteen.
    asks = [first(v) for v in values]
    pages = [pool.submit(functools.partial(db.query, **a)) for a in asks]
    seen: set[str] = set()
    for sort_key, run in heapq.merge(*(shard(a, p) for a, p in zip(asks, pages, strict=True)), reverse=True):
        if run not in seen:  # a run moving between keys may show under both for a moment
            seen.add(run)
            yield sort_key, run


def take(found: Iterator[tuple[str, str]], n: int) -> list[tuple[str, str]]:
    return list(islice(found, n))


def encode(tag: str, sort_key: str, skip: int) -> str:
    raw = json.dumps({"i": tag, "k": sort_key, "n": skip}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode()


def decode(tag: str, token: str | None) -> tuple[str | None, int]:
    """(sort key, skip) of a token `encode` made for the same `tag` (filter); (None, 0) for none."""
    if token is None:
        return None, 0
    try:
        doc = json.loads(base64.urlsafe_b64decode(token.encode()))
        if (
            isinstance(doc, dict) and doc.get("i") == tag and isinstance(doc.get("k"), str)
            and "#" in doc["k"] and isinstance(doc.get("n"), int) and doc["n"] >= 0
        ):  # fmt: skip
            return doc["k"], doc["n"]
    except (ValueError, binascii.Error):
        pass
    raise ValidationError(
        "nextToken is not one this listing returned; pass the nextToken of the previous page "
        "with the same filters, or leave it out to start again",
        field="nextToken",
    )
