"""[6] store: JobStore on DynamoDB with a run's jobs in one state item (`dynamodb_runs`).

Every change to a run is a read of its state item and a write conditioned on the version read
(optimistic concurrency): which moves apply is decided by `model`'s rules on the state as read, so
a replayed or late event changes nothing, and of two writers of one run the second reads again and
decides again; neither loses the other's moves. The moves of one call are one read and one write a
run: a PutItem each for runs of more than SMALL_RUN jobs, concurrently; runs of a few jobs (single
submits) written together, 100 actions a transaction, so the calls do not grow with their number.

Batches, and jobs stored one item each before runs (`DynamoJobStore`), are read and written as
before: a job id with no run found is asked of that store, so such jobs stay readable and finish.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from asyncml import model
from asyncml.aws import dynamodb_items as items
from asyncml.aws import dynamodb_run_listing as listing
from asyncml.aws import dynamodb_runs as runs
from asyncml.aws.dynamodb_runs import Entry, RunState
from asyncml.aws.dynamodb_store import DynamoJobStore
from asyncml.aws.dynamodb_writes import (
    MAX_ATTEMPTS,
    RETRY_REASONS,
    TRANSACT_BYTES,
    TRANSACT_MAX,
    Batched,
    StoreUnavailable,
)
from asyncml.model import Batch, BatchStatus, Job, JobMove, JobStatus, Page, run_of

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = ["DynamoRunStore", "StoreUnavailable"]
_T = TypeVar("_T")
SMALL_RUN = 20  # jobs: a run this small is written in a transaction with others (2x WCU, 1/30 the calls)
TOKENS_PER_WRITE = 90  # client tokens claimed in one transaction with their run (100 actions at most)


@dataclass(slots=True)
class _Write:
    """What one run's write changes: its state after, which jobs moved, what goes with it."""

    state: RunState
    moved: dict[str, None] = field(default_factory=dict)  # suffixes that moved, in order of first move
    tokens: dict[str, str] = field(default_factory=dict)  # client token -> job id, claimed with it
    puts: list[dict[str, Any]] = field(default_factory=list)  # output items, put before the state


@dataclass(slots=True)
class _Plan:
    """One run's write as DynamoDB actions: the state's conditional Put first, then its markers'
    puts and deletes and its tokens' claims (and, written with others, its items' expiry)."""

    write: _Write
    actions: list[dict[str, Any]]
    expires: int | None
    expiry_keys: list[str]  # the run's other items, when the state's expiry changed


class _TokenTaken(Exception):
    def __init__(self, token: str) -> None:
        self.token = token


