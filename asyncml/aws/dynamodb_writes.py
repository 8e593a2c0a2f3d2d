"""[6] store: DynamoDB's batch mechanics: many conditional writes and reads per round trip, retried.

Many status moves go as TransactWriteItems of up to 100 conditional Updates, not one UpdateItem
each. A transaction is all-or-nothing, but DynamoDB names each item's fate in CancellationReasons,
so the items whose condition failed (a replay, a job that moved on) are dropped and the rest sent
again at once: one extra round trip per chunk, only when a chunk holds such an item. It costs twice
the table WCU of an UpdateItem. PartiQL's BatchExecuteStatement (25 independently conditioned
statements, no double cost) would be the other way, but moto 5.2.5 cannot run it (see
docs/performance.md): it would be the one store path no test runs.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from asyncml.aws import dynamodb_items as items

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

BATCH_WRITE_MAX = 25  # DynamoDB refuses a BatchWriteItem of more than 25 requests
BATCH_GET_MAX = 100  # ... a BatchGetItem of more than 100 keys
TRANSACT_MAX = 100  # ... and a TransactWriteItems of more than 100 actions or 4 MB
TRANSACT_BYTES = 3_000_000  # what a chunk may carry, with room for the request's own framing
MAX_ATTEMPTS = 8
# Cancellation reasons worth a pause and another try; any other (ValidationError: an item too large)
# is raised, as an UpdateItem's error would be.
RETRY_REASONS = frozenset({"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded",
                    "RequestLimitExceeded", "InternalServerError"})  # fmt: skip
_FAILED = "ConditionalCheckFailed"


class StoreUnavailable(RuntimeError):
    """DynamoDB kept throttling part of a batch request; the caller's event will be retried."""


@dataclass(frozen=True, slots=True)
class Update:
    """One conditional UpdateItem, sent alone or as one action of a transaction."""

    key: dict[str, Any]
    expression: str
    condition: str
    names: dict[str, str]
    values: dict[str, Any]
    _size: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Once: chunking asks each update its size twice (the store's split, then update_many's).
        size = len(json.dumps(self.values)) + len(self.expression) + len(self.condition) + 200
        object.__setattr__(self, "_size", size)

    def size(self) -> int:
        """About its bytes in a request (results can be large: 100 of them may pass 4 MB)."""
        return self._size

    def request(self, table: str) -> dict[str, Any]:
        return {"TableName": table, "Key": self.key, "UpdateExpression": self.expression,
                "ConditionExpression": self.condition, "ExpressionAttributeNames": self.names,
                "ExpressionAttributeValues": self.values}  # fmt: skip


def conditional_set(
    key: dict[str, Any], sets: dict[str, Any], sources: Sequence[str], in_batch: str | None = None
) -> Update:
    """SET `sets` (None values left alone) only if the item's status is one of `sources` (and,
    with `in_batch`, the job is in that batch or, on its first attempt, in none: JobMove)."""
    values = {k: v for k, v in sets.items() if v is not None}
    names = {f"#a{i}": k for i, k in enumerate(values)}
    expr_values = {f":v{i}": v for i, v in enumerate(items.to_item(values).values())}
    expr_values |= {f":s{i}": {"S": str(s)} for i, s in enumerate(sources)}
    names["#st"] = "status"
    condition = f"#st IN ({', '.join(f':s{i}' for i in range(len(sources)))})"
    if in_batch is not None:
        names |= {"#b": "batchId", "#n": "attempt"}
        expr_values |= {":b": {"S": in_batch}, ":one": {"N": "1"}}
        condition += (
            " AND (#b = :b OR (attribute_not_exists(#b) AND (attribute_not_exists(#n) OR #n = :one)))"
        )
    expression = "SET " + ", ".join(f"#a{i} = :v{i}" for i in range(len(values)))
    return Update(key, expression, condition, names, expr_values)


def transact_chunks(updates: Sequence[Update], indexes: Sequence[int]) -> list[list[int]]:
    """`indexes` split into runs that fit one TransactWriteItems (100 actions, < 4 MB)."""
    chunks: list[list[int]] = [[]]
    size = 0
    for n in indexes:
        grown = size + updates[n].size()
        if chunks[-1] and (len(chunks[-1]) == TRANSACT_MAX or grown > TRANSACT_BYTES):
            chunks.append([])
            grown = updates[n].size()
        chunks[-1].append(n)
        size = grown
    return [c for c in chunks if c]


