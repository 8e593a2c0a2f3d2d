"""[6] store: JobStore on DynamoDB; every status move is a conditional write, so a replay is a no-op."""

from __future__ import annotations

import functools
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import TYPE_CHECKING, Any

from asyncml import model
from asyncml.aws import dynamodb_items as items
from asyncml.aws import dynamodb_listing as listing
from asyncml.aws.dynamodb_listing import Listing
from asyncml.aws.dynamodb_writes import (
    BATCH_GET_MAX,
    MAX_ATTEMPTS,
    Batched,
    StoreUnavailable,
    Update,
    conditional_set,
    transact_chunks,
)
from asyncml.model import Batch, BatchStatus, Job, JobMove, JobStatus, Page

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = ["DynamoJobStore", "StoreUnavailable"]
_NEW = "attribute_not_exists(pk)"
_BATCH_FIELDS = {"transform_job_name": "transformJobName", "error": "error",
                 "completed_count": "completedCount", "failed_count": "failedCount",
                 "start_attempts": "startAttempts", "start_error": "startError"}  # fmt: skip
# REMOVE batchKey takes the job out of its old batch's index (the sparse byBatch), so a replayed
# event of that batch no longer lists it; expiresAt goes too (TTL is for finished jobs).
_RETRY = ("SET #st = :q, statusKey = :qk, updatedAt = :now, attempt = if_not_exists(attempt, :one) + :one"
          " REMOVE #r, #e, batchId, batchKey, transformJobName, completedAt, expiresAt")  # fmt: skip


