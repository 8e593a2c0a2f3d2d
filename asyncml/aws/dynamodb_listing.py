"""[6] store: listings over sharded index keys: each shard read newest first, merged into one page.

A page of `limit` reads up to `limit` entries from every shard (the page may all come from one)
and keeps the newest `limit`; the nextToken holds each shard's position: the sort key it stopped
after, "" for a shard not read yet, and nothing for one read to its end.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

from asyncml.aws.dynamodb_writes import Batched
from asyncml.errors import ValidationError


@dataclass(frozen=True, slots=True)
class Listing:
    """Entries of one index under any of `values` (its partition keys), newest first."""

    index: str
    attr: str  # the index's partition key attribute
    values: list[str]
    kind: str  # "job" or "batch": the table key is `<kind>#<id>` and the sort key `<time>#<id>`
    status: str | None = None  # kept only entries whose projected status is this

    @property
    def tag(self) -> str:
        return f"{self.index}:{self.values[-1]}:{self.status or ''}"

    def start_key(self, value: str, sort_key: str) -> dict[str, Any]:
        ident = sort_key.split("#", 1)[1]
        return {"pk": {"S": f"{self.kind}#{ident}"}, self.attr: {"S": value}, "sortKey": {"S": sort_key}}


def page(
    io: Batched, pool: Executor, listing: Listing, limit: int, token: str | None
) -> tuple[list[str], str | None]:
    """The table keys (`pk`) of one page, and the token of the next (None: no more)."""
    positions = _decode(listing, token)
    active = [v for v in listing.values if v in positions]

    def read(value: str) -> tuple[list[dict[str, Any]], str | None]:
        args = _query(io, listing, value)
        args["Limit"] = limit
        if positions[value]:
            args["ExclusiveStartKey"] = listing.start_key(value, positions[value])
        got = io.db.query(**args)
        last = got.get("LastEvaluatedKey")
        return got.get("Items", []), last["sortKey"]["S"] if last else None

    read_back = dict(zip(active, pool.map(read, active), strict=True))
    merged = sorted(
        ((e["sortKey"]["S"], v, e["pk"]["S"]) for v, (entries, _) in read_back.items() for e in entries),
        reverse=True,
    )[:limit]
    taken: dict[str, list[str]] = {}
    for sort_key, value, _pk in merged:
        taken.setdefault(value, []).append(sort_key)
    after: dict[str, str] = {}
    for value, (entries, last) in read_back.items():
        mine = taken.get(value, [])
        if len(mine) < len(entries):  # stopped inside what this shard returned
            after[value] = mine[-1] if mine else positions[value]
        elif last is not None:  # took all it returned, and it has more (a filter may have skipped some)
            after[value] = last
    return [pk for _, _, pk in merged], _encode(listing, after)


def tally(
    io: Batched, pool: Executor, listing: Listing, attr: str, keep: frozenset[str]
) -> tuple[Counter[str], list[str]]:
    """Over every entry under the listing's values (all pages, all shards): how many project each
    `attr` value in `keep`, and the table keys of the others. Streamed: memory holds only those."""

    def one(value: str) -> tuple[Counter[str], list[str]]:
        seen: Counter[str] = Counter()
        others: list[str] = []
        for entry in _all(io, listing, value, lambda e: e):
            got = entry.get(attr, {}).get("S")
            if got in keep:
                seen[got] += 1
            else:
                others.append(entry["pk"]["S"])
        return seen, others

    total: Counter[str] = Counter()
    rest: list[str] = []
    for seen, others in pool.map(one, listing.values):
        total.update(seen)
        rest.extend(others)
    return total, rest


def count(io: Batched, pool: Executor, listings: list[Listing]) -> list[int]:
    """How many entries each listing has (Select=COUNT still reads every entry, 1 MB a page)."""
    pairs = [(n, v) for n, listing in enumerate(listings) for v in listing.values]
    counted = pool.map(lambda p: sum(_all(io, listings[p[0]], p[1], None)), pairs)
    totals = [0] * len(listings)
    for (n, _), c in zip(pairs, counted, strict=True):
        totals[n] += c
    return totals


def _all(
    io: Batched, listing: Listing, value: str, pick: Callable[[dict[str, Any]], Any] | None
) -> Iterator[Any]:
    args = _query(io, listing, value)
    if pick is None:
        args["Select"] = "COUNT"
    for got in io.db.get_paginator("query").paginate(**args):
        if pick is None:
            yield got["Count"]
        else:
            yield from map(pick, got.get("Items", []))


def _query(io: Batched, listing: Listing, value: str) -> dict[str, Any]:
    args: dict[str, Any] = {
        "TableName": io.table, "IndexName": listing.index, "ScanIndexForward": False,
        "KeyConditionExpression": "#k = :k", "ExpressionAttributeNames": {"#k": listing.attr},
        "ExpressionAttributeValues": {":k": {"S": value}},
    }  # fmt: skip
    if listing.status is not None:  # the batch index projects status: filter there, not after a read
        args["FilterExpression"] = "#s = :s"
        args["ExpressionAttributeNames"]["#s"] = "status"
        args["ExpressionAttributeValues"][":s"] = {"S": listing.status}
    return args


def _encode(listing: Listing, after: dict[str, str]) -> str | None:
    if not after:
        return None
    shards = [after.get(v) for v in listing.values]
    raw = json.dumps({"i": listing.tag, "k": shards}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode()


def _decode(listing: Listing, token: str | None) -> dict[str, str]:
    if token is None:
        return dict.fromkeys(listing.values, "")
    shards: list[Any] = []
    try:
        doc = json.loads(base64.urlsafe_b64decode(token.encode()))
        if isinstance(doc, dict) and doc.get("i") == listing.tag and isinstance(doc.get("k"), list):
            shards = doc["k"]
    except (ValueError, binascii.Error):
        pass
    ok = len(shards) == len(listing.values)
    ok = ok and all(s is None or (isinstance(s, str) and (s == "" or "#" in s)) for s in shards)
    if not ok:
        raise ValidationError(
            "nextToken is not one this listing returned; pass the nextToken of the previous page "
            "with the same filters, or leave it out to start again",
            field="nextToken",
        )
    return {v: s for v, s in zip(listing.values, shards, strict=True) if s is not None}