class Batched:
    def __init__(
        self, client: DynamoDBClient, table: str, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self.db, self.table, self._sleep = client, table, sleep

    def update(self, update: Update) -> dict[str, Any] | None:
        """One UpdateItem: the item as stored after, or None when its condition failed."""
        for attempt in range(MAX_ATTEMPTS):
            try:
                got = self.db.update_item(**update.request(self.table), ReturnValues="ALL_NEW")
                return dict(got["Attributes"])
            except self.db.exceptions.ConditionalCheckFailedException:
                return None  # missing, or already at or past that status: a replay, nothing to do
            except self.db.exceptions.TransactionConflictException:
                self.backoff(attempt)  # a transaction holds the item this moment
        raise StoreUnavailable(f"DynamoDB kept {update.key['pk']['S']} in transactions; try again")

    def update_many(self, updates: Sequence[Update]) -> list[bool]:
        """Apply each update whose condition holds, up to 100 a round trip; which ones applied."""
        applied = [False] * len(updates)
        for chunk in transact_chunks(updates, range(len(updates))):
            for i in self._transact(updates, chunk):
                applied[i] = True
        return applied

    def _transact(self, updates: Sequence[Update], pending: list[int]) -> list[int]:
        attempt = 0
        while pending:
            try:
                self.db.transact_write_items(
                    TransactItems=[{"Update": updates[i].request(self.table)} for i in pending]  # type: ignore[typeddict-item]
                )
                return pending
            except self.db.exceptions.TransactionCanceledException as exc:
                codes = [r.get("Code") or "None" for r in exc.response.get("CancellationReasons", [])]
                if len(codes) != len(pending) or set(codes) - RETRY_REASONS - {_FAILED, "None"}:
                    raise
                failed = {i for i, code in zip(pending, codes, strict=True) if code == _FAILED}
                pending = [i for i in pending if i not in failed]
                if failed and not set(codes) & RETRY_REASONS:
                    continue  # the rest had no fault of their own: send them again now
                if attempt == MAX_ATTEMPTS:
                    why = ", ".join(sorted(set(codes) & RETRY_REASONS))
                    raise StoreUnavailable(
                        f"DynamoDB cancelled a write of {len(pending)} items {MAX_ATTEMPTS} times ({why})"
                    ) from exc
                self.backoff(attempt)
                attempt += 1
        return []

    def get(self, keys: Sequence[dict[str, Any]], projection: Sequence[str] = ()) -> Iterator[dict[str, Any]]:
        """Consistent BatchGetItem, 100 keys a call; keys asked twice are read once."""
        unique = list({k["pk"]["S"]: k for k in keys}.values())  # BatchGetItem refuses a key asked twice
        for start in range(0, len(unique), BATCH_GET_MAX):
            ask: dict[str, Any] = {"Keys": unique[start : start + BATCH_GET_MAX], "ConsistentRead": True}
            if projection:
                ask["ProjectionExpression"] = ", ".join(f"#p{i}" for i in range(len(projection)))
                ask["ExpressionAttributeNames"] = {f"#p{i}": name for i, name in enumerate(projection)}
            pending: Any = {self.table: ask}
            for attempt in range(MAX_ATTEMPTS):
                got = self.db.batch_get_item(RequestItems=pending)
                yield from got.get("Responses", {}).get(self.table, [])
                pending = got.get("UnprocessedKeys") or {}
                if not pending:
                    break
                self.backoff(attempt)
            else:
                raise StoreUnavailable(f"DynamoDB left keys unread after {MAX_ATTEMPTS} attempts")

    def put(self, puts: list[dict[str, Any]]) -> None:
        for start in range(0, len(puts), BATCH_WRITE_MAX):
            chunk = puts[start : start + BATCH_WRITE_MAX]
            pending: Any = {self.table: [{"PutRequest": {"Item": i}} for i in chunk]}
            for attempt in range(MAX_ATTEMPTS):
                # Under throttling DynamoDB accepts part of a batch and hands back the rest as
                # UnprocessedItems, with no error: those must be sent again, after a pause.
                pending = self.db.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
                if not pending:
                    break
                self.backoff(attempt)
            else:
                left = len(pending.get(self.table, []))
                raise StoreUnavailable(f"DynamoDB left {left} items unwritten after {MAX_ATTEMPTS} attempts")

    def backoff(self, attempt: int) -> None:
        # Full jitter (AWS's recommended backoff): spreads retries of concurrent writers apart.
        self._sleep(random.uniform(0, min(2.0, 0.05 * 2**attempt)))