def _jobs(index: str, attr: str, value: str, status: str | None = None) -> Listing:
    """A listing of jobs under `value`'s shards (and its bare, pre-sharding key)."""
    return Listing(index, attr, items.sources(value), items.JOB, status)


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
        self._db, self._table, self._ttl_days = client, table, ttl_days
        self._io = Batched(client, table, sleep)
        # Submits with a clientToken are one transaction each, and a listing reads 17 shards: both
        # run concurrently.
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ddb")

    # --- jobs ---------------------------------------------------------------------------------
    def create_jobs(self, jobs: Sequence[Job]) -> list[Job]:
        self._io.put([items.job_item(j, self._ttl_days) for j in jobs if j.client_token is None])
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
                self._io.backoff(attempt)  # TransactionConflict: the same token is being written now
        raise StoreUnavailable(f"clientToken {job.client_token!r} could not be stored; try again")

    def get_jobs(self, job_ids: Sequence[str]) -> list[Job]:
        found = {
            j.job_id: j
            for j in map(
                items.job_from_item,
                self._get([items.key(items.JOB, i) for i in job_ids], items.JOB_ATTRIBUTES),
            )
        }
        return [found[i] for i in job_ids if i in found]

    def move_jobs(self, moves: Sequence[JobMove], now: datetime) -> list[Job]:
        # The times once per call, not per move: a results chunk is 500 moves at the same `now`.
        stamps = items.ts(now), items.expires_at(now, self._ttl_days)
        return self._apply([m.job_id for m in moves], [self._move_update(m, stamps) for m in moves])

    def move_job_ids(self, moves: Sequence[JobMove], now: datetime) -> list[str]:
        stamps = items.ts(now), items.expires_at(now, self._ttl_days)
        updates = [self._move_update(m, stamps) for m in moves]
        # What each transaction applied is all that is asked: no BatchGetItem after it.
        return [i for i, _ in self._applied([m.job_id for m in moves], updates, read_back=False)]

    def _move_update(self, move: JobMove, stamps: tuple[str, int | None]) -> Update:
        stamp, expires = stamps
        sets: dict[str, Any] = {
            "status": move.status.value, "statusKey": items.job_status_key(move.job_id, move.status),
            "updatedAt": stamp, "result": move.result, "error": move.error,
            "batchId": move.batch_id, "batchKey": items.job_batch_key(move.job_id, move.batch_id),
            "transformJobName": move.transform_job_name,
        }  # fmt: skip
        if move.status in model.JOB_TERMINAL:
            sets |= {"completedAt": stamp, "expiresAt": expires}
        return conditional_set(
            items.key(items.JOB, move.job_id), sets, model.job_sources(move.status), move.in_batch
        )

    def retry_jobs(self, job_ids: Sequence[str], now: datetime) -> list[Job]:
        unique = list(dict.fromkeys(job_ids))
        sources = model.retry_sources()
        condition = f"#st IN ({', '.join(f':s{n}' for n in range(len(sources)))})"
        updates = [
            Update(
                items.key(items.JOB, i), _RETRY, condition,
                {"#st": "status", "#r": "result", "#e": "error"},
                {":q": {"S": JobStatus.QUEUED.value}, ":qk": {"S": items.job_status_key(i, "QUEUED")},
                 ":now": {"S": items.ts(now)}, ":one": {"N": "1"},
                 **{f":s{n}": {"S": s.value} for n, s in enumerate(sources)}},
            )
            for i in unique
        ]  # fmt: skip
        return self._apply(unique, updates)

    def _apply(self, ids: list[str], updates: list[Update]) -> list[Job]:
        """Apply each job's conditional update; the jobs that moved, as stored after, each once,
        in the order of their first move."""
        return [job for _, job in self._applied(ids, updates, read_back=True) if job is not None]

    def _applied(
        self, ids: list[str], updates: list[Update], *, read_back: bool
    ) -> list[tuple[str, Job | None]]:
        """The ids that moved, each once, in the order of their first move; with `read_back`, each
        with its job as stored after."""
        after: dict[str, tuple[int, Job | None]] = {}
        if len(updates) <= 2:  # one UpdateItem each returns the item: no read-back
            for n, item in enumerate(map(self._io.update, updates)):
                if item is not None:
                    after[ids[n]] = (after.get(ids[n], (n, None))[0], items.job_from_item(item))
        else:
            for batch in _rounds(ids):
                # Chunks of one transaction each, concurrently: a .out file's 500 moves take the
                # time of one transaction and one read, not five of each.
                chunks = transact_chunks(updates, batch)
                move = functools.partial(self._move_chunk, ids, updates, read_back=read_back)
                for moved in self._pool.map(move, chunks):
                    for n, job_id, job in moved:
                        after[job_id] = (after.get(job_id, (n, None))[0], job)
        return [(i, job) for i, (_, job) in sorted(after.items(), key=lambda p: p[1][0])]

    def _move_chunk(
        self, ids: list[str], updates: list[Update], chunk: list[int], *, read_back: bool
    ) -> list[tuple[int, str, Job | None]]:
        applied = self._io.update_many([updates[n] for n in chunk])
        first: dict[str, int] = {}
        for n, ok in zip(chunk, applied, strict=True):
            if ok:
                first.setdefault(ids[n], n)
        if not read_back:
            return [(n, i, None) for i, n in first.items()]
        # Read back consistently: what the move stored (or a later move, if one came between).
        return [(first[j.job_id], j.job_id, j) for j in self.get_jobs(list(first))]

    def list_jobs(
        self, *, status: JobStatus | None, batch_id: str | None, limit: int, next_token: str | None
    ) -> Page[Job]:
        if batch_id is not None:
            wanted = status.value if status else None
            where = Listing(items.BY_BATCH, "batchKey", items.sources(batch_id), items.JOB, wanted)
        elif status is not None:
            where = Listing(
                items.BY_STATUS, "statusKey", items.sources(items.status_key(items.JOB, status)), items.JOB
            )
        else:
            where = Listing(items.BY_KIND, "kind", items.sources(items.JOB), items.JOB)
        keys, token = listing.page(self._io, self._pool, where, limit, next_token)
        # A job moving between shards may show in both for a moment: list it once.
        jobs = self.get_jobs([k.removeprefix("job#") for k in dict.fromkeys(keys)])
        # The index lags the table by a moment; drop a job that moved out of the asked status since.
        return Page([j for j in jobs if status is None or j.status is status], token)

    def move_batch_jobs(
        self, batch_id: str, status: JobStatus, now: datetime, *, transform_job_name: str | None = None
    ) -> list[str]:
        moves = [
            JobMove(i, status, transform_job_name=transform_job_name, in_batch=batch_id)
            for i in self.batch_job_ids(batch_id)
        ]
        return self.move_job_ids(moves, now)

    def batch_job_ids(self, batch_id: str) -> list[str]:
        where = Listing(items.BY_BATCH, "batchKey", items.sources(batch_id), items.JOB)
        ids: dict[str, None] = {}
        token: str | None = None
        while True:
            # The index's keys only: the jobs themselves are not read.
            keys, token = listing.page(self._io, self._pool, where, 1000, token)
            ids.update((k.removeprefix("job#"), None) for k in keys)
            if token is None:
                return list(ids)

    def count_batch_jobs(self, batch_id: str) -> dict[JobStatus, int]:
        # The index says which jobs are in the batch (set when it was sealed, long before) and
        # projects their status, but lags the table by a moment: a count right after the results
        # worker's own moves could see some still PROCESSING. An end never changes (a retry takes
        # the job out of the batch), so only the entries not at an end are read again from the
        # items, consistently: the count is exact, and a finished batch costs its Queries alone.
        ends = frozenset(s.value for s in model.JOB_TERMINAL)
        where = _jobs(items.BY_BATCH, "batchKey", batch_id)
        at_end, unsure = listing.tally(self._io, self._pool, where, "status", ends)
        counts = Counter({JobStatus(s): n for s, n in at_end.items()})
        counts.update(
            JobStatus(i["status"]["S"])
            for i in self._get([{"pk": {"S": k}} for k in unsure], ("pk", "status"))
        )
        return dict(counts)

    def count_jobs_by_status(self) -> dict[JobStatus, int]:
        # DynamoDB keeps no counts: a Select=COUNT Query per status and shard (17 x 6, concurrent)
        # still reads every index entry, 1 MB a page. A KEYS_ONLY entry is ~100-200 bytes, so at
        # 100k jobs a call costs an estimated 1,250-2,500 RCU (eventually consistent): call it now
        # and then, not per event. (Estimated from the item sizes, not measured on AWS.)
        statuses = list(JobStatus)
        wheres = [_jobs(items.BY_STATUS, "statusKey", items.status_key(items.JOB, s)) for s in statuses]
        return dict(zip(statuses, listing.count(self._io, self._pool, wheres), strict=True))

    def _get(self, keys: list[dict[str, Any]], projection: tuple[str, ...] = ()) -> list[dict[str, Any]]:
        """BatchGetItem, its calls of 100 keys concurrent (a batch's 5,000 jobs: one call's time)."""
        if len(keys) <= BATCH_GET_MAX:  # also what a pool thread asks (a move's read-back): no nesting
            return list(self._io.get(keys, projection))
        chunks = [keys[i : i + BATCH_GET_MAX] for i in range(0, len(keys), BATCH_GET_MAX)]
        return [i for got in self._pool.map(lambda c: list(self._io.get(c, projection)), chunks) for i in got]

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
        item = self._io.update(
            conditional_set(items.key(items.BATCH, batch_id), sets, model.batch_sources(status))
        )
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
            where = Listing(items.BY_KIND, "kind", [items.BATCH], items.BATCH)
        else:
            where = Listing(
                items.BY_STATUS, "statusKey", [items.status_key(items.BATCH, status)], items.BATCH
            )
        keys, token = listing.page(self._io, self._pool, where, limit, next_token)
        found = {
            b.batch_id: b for b in map(items.batch_from_item, self._get([{"pk": {"S": k}} for k in keys]))
        }
        ids = [k.removeprefix("batch#") for k in keys]
        return Page([b for b in (found.get(i) for i in ids) if b and status in (None, b.status)], token)


def _rounds(ids: list[str]) -> list[list[int]]:
    """The positions of `ids` in rounds: a transaction may touch an item once, so a job moved
    twice in one call waits a round."""
    rounds: list[list[int]] = []
    seen: Counter[str] = Counter()
    for n, job_id in enumerate(ids):
        if seen[job_id] == len(rounds):
            rounds.append([])
        rounds[seen[job_id]].append(n)
        seen[job_id] += 1
    return rounds
