"""[6] store: JobStore on DynamoDB; every status move is a conditional write, so a replay is a no-op."""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import TYPE_CHECKING, Any

from asyncml import model
from asyncml.aws import dynamodb_items as items
from asyncml.model import Batch, BatchStatus, Job, JobMove, JobStatus, Page

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

BATCH_WRITE_MAX = 25  # DynamoDB refuses a BatchWriteItem of more than 25 requests
BATCH_GET_MAX = 100  # ... and a BatchGetItem of more than 100 keys
MAX_ATTEMPTS = 8
_NEW = "attribute_not_exists(pk)"
_BATCH_FIELDS = {"transform_job_name": "transformJobName", "error": "error",
                 "completed_count": "completedCount", "failed_count": "failedCount",
                 "start_attempts": "startAttempts", "start_error": "startError"}  # fmt: skip


class StoreUnavailable(RuntimeError):
    """DynamoDB kept throttling part of a batch request; the caller's event will be retried."""


class DynamoJobStore:
    def __init__(
        self,
        client: DynamoDBClient,
        table: str,
        *,
        ttl_days: int = 0,
        workers: int = 16,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._db, self._table, self._ttl_days, self._sleep = client, table, ttl_days, sleep
        # A move is one UpdateItem (conditions cannot ride in BatchWriteItem, and a transaction is
        # cancelled whole by one failed condition), so a large .out file moves jobs concurrently.
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ddb")

    # --- jobs ---------------------------------------------------------------------------------
    def create_jobs(self, jobs: Sequence[Job]) -> list[Job]:
        self._batch_write([items.job_item(j, self._ttl_days) for j in jobs if j.client_token is None])
        tokened = [j for j in jobs if j.client_token is not None]
        stored = iter(list(self._pool.map(self._create_with_token, tokened)))
        return [j if j.client_token is None else next(stored) for j in jobs]

    def _create_with_token(self, job: Job) -> Job:
        # One transaction puts the token item and the job together: a token can never point at a
        # job that was not written (a two-step put could crash in between and strand the job
        # QUEUED off the stream). It costs double WCU, paid only by submits that carry a token.
        token_key = items.key(items.TOKEN, str(job.client_token))
        expiry = items.expires_at(job.submitted_at, self._ttl_days)
        token_item = {**token_key, **items.to_item({"jobId": job.job_id, "expiresAt": expiry})}
        for attempt in range(MAX_ATTEMPTS):
            try:
                self._db.transact_write_items(
                    TransactItems=[
                        {"Put": {"TableName": self._table, "Item": token_item,
                                 "ConditionExpression": _NEW}},
                        {"Put": {"TableName": self._table, "Item": items.job_item(job, self._ttl_days),
                                 "ConditionExpression": _NEW}},
                    ]
                )  # fmt: skip
                return job
            except self._db.exceptions.TransactionCanceledException as exc:
                reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
                if reasons and reasons[0] == "ConditionalCheckFailed":
                    got = self._db.get_item(TableName=self._table, Key=token_key, ConsistentRead=True)
                    earlier = self.get_jobs([items.from_item(got["Item"])["jobId"]])
                    if earlier:
                        return earlier[0]
                self._backoff(attempt)  # TransactionConflict: the same token is being written now
        raise StoreUnavailable(f"clientToken {job.client_token!r} could not be stored; try again")

    def get_jobs(self, job_ids: Sequence[str]) -> list[Job]:
        found = {j.job_id: j for j in map(items.job_from_item, self._batch_get(items.JOB, job_ids))}
        return [found[i] for i in job_ids if i in found]

    def move_jobs(self, moves: Sequence[JobMove], now: datetime) -> list[Job]:
        if len(moves) <= 2:
            moved = [self._move_job(m, now) for m in moves]
        else:
            moved = list(self._pool.map(lambda m: self._move_job(m, now), moves))
        return [j for j in moved if j is not None]

    def _move_job(self, move: JobMove, now: datetime) -> Job | None:
        sets: dict[str, Any] = {
            "status": move.status.value, "statusKey": items.status_key(items.JOB, move.status),
            "updatedAt": items.ts(now), "result": move.result, "error": move.error,
            "batchId": move.batch_id, "batchKey": move.batch_id, "transformJobName": move.transform_job_name,
        }  # fmt: skip
        if move.status in model.JOB_TERMINAL:
            sets |= {"completedAt": items.ts(now), "expiresAt": items.expires_at(now, self._ttl_days)}
        key = items.key(items.JOB, move.job_id)
        item = self._conditional_update(key, sets, model.job_sources(move.status), move.in_batch)
        return items.job_from_item(item) if item else None

    def retry_jobs(self, job_ids: Sequence[str], now: datetime) -> list[Job]:
        unique = list(dict.fromkeys(job_ids))
        return [j for j in self._pool.map(lambda i: self._retry_job(i, now), unique) if j is not None]

    def _retry_job(self, job_id: str, now: datetime) -> Job | None:
        # REMOVE batchKey takes the job out of its old batch's index (the sparse byBatch), so a
        # replayed event of that batch no longer lists it; expiresAt goes too (TTL is for finished jobs).
        sources = model.retry_sources()
        try:
            got = self._db.update_item(
                TableName=self._table, Key=items.key(items.JOB, job_id), ReturnValues="ALL_NEW",
                UpdateExpression="SET #st = :q, statusKey = :qk, updatedAt = :now,"
                " attempt = if_not_exists(attempt, :one) + :one"
                " REMOVE #r, #e, batchId, batchKey, transformJobName, completedAt, expiresAt",
                ConditionExpression=f"#st IN ({', '.join(f':s{i}' for i in range(len(sources)))})",
                ExpressionAttributeNames={"#st": "status", "#r": "result", "#e": "error"},
                ExpressionAttributeValues={
                    ":q": {"S": JobStatus.QUEUED.value}, ":qk": {"S": items.status_key(items.JOB, "QUEUED")},
                    ":now": {"S": items.ts(now)}, ":one": {"N": "1"},
                    **{f":s{i}": {"S": s.value} for i, s in enumerate(sources)},
                },
            )  # fmt: skip
        except self._db.exceptions.ConditionalCheckFailedException:
            return None  # not FAILED (any more): a concurrent retry queued it already
        return items.job_from_item(got["Attributes"])

    def list_jobs(
        self, *, status: JobStatus | None, batch_id: str | None, limit: int, next_token: str | None
    ) -> Page[Job]:
        if batch_id is not None:
            index, name, value = items.BY_BATCH, "batchKey", batch_id
        elif status is not None:
            index, name, value = items.BY_STATUS, "statusKey", items.status_key(items.JOB, status)
        else:
            index, name, value = items.BY_KIND, "kind", items.JOB
        keys, token = self._query_keys(index, name, value, (limit, next_token), status if batch_id else None)
        jobs = self.get_jobs([k.removeprefix("job#") for k in keys])
        # The index lags the table by a moment; drop a job that moved out of the asked status since.
        return Page([j for j in jobs if status is None or j.status is status], token)

    def count_batch_jobs(self, batch_id: str) -> dict[JobStatus, int]:
        counts: Counter[JobStatus] = Counter()
        for page in self._db.get_paginator("query").paginate(
            TableName=self._table, IndexName=items.BY_BATCH, KeyConditionExpression="batchKey = :b",
            ProjectionExpression="#s", ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":b": {"S": batch_id}},
        ):  # fmt: skip
            counts.update(JobStatus(i["status"]["S"]) for i in page.get("Items", []))
        return dict(counts)

    def count_jobs_by_status(self) -> dict[JobStatus, int]:
        # DynamoDB keeps no counts: a Select=COUNT Query per status still reads every index entry,
        # 1 MB a page. A KEYS_ONLY entry is ~100-200 bytes, so at 100k jobs a call costs an estimated
        # 1,250-2,500 RCU (eventually consistent) and 10-20 round trips: call it now and then, not
        # per event. (Estimated from the item sizes, not measured on AWS.)
        counts: dict[JobStatus, int] = {}
        for status in JobStatus:
            query: dict[str, Any] = {
                "TableName": self._table, "IndexName": items.BY_STATUS, "Select": "COUNT",
                "KeyConditionExpression": "statusKey = :k",
                "ExpressionAttributeValues": {":k": {"S": items.status_key(items.JOB, status)}},
            }  # fmt: skip
            pages = self._db.get_paginator("query").paginate(**query)
            counts[status] = sum(page["Count"] for page in pages)
        return counts

    # --- batches ------------------------------------------------------------------------------
    def create_batch(self, batch: Batch) -> Batch:
        try:
            item = items.batch_item(batch)
            self._db.put_item(TableName=self._table, Item=item, ConditionExpression=_NEW)
            return batch
        except self._db.exceptions.ConditionalCheckFailedException:
            stored = self.get_batch(batch.batch_id)
            assert stored is not None  # batches are never deleted
            return stored

    def get_batch(self, batch_id: str) -> Batch | None:
        key = items.key(items.BATCH, batch_id)
        got = self._db.get_item(TableName=self._table, Key=key, ConsistentRead=True)
        return items.batch_from_item(got["Item"]) if "Item" in got else None

    def move_batch(
        self,
        batch_id: str,
        status: BatchStatus,
        now: datetime,
        *,
        claimed_by: str | None = None,
        **changes: Any,
    ) -> Batch | None:
        sets: dict[str, Any] = {"status": status.value, "statusKey": items.status_key(items.BATCH, status)}
        sets["updatedAt"] = items.ts(now)
        sets |= {_BATCH_FIELDS[name]: value for name, value in changes.items()}
        if claimed_by is not None:
            return self._claim_batch(batch_id, claimed_by, sets)
        item = self._conditional_update(items.key(items.BATCH, batch_id), sets, model.batch_sources(status))
        return items.batch_from_item(item) if item else None

    def _claim_batch(self, batch_id: str, name: str, sets: dict[str, Any]) -> Batch | None:
        """One conditional write: the batch is still BATCHED and unclaimed (or claimed by `name`)."""
        values = {k: v for k, v in sets.items() if v is not None and k not in ("status", "statusKey")}
        values["transformJobName"] = name
        names = {f"#a{i}": k for i, k in enumerate(values)} | {"#st": "status", "#tj": "transformJobName"}
        expr_values = {f":v{i}": items.to_item({"x": v})["x"] for i, v in enumerate(values.values())}
        expr_values |= {":batched": {"S": BatchStatus.BATCHED.value}, ":name": {"S": name}}
        try:
            got = self._db.update_item(
                TableName=self._table, Key=items.key(items.BATCH, batch_id), ReturnValues="ALL_NEW",
                UpdateExpression="SET " + ", ".join(f"#a{i} = :v{i}" for i in range(len(values))),
                ConditionExpression="#st = :batched AND (attribute_not_exists(#tj) OR #tj = :name)",
                ExpressionAttributeNames=names, ExpressionAttributeValues=expr_values,
            )  # fmt: skip
        except self._db.exceptions.ConditionalCheckFailedException:
            return None  # started, ended, or claimed by another transform job
        return items.batch_from_item(got["Attributes"])

    def list_batches(self, *, status: BatchStatus | None, limit: int, next_token: str | None) -> Page[Batch]:
        if status is None:
            keys, token = self._query_keys(items.BY_KIND, "kind", items.BATCH, (limit, next_token))
        else:
            value = items.status_key(items.BATCH, status)
            keys, token = self._query_keys(items.BY_STATUS, "statusKey", value, (limit, next_token))
        ids = [k.removeprefix("batch#") for k in keys]
        found = {b.batch_id: b for b in map(items.batch_from_item, self._batch_get(items.BATCH, ids))}
        return Page([b for b in (found.get(i) for i in ids) if b and status in (None, b.status)], token)

    # --- DynamoDB mechanics -------------------------------------------------------------------
    def _conditional_update(
        self, key: dict[str, Any], sets: dict[str, Any], sources: Sequence[str], in_batch: str | None = None
    ) -> dict[str, Any] | None:
        """SET `sets` (None values left alone) only if the item's status is one of `sources` (and,
        with `in_batch`, the job is in that batch or, on its first attempt, in none: JobMove)."""
        values = {k: v for k, v in sets.items() if v is not None}
        names = {f"#a{i}": k for i, k in enumerate(values)}
        expr_values = {f":v{i}": items.to_item({"x": v})["x"] for i, v in enumerate(values.values())}
        expr_values |= {f":s{i}": {"S": str(s)} for i, s in enumerate(sources)}
        names["#st"] = "status"
        condition = f"#st IN ({', '.join(f':s{i}' for i in range(len(sources)))})"
        if in_batch is not None:
            names |= {"#b": "batchId", "#n": "attempt"}
            expr_values |= {":b": {"S": in_batch}, ":one": {"N": "1"}}
            condition += (
                " AND (#b = :b OR (attribute_not_exists(#b) AND (attribute_not_exists(#n) OR #n = :one)))"
            )
        try:
            got = self._db.update_item(
                TableName=self._table, Key=key, ReturnValues="ALL_NEW",
                UpdateExpression="SET " + ", ".join(f"#a{i} = :v{i}" for i in range(len(values))),
                ConditionExpression=condition,
                ExpressionAttributeNames=names, ExpressionAttributeValues=expr_values,
            )  # fmt: skip
        except self._db.exceptions.ConditionalCheckFailedException:
            return None  # missing, or already at or past that status: a replay, so nothing to do
        return dict(got["Attributes"])

    def _query_keys(
        self, index: str, name: str, value: str, page: tuple[int, str | None], status: JobStatus | None = None
    ) -> tuple[list[str], str | None]:
        limit, next_token = page
        args: dict[str, Any] = {
            "TableName": self._table, "IndexName": index, "Limit": limit, "ScanIndexForward": False,
            "KeyConditionExpression": "#k = :k", "ExpressionAttributeNames": {"#k": name},
            "ExpressionAttributeValues": {":k": {"S": value}},
        }  # fmt: skip
        start = items.decode_token(index + (f":{status}" if status else ""), next_token)
        if start:
            args["ExclusiveStartKey"] = start
        if status is not None:  # the batch index projects status: filter there, not after a read
            args["FilterExpression"] = "#s = :s"
            args["ExpressionAttributeNames"]["#s"] = "status"
            args["ExpressionAttributeValues"][":s"] = {"S": status.value}
        got = self._db.query(**args)
        keys = [i["pk"]["S"] for i in got.get("Items", [])]
        return keys, items.encode_token(index + (f":{status}" if status else ""), got.get("LastEvaluatedKey"))

    def _batch_get(self, kind: str, ids: Sequence[str]) -> Iterator[dict[str, Any]]:
        unique = list(dict.fromkeys(ids))  # BatchGetItem refuses a key asked twice
        for start in range(0, len(unique), BATCH_GET_MAX):
            keys = [items.key(kind, i) for i in unique[start : start + BATCH_GET_MAX]]
            pending: Any = {self._table: {"Keys": keys, "ConsistentRead": True}}
            for attempt in range(MAX_ATTEMPTS):
                got = self._db.batch_get_item(RequestItems=pending)
                yield from got.get("Responses", {}).get(self._table, [])
                pending = got.get("UnprocessedKeys") or {}
                if not pending:
                    break
                self._backoff(attempt)
            else:
                raise StoreUnavailable(f"DynamoDB left keys unread after {MAX_ATTEMPTS} attempts")

    def _batch_write(self, puts: list[dict[str, Any]]) -> None:
        for start in range(0, len(puts), BATCH_WRITE_MAX):
            chunk = puts[start : start + BATCH_WRITE_MAX]
            pending: Any = {self._table: [{"PutRequest": {"Item": i}} for i in chunk]}
            for attempt in range(MAX_ATTEMPTS):
                # Under throttling DynamoDB accepts part of a batch and hands back the rest as
                # UnprocessedItems, with no error: those must be sent again, after a pause.
                pending = self._db.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
                if not pending:
                    break
                self._backoff(attempt)
            else:
                left = len(pending.get(self._table, []))
                raise StoreUnavailable(f"DynamoDB left {left} items unwritten after {MAX_ATTEMPTS} attempts")

    def _backoff(self, attempt: int) -> None:
        # Full jitter (AWS's recommended backoff): spreads retries of concurrent writers apart.
        self._sleep(random.uniform(0, min(2.0, 0.05 * 2**attempt)))