class DynamoRunStore:
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
        # Runs change concurrently on one pool; their reads and expiry writes fan out on another,
        # whose tasks submit nothing (a pool waiting on itself could deadlock).
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ddb-runs")
        self._fan = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ddb-io")
        self._v1 = DynamoJobStore(client, table, ttl_days=ttl_days, workers=workers, sleep=sleep)

    # --- jobs: submit -------------------------------------------------------------------------
    def create_jobs(self, jobs: Sequence[Job]) -> list[Job]:
        by_run: dict[str, list[Job]] = {}
        first_of_token: dict[str, Job] = {}
        for job in jobs:
            # A token given twice in one call (with the same input: submit checked) is one job.
            if job.client_token is None or first_of_token.setdefault(job.client_token, job) is job:
                by_run.setdefault(run_of(job.job_id), []).append(job)
        stored: dict[str, Job] = {}
        for got in self._pool.map(lambda r: self._create_run(r, by_run[r]), list(by_run)):
            stored |= got
        out = []
        for job in jobs:
            first = first_of_token.get(job.client_token, job) if job.client_token else job
            out.append(stored[first.job_id])
        return out

    def _create_run(self, run: str, jobs: list[Job]) -> dict[str, Job]:
        """The run's new jobs stored (inputs first, then the state that names them); each job
        mapped to itself or, for a token stored before, to the job stored then."""
        # The tokens stored already are read first: a call sent again costs a read, not a failed
        # transaction a job, and writes no inputs.
        tokens = {j.client_token: j.job_id for j in jobs if j.client_token is not None}
        got = self._get([items.key(items.TOKEN, t) for t in tokens], ("pk", "jobId"))
        earlier = {tokens[i["pk"]["S"].split("#", 1)[1]]: i["jobId"]["S"] for i in got}  # id -> earlier id
        pending = [j for j in jobs if j.job_id not in earlier]
        part_of: dict[str, str] = {}
        puts = []
        for part, chunk in runs.parts(pending, os.urandom(3).hex()):
            puts.append(runs.input_item(run, part, chunk))
            part_of |= {j.job_id: part for j in chunk}
        self._io.put(puts)
        while pending:
            tokened = 0
            take = []
            for job in pending:
                tokened += job.client_token is not None
                if tokened > TOKENS_PER_WRITE:
                    break
                take.append(job)
            try:
                self._change(run, functools.partial(self._add, jobs=take, part_of=part_of))
            except _TokenTaken as taken:  # sent at this moment by another call: that job is the one
                got_one = self._db.get_item(
                    TableName=self._table, Key=items.key(items.TOKEN, taken.token), ConsistentRead=True
                )
                job = next(j for j in take if j.client_token == taken.token)
                earlier[job.job_id] = items.from_item(got_one["Item"])["jobId"]
                pending.remove(job)
                continue
            pending = pending[len(take) :]
        result = {j.job_id: j for j in jobs}
        if earlier:
            found = {j.job_id: j for j in self.get_jobs(list(set(earlier.values())))}
            result |= {mine: found[theirs] for mine, theirs in earlier.items() if theirs in found}
        return result

    def _add(self, state: RunState, jobs: list[Job], part_of: dict[str, str]) -> _Write | None:
        write = _Write(state)
        for job in jobs:
            sfx = runs.suffix(job.job_id)
            if sfx in state.jobs:
                continue  # stored by an earlier attempt of this call: as it was
            state.jobs[sfx] = Entry(
                part_of[job.job_id], job.status.value, job.attempt, items.ts(job.submitted_at),
                items.ts(job.updated_at), items.ts(job.completed_at) if job.completed_at else None,
                job.batch_id, job.transform_job_name,
            )  # fmt: skip
            write.moved[sfx] = None
            if job.client_token is not None:
                write.tokens[job.client_token] = job.job_id
        return write if write.moved else None

    # --- jobs: reads --------------------------------------------------------------------------
    def get_jobs(self, job_ids: Sequence[str]) -> list[Job]:
        states = self._states({run_of(i) for i in job_ids})
        found = {j.job_id: j for j in self._jobs(states, job_ids)}
        missing = [i for i in dict.fromkeys(job_ids) if i not in found]
        if missing:
            found |= {j.job_id: j for j in self._v1.get_jobs(missing)}
        return [found[i] for i in job_ids if i in found]

    def _jobs(
        self,
        states: dict[str, RunState],
        job_ids: Sequence[str],
        known: dict[str, dict[str, Any]] | None = None,
    ) -> list[Job]:
        """The jobs among `job_ids` the states hold, each once, in that order: their inputs and
        outputs read, but for the items in `known` (by pk: the outputs a move just wrote)."""
        wanted = [(states[run_of(i)], runs.suffix(i)) for i in dict.fromkeys(job_ids) if _held(states, i)]
        keys = {runs.input_key(st.run, st.jobs[sfx].part)["pk"]["S"] for st, sfx in wanted}
        keys |= {runs.output_key(st.run, out)["pk"]["S"] for st, sfx in wanted if (out := st.jobs[sfx].out)}
        got = dict(known or {})
        got |= {i["pk"]["S"]: i for i in self._get([{"pk": {"S": k}} for k in sorted(keys - set(got))])}
        jobs = []
        for state, sfx in wanted:
            e = state.jobs[sfx]
            inputs = got.get(runs.input_key(state.run, e.part)["pk"]["S"])
            outputs = got.get(runs.output_key(state.run, e.out)["pk"]["S"]) if e.out else None
            job = runs.job_of(state, sfx, inputs, outputs)
            if job is not None:
                jobs.append(job)
        return jobs

    def _states(self, run_ids: set[str] | list[str]) -> dict[str, RunState]:
        keys = [{"pk": {"S": f"{runs.RUN}#{r}"}} for r in run_ids]
        got = self._get(keys, ("pk", "v", "doc", "expiresAt"))
        return {(run := i["pk"]["S"].split("#", 1)[1]): runs.state_from_item(run, i) for i in got}

    def _get(self, keys: list[dict[str, Any]], projection: tuple[str, ...] = ()) -> list[dict[str, Any]]:
        chunks = [keys[i : i + 100] for i in range(0, len(keys), 100)]
        if len(chunks) <= 1:
            return list(self._io.get(keys, projection)) if keys else []
        return [i for got in self._fan.map(lambda c: list(self._io.get(c, projection)), chunks) for i in got]

    # --- jobs: moves --------------------------------------------------------------------------
    def move_jobs(self, moves: Sequence[JobMove], now: datetime) -> list[Job]:
        moved, writes, v1 = self._move(moves, now)
        written = {i["pk"]["S"]: i for w in writes.values() for i in w.puts}
        jobs = {j.job_id: j for j in self._jobs({r: w.state for r, w in writes.items()}, moved, written)}
        if v1:
            jobs |= {j.job_id: j for j in self._v1.move_jobs(v1, now)}
        return self._in_order(moves, jobs)

    def move_job_ids(self, moves: Sequence[JobMove], now: datetime) -> list[str]:
        moved, _, v1 = self._move(moves, now)
        ids = dict.fromkeys(moved)
        if v1:
            ids |= dict.fromkeys(self._v1.move_job_ids(v1, now))
        return [i for i in dict.fromkeys(m.job_id for m in moves) if i in ids]

    @staticmethod
    def _in_order(moves: Sequence[JobMove], jobs: dict[str, Job]) -> list[Job]:
        return [jobs[i] for i in dict.fromkeys(m.job_id for m in moves) if i in jobs]

    def _move(
        self, moves: Sequence[JobMove], now: datetime, states: dict[str, RunState] | None = None
    ) -> tuple[list[str], dict[str, _Write], list[JobMove]]:
        """Apply the moves run by run (on `states` when the caller read them just now): the ids
        that moved, the runs' writes, and the moves of jobs no run holds (for the store of one
        item a job)."""
        by_run: dict[str, list[JobMove]] = {}
        for m in moves:
            by_run.setdefault(run_of(m.job_id), []).append(m)
        stamp = items.ts(now)
        if states is None:
            states = self._states(list(by_run))
        # One tag a run: a write that lost a race puts the same output items again, not new ones.
        tags = {run: os.urandom(3).hex() for run in states}
        writes = self._each_run(states, by_run, lambda s, ms: self._apply(s, ms, stamp, tags[s.run]))
        moved = [run + sfx for run, w in writes.items() for sfx in w.moved]
        return moved, writes, [m for m in moves if not _held(states, m.job_id)]

    def _each_run(
        self,
        states: dict[str, RunState],
        by_run: dict[str, list[_T]],
        step: Callable[[RunState, list[_T]], _Write | None],
    ) -> dict[str, _Write]:
        """`step` applied to each stored run, from the state read: the runs written. Runs of a few
        jobs (single submits) are written together, 100 actions a transaction, so a call's round
        trips do not grow with its runs; larger runs are one PutItem each, concurrently."""
        stored = [run for run in by_run if run in states]
        small = [run for run in stored if len(states[run].jobs) <= SMALL_RUN]
        if len(small) < 2:
            small = []
        big = [run for run in stored if run not in small]
        done = self._pool.map(
            lambda run: self._change(run, lambda st: step(st, by_run[run]), first=states[run]), big
        )
        together = self._change_many({run: states[run] for run in small}, lambda st: step(st, by_run[st.run]))
        return together | {run: w for run, w in zip(big, done, strict=True) if w is not None}

    def _apply(self, state: RunState, moves: list[JobMove], stamp: str, tag: str) -> _Write | None:
        write = _Write(state)
        ends: dict[str, tuple[str | None, str | None]] = {}
        for move in moves:
            sfx = runs.suffix(move.job_id)
            e = state.jobs.get(sfx)
            if e is None or not _applies(e, move):
                continue
            e.status, e.updated = move.status.value, stamp
            if move.batch_id is not None:
                e.batch = move.batch_id
            if move.transform_job_name is not None:
                e.transform = move.transform_job_name
            if move.status in model.JOB_TERMINAL:
                e.completed = stamp
            if move.result is not None or move.error is not None:
                ends[sfx] = (move.result, move.error)
            write.moved.setdefault(sfx, None)
        if not write.moved:
            return None
        # Written with the run's TTL when this write ends the run: no second write to set it.
        for part, item, sfxs in runs.output_items(state.run, tag, ends, self._expiry(state)):
            write.puts.append(item)  # put before the state that names them
            for sfx in sfxs:
                state.jobs[sfx].out = part
        return write

    def retry_jobs(self, job_ids: Sequence[str], now: datetime) -> list[Job]:
        unique = list(dict.fromkeys(job_ids))
        by_run: dict[str, list[str]] = {}
        for i in unique:
            by_run.setdefault(run_of(i), []).append(i)
        stamp = items.ts(now)
        states = self._states(list(by_run))

        def requeue(state: RunState, ids: list[str]) -> _Write | None:
            write = _Write(state)
            for i in ids:
                e = state.jobs.get(runs.suffix(i))
                if e is None or not model.can_retry_job(JobStatus(e.status)):
                    continue
                e.status, e.attempt, e.updated = JobStatus.QUEUED.value, e.attempt + 1, stamp
                e.completed = e.batch = e.transform = e.out = None
                write.moved[runs.suffix(i)] = None
            return write if write.moved else None

        writes = self._each_run(states, by_run, requeue)
        moved = [run + sfx for run, w in writes.items() for sfx in w.moved]
        jobs = {j.job_id: j for j in self._jobs({run: w.state for run, w in writes.items()}, moved)}
        v1 = [i for i in unique if not _held(states, i)]
        if v1:
            jobs |= {j.job_id: j for j in self._v1.retry_jobs(v1, now)}
        return [jobs[i] for i in unique if i in jobs]

    # --- the one write path -------------------------------------------------------------------
    def _change(
        self, run: str, step: Callable[[RunState], _Write | None], *, first: RunState | None = None
    ) -> _Write | None:
        """Read the run, let `step` change it, write it on the version read; again on a lost race."""
        state = first
        for attempt in range(MAX_ATTEMPTS):
            if state is None:
                state = self._read(run)
            before = _copy(state)
            write = step(state)
            if write is None:
                return None
            self._io.put(write.puts)
            if self._write(before, write):
                return write
            state = None
            self._io.backoff(attempt)
        raise StoreUnavailable(f"run {run} kept changing under {MAX_ATTEMPTS} writes; try again")

    def _read(self, run: str) -> RunState:
        got = self._db.get_item(
            TableName=self._table, Key={"pk": {"S": f"{runs.RUN}#{run}"}}, ConsistentRead=True
        )
        return runs.state_from_item(run, got["Item"]) if "Item" in got else RunState(run)

    def _write(self, before: RunState, write: _Write) -> bool:
        """The state, conditioned on `before`'s version; False when another writer came first."""
        plan = self._plan(before, write, expiry_inline=False)
        if len(plan.actions) > 1:  # markers or tokens with it: one transaction
            if self._send_plans([plan]):
                return False
        else:
            try:
                self._db.put_item(**plan.actions[0]["Put"])
            except self._db.exceptions.ConditionalCheckFailedException:
                return False
        if plan.expiry_keys:
            self._set_expiry(plan.expiry_keys, plan.expires)
        write.state.expiry = plan.expires
        return True

    def _plan(self, before: RunState, write: _Write, *, expiry_inline: bool) -> _Plan:
        state = write.state
        expires = self._expiry(state)
        state.settle_marks(before)
        want_s, want_b = state.status_marks, state.batch_marks
        # A marker's sort key follows the run's: rewrite every marker when it moves (a run added to).
        moved_key = before.sort_key != state.sort_key
        keep_s = before.status_marks if not moved_key else frozenset()
        keep_b = before.batch_marks if not moved_key else frozenset()
        put_marks = [("s", v) for v in sorted(want_s - keep_s)] + [("b", v) for v in sorted(want_b - keep_b)]
        drop_marks = [("s", v) for v in sorted(before.status_marks - want_s)]
        drop_marks += [("b", v) for v in sorted(before.batch_marks - want_b)]
        state.version = before.version + 1
        put: dict[str, Any] = {"TableName": self._table, "Item": runs.state_item(state, expires)}
        if before.version == 0:
            put["ConditionExpression"] = "attribute_not_exists(pk)"
        else:
            put["ConditionExpression"] = "v = :v"
            put["ExpressionAttributeValues"] = {":v": {"N": str(before.version)}}
        actions: list[dict[str, Any]] = [{"Put": put}]
        actions += [
            {"Put": {"TableName": self._table, "Item": runs.mark_item(state, w, v, expires)}}
            for w, v in put_marks
        ]
        actions += [
            {"Delete": {"TableName": self._table, "Key": {"pk": {"S": runs.mark_key(state.run, w, v)}}}}
            for w, v in drop_marks
        ]
        for token, job_id in write.tokens.items():
            expiry = items.expires_at(
                items.parse_ts(state.jobs[runs.suffix(job_id)].submitted), self._ttl_days
            )
            token_item = {
                **items.key(items.TOKEN, token),
                **items.to_item({"jobId": job_id, "expiresAt": expiry}),
            }
            actions.append({"Put": {"TableName": self._table, "Item": token_item,
                                    "ConditionExpression": "attribute_not_exists(pk)"}})  # fmt: skip
        keys: list[str] = []
        if (expires is None) != (before.expiry is None):
            # Markers put now and outputs put with this write carry it already.
            written = {runs.mark_key(state.run, w, v) for w, v in put_marks}
            written |= {i["pk"]["S"] for i in write.puts}
            keys = [k for k in self._items_of(state) if k not in written]
            if expiry_inline:
                actions += [{"Update": {"TableName": self._table, "Key": {"pk": {"S": k}},
                                        **_expiry_update(expires)}} for k in keys]  # fmt: skip
                keys = []
        return _Plan(write, actions, expires, keys)

    def _change_many(
        self, states: dict[str, RunState], step: Callable[[RunState], _Write | None]
    ) -> dict[str, _Write]:
        """`_change` for many runs at once: their outputs in BatchWriteItems, their states (and
        markers and expiries) in transactions of up to 100 actions; a run that lost a race is read
        again and decided again, the others are sent again at once."""
        done: dict[str, _Write] = {}
        pending = states
        for attempt in range(MAX_ATTEMPTS):
            plans = []
            for state in pending.values():
                before = _copy(state)
                write = step(state)
                if write is not None:
                    plans.append(self._plan(before, write, expiry_inline=True))
            puts = [item for p in plans for item in p.write.puts]
            list(self._fan.map(self._io.put, [puts[i : i + 25] for i in range(0, len(puts), 25)]))
            lost = self._transact_plans(plans)
            for p in plans:
                if p.write.state.run not in lost:
                    p.write.state.expiry = p.expires
                    done[p.write.state.run] = p.write
            if not lost:
                return done
            self._io.backoff(attempt)
            pending = self._states(sorted(lost))
        raise StoreUnavailable(f"{len(pending)} runs kept changing under {MAX_ATTEMPTS} writes; try again")

    def _transact_plans(self, plans: list[_Plan]) -> set[str]:
        """Send the plans, each run's actions in one transaction with others'; the runs whose
        state had changed since it was read (their condition failed), which are not written."""
        lost: set[str] = set()
        chunks: list[list[_Plan]] = [[]]
        count = size = 0
        for p in plans:
            grown = len(json.dumps(p.actions))
            if chunks[-1] and (count + len(p.actions) > TRANSACT_MAX or size + grown > TRANSACT_BYTES):
                chunks.append([])
                count = size = 0
            chunks[-1].append(p)
            count, size = count + len(p.actions), size + grown
        for lost_in in self._fan.map(self._send_plans, chunks):  # concurrently: a chunk's time for all
            lost |= lost_in
        return lost

    def _expiry(self, state: RunState) -> int | None:
        """TTL for a run whose every job is at an end, from its latest end; none while one runs."""
        ends = [e.completed for e in state.jobs.values()]
        if self._ttl_days <= 0 or any(e is None for e in ends):
            return None
        return items.expires_at(items.parse_ts(max(e for e in ends if e)), self._ttl_days)

    def _send_plans(self, chunk: list[_Plan]) -> set[str]:
        """One transaction of whole plans, sent until it holds; the runs that lost their race.
        Raises _TokenTaken when a client token a plan claims is stored already."""
        lost: set[str] = set()
        attempt = 0
        while chunk:
            actions = [a for p in chunk for a in p.actions]
            try:
                self._db.transact_write_items(TransactItems=actions)  # type: ignore[arg-type]
                return lost
            except self._db.exceptions.TransactionCanceledException as exc:
                codes = [r.get("Code") or "None" for r in exc.response.get("CancellationReasons", [])]
                if len(codes) != len(actions) or set(codes) - {
                    "None",
                    "ConditionalCheckFailed",
                    *RETRY_REASONS,
                }:
                    raise
                at, failed = 0, set()
                for p in chunk:  # a run's state Put is its first action, its token claims its last
                    mine = codes[at : at + len(p.actions)]
                    if mine[0] == "ConditionalCheckFailed":
                        failed.add(p.write.state.run)
                    claims = mine[len(mine) - len(p.write.tokens) :] if p.write.tokens else []
                    for token, code in zip(p.write.tokens, claims, strict=True):
                        if code == "ConditionalCheckFailed":
                            raise _TokenTaken(token) from exc
                    at += len(p.actions)
                lost |= failed
                chunk = [p for p in chunk if p.write.state.run not in failed]
                if failed and not set(codes) & RETRY_REASONS:
                    continue  # the rest had no fault of their own: send them again now
                if attempt == MAX_ATTEMPTS:
                    why = ", ".join(sorted(set(codes) & RETRY_REASONS))
                    raise StoreUnavailable(
                        f"DynamoDB kept cancelling a write of {len(chunk)} runs ({why})"
                    ) from exc
                self._io.backoff(attempt)
                attempt += 1
        return lost

    @staticmethod
    def _items_of(state: RunState) -> list[str]:
        """The run's other items (inputs, outputs, markers): their TTL follows the state's."""
        keys = {runs.input_key(state.run, e.part)["pk"]["S"] for e in state.jobs.values()}
        keys |= {runs.output_key(state.run, e.out)["pk"]["S"] for e in state.jobs.values() if e.out}
        keys |= {runs.mark_key(state.run, "s", v) for v in state.status_marks}
        keys |= {runs.mark_key(state.run, "b", v) for v in state.batch_marks}
        return sorted(keys)

    def _set_expiry(self, keys: list[str], expires: int | None) -> None:
        def update(pk: str) -> None:
            # Conditional on the item existing: one gone already (expired) is not made again.
            with contextlib.suppress(self._db.exceptions.ConditionalCheckFailedException):
                self._db.update_item(
                    TableName=self._table, Key={"pk": {"S": pk}}, ConditionExpression="attribute_exists(pk)",
                    **_expiry_update(expires),
                )  # fmt: skip

        list(self._fan.map(update, keys))

    # --- listings and counts ------------------------------------------------------------------
    def list_jobs(
        self, *, status: JobStatus | None, batch_id: str | None, limit: int, next_token: str | None
    ) -> Page[Job]:
        if batch_id is not None:
            index, attr, values = items.BY_BATCH, "batchKey", runs.batch_values(batch_id)
        elif status is not None:
            index, attr, values = items.BY_STATUS, "statusKey", runs.status_values(status.value)
        else:
            index, attr, values = items.BY_KIND, "kind", runs.kind_values()
        tag = f"{index}:{values[0]}:{status.value if status else ''}"
        start, skip = listing.decode(tag, next_token)

        def keep(e: Entry) -> bool:
            return (status is None or e.status == status.value) and (batch_id is None or e.batch == batch_id)

        picked: list[str] = []
        held: dict[str, RunState] = {}
        token: str | None = None
        entries = self._entries((index, attr, values), start)
        # Runs in chunks of what the page still needs (+1, to know whether there is more), their
        # states read together; then the jobs picked, inputs and outputs read together.
        while token is None and (chunk := listing.take(entries, limit + 1 - len(picked))):
            states = self._states([r for _, r in chunk])
            for sort_key, run in chunk:
                state = states.get(run)
                offset = skip if sort_key == start else 0
                sfxs = [s for s in state.newest_first() if keep(state.jobs[s])][offset:] if state else []
                if not sfxs:
                    continue
                room = limit - len(picked)
                if room == 0:
                    token = listing.encode(tag, sort_key, offset)
                    break
                picked.extend(run + s for s in sfxs[:room])
                held[run] = states[run]
                if len(sfxs) > room:
                    token = listing.encode(tag, sort_key, offset + room)
                    break
        return Page(self._jobs(held, picked), token)

    def _entries(self, where: tuple[str, str, list[str]], start: str | None) -> Iterator[tuple[str, str]]:
        return listing.entries(self._db, self._table, self._fan, where, start)

    def _all_runs(self, index: str, attr: str, values: list[str]) -> dict[str, RunState]:
        found = [r for _, r in self._entries((index, attr, values), None)]
        return self._states(found)

    def batch_job_ids(self, batch_id: str) -> list[str]:
        states = self._all_runs(items.BY_BATCH, "batchKey", runs.batch_values(batch_id))
        return [s.run + sfx for s in states.values() for sfx, e in s.jobs.items() if e.batch == batch_id]

    def count_batch_jobs(self, batch_id: str) -> dict[JobStatus, int]:
        # Read from the state items themselves (consistent reads): exact, whatever the index lags.
        states = self._all_runs(items.BY_BATCH, "batchKey", runs.batch_values(batch_id))
        counts = Counter(
            JobStatus(e.status) for s in states.values() for e in s.jobs.values() if e.batch == batch_id
        )
        return dict(counts)

    def move_batch_jobs(
        self, batch_id: str, status: JobStatus, now: datetime, *, transform_job_name: str | None = None
    ) -> list[str]:
        # The batch's runs are read once: their states name its jobs and are the states moved.
        states = self._all_runs(items.BY_BATCH, "batchKey", runs.batch_values(batch_id))
        moves = [
            JobMove(s.run + sfx, status, transform_job_name=transform_job_name, in_batch=batch_id)
            for s in states.values()
            for sfx, e in s.jobs.items()
            if e.batch == batch_id
        ]
        return self._move(moves, now, states)[0]

    def count_jobs_by_status(self) -> dict[JobStatus, int]:
        # DynamoDB keeps no counts: every run listed under a status is read (call it now and then).
        found: set[str] = set()
        for s in JobStatus:
            found |= {
                r for _, r in self._entries((items.BY_STATUS, "statusKey", runs.status_values(s.value)), None)
            }
        states = self._states(list(found))
        counts = Counter(JobStatus(e.status) for st in states.values() for e in st.jobs.values())
        return {s: counts.get(s, 0) for s in JobStatus}

    # --- batches: one item each, as before ----------------------------------------------------
    def create_batch(self, batch: Batch) -> Batch:
        return self._v1.create_batch(batch)

    def get_batch(self, batch_id: str) -> Batch | None:
        return self._v1.get_batch(batch_id)

    def move_batch(
        self,
        batch_id: str,
        status: BatchStatus,
        now: datetime,
        *,
        claimed_by: str | None = None,
        **changes: Any,
    ) -> Batch | None:
        return self._v1.move_batch(batch_id, status, now, claimed_by=claimed_by, **changes)

    def list_batches(self, *, status: BatchStatus | None, limit: int, next_token: str | None) -> Page[Batch]:
        return self._v1.list_batches(status=status, limit=limit, next_token=next_token)


def _held(states: dict[str, RunState], job_id: str) -> bool:
    state = states.get(run_of(job_id))
    return state is not None and runs.suffix(job_id) in state.jobs


def _expiry_update(expires: int | None) -> dict[str, Any]:
    if expires is None:
        return {"UpdateExpression": "REMOVE expiresAt"}
    return {
        "UpdateExpression": "SET expiresAt = :e",
        "ExpressionAttributeValues": {":e": {"N": str(expires)}},
    }


def _copy(state: RunState) -> RunState:
    return replace(state, jobs={s: replace(e) for s, e in state.jobs.items()})


def _applies(e: Entry, move: JobMove) -> bool:
    if not model.can_move_job(JobStatus(e.status), move.status):
        return False
    if move.in_batch is None:
        return True
    return e.batch == move.in_batch or (e.batch is None and e.attempt == 1)
