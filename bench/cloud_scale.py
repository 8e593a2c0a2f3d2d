"""The cloud path at scale, measured (issue 8): what one job costs in requests, capacity and dollars.

    .venv/bin/python bench/cloud_scale.py [--jobs 10000] [--batch-size N] [--trigger s3|schedule]
        [--each-job-end] [--per-call 500]

Drives the real handlers the way AWS would, under moto (tests/cloud_harness.py's `cloud()`: the
stack's table, stream and bucket from template.yaml, the functions' environment):
- N jobs go in through the resolver (`resolvers/api.py`) as `submitJobs` calls of 500 (`--per-call`), in the
  direct-resolver event shape of tests/events;
- the Kinesis event source mapping is played by reading the shard BatchSize records at a time
  (template.yaml's BatchSize) and invoking `workers/batcher.py` once per read: at 1,000 submits/s
  over the template's 2 shards a shard gets ~500 records/s, so BatchSize fills well inside the window;
- each batch file's S3 ObjectCreated event invokes `workers/transform_starter.py` (TriggerType s3);
  with TriggerType schedule (`--trigger schedule`, or the template's default), the rate rule's
  scheduled event invokes it instead, tick after tick until one starts nothing, and SageMaker plays
  each manifest job over all its files, one `.out` (and one results call) per file;
- SageMaker is played: its InProgress state-change event (EventBridge) goes to
  `workers/transform_events.py`; the input is read from S3 and run through the Batch Transform
  emulator with the demo model and the exact request the starter sent (DataProcessing included);
  the `.out` is written back to S3 and its S3 event goes to `workers/results.py`; then the
  Completed state-change event goes to `workers/transform_events.py`.

Every AWS call the handlers make is counted by botocore hooks (`before-parameter-build`,
`after-call`) on the clients `cloud_ports()` built; SageMaker's own S3 reads and writes are counted
apart; the event source mapping's GetRecords are not billed per request (on-demand bills GB read).
AppSync is a stand-in in a second process that answers the publish mutations like a NONE resolver
and counts them (see AppSyncCounter for why not the harness's stub).

DynamoDB capacity is computed from item sizes with DynamoDB's documented size rules, because
moto's ReturnConsumedCapacity answers a constant whatever the item and leaves indexes out: per
write, ceil(size / 1 KB) for the table (the larger of the item before and after; a failed
conditional write still pays it), plus one write per GSI entry put, deleted (a changed index key
is a delete and a put) or rewritten (a projected attribute changed), each ceil((entry + 100 B) /
1 KB). Each write is booked on the partition key value it lands on. At the end the items sized
are checked equal to what moto holds.

Where a 10,000-job run spent its time, and what the bench does about it (nothing in the handlers):
moto serving DynamoDB took ~3/4 of the CPU, and half of each UpdateItem was moto's generic response
serializer, so DynamoDB's JSON responses are json.dumps'ed once 20 per operation matched moto's own
(fast_dynamodb_responses); the harness's AppSync stub built a boto3 Session per request to check
its signature and closed every connection (AppSyncCounter); the final check reads moto's backend
rather than a Scan. What is left is moto itself (a GSI Query walks the whole table) and the
handlers' own CPU (boto3 and SigV4, ~6 ms a job).

Lambda duration is each handler call's wall time on this machine, with moto serving in the same
process: an upper-bound-ish figure. The handler's CPU outside moto is printed beside it (a lower
bound: no wait for the network). Log bytes are what the handlers write to stdout/stderr
(powertools Logger lines, EMF metric documents, warnings) plus Lambda's START/END/REPORT lines.
The cost model uses the price constants below (us-east-1, NOT checked against the live pricing
pages: this machine has no network).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import math
import os
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# ---- prices, us-east-1, as remembered from the AWS pricing pages (NOT checked: no network here) ----
APPSYNC_PER_M_OPS = 4.00  # queries and mutations, per million
APPSYNC_PER_M_RT_UPDATES = 2.00  # real-time updates delivered, per million
# Each delivered update is billed per 5 KB of its payload, a 12 KB message as 3 updates: as remembered
# from the pricing page, NOT confirmed here (the search tool found no page saying it either way).
RT_UPDATE_BYTES = 5 * 1024
APPSYNC_PER_M_CONN_MIN = 0.08  # real-time connection-minutes, per million
LAMBDA_PER_M_REQUESTS = 0.20
LAMBDA_PER_GB_S_ARM = 0.0000133334  # arm64 (template.yaml: Architectures [arm64])
DDB_PER_M_WRU = 0.625  # on-demand write request units, per million
DDB_PER_M_RRU = 0.125  # on-demand read request units, per million
DDB_STORAGE_PER_GB_MONTH = 0.25
DDB_PITR_PER_GB_MONTH = 0.20  # continuous backups, per GB-month of table size
KINESIS_OD_PER_STREAM_HOUR = 0.04  # on-demand stream
KINESIS_OD_PER_GB_IN = 0.08  # on-demand data ingested, each record rounded up to 1 KB
KINESIS_OD_PER_GB_OUT = 0.04  # on-demand data retrieved, each record rounded up to 1 KB
KINESIS_PER_SHARD_HOUR = 0.015  # provisioned stream, per shard
KINESIS_PER_M_PUT_UNITS = 0.014  # provisioned: each record's 25 KB payload units, per million
S3_PER_1K_PUT = 0.005  # PUT, COPY, POST, LIST
S3_PER_1K_GET = 0.0004  # GET, HEAD and the rest
LOGS_PER_GB_INGESTED = 0.50  # CloudWatch Logs, standard class (event bytes + 26 bytes per event)
SAGEMAKER_PER_INSTANCE_HOUR = {"ml.m5.xlarge": 0.23, "ml.m4.xlarge": 0.24, "ml.c5.xlarge": 0.204}

# asyncml's own services per 1M jobs before issue 8 ("Cloud path at scale (issue 8): before"): the
# fixed base of its "1/3 of today's" budget, not this run's own total.
BEFORE_OWN_SERVICES = 40.28

# ---- assumptions of the cost model ------------------------------------------------------------------
# The seed's job item: one item a job, as asyncml's was before runs (499 B measured at 10,000 jobs,
# docs/performance.md), so each of its two writes is 1 WRU.
SEED_JOB_ITEM_BYTES = 499
JOBS_PER_DAY = 1_000_000  # for what is billed by the hour or month (stream-hours, storage, PITR)
SUBSCRIBERS_PER_UPDATE = 1  # each published update reaches one subscriber (the job's watcher)
CONNECTION_MINUTES_PER_SUBMIT_CALL = 10  # the submitting client watches its 500 jobs ~10 minutes
TRANSFORM_STARTUP_MINUTES = 5.0  # billed instance-minutes before the first record (5-10 observed)
TRANSFORM_RECORDS_PER_SECOND = 1_000  # per instance once started (a small tabular model)
APPSYNC_LOG_BYTES_PER_REQUEST = 2_000  # field logs at ALL, per request: an estimate, not measured
LOG_EVENT_OVERHEAD = 26  # bytes CloudWatch Logs bills per event on top of its text
GB = 1024**3
# What Lambda itself logs around each invocation (text format): one sample of each line.
PLATFORM_LINES = (
    "START RequestId: 5f1c9e1a-0a1b-4c2d-8e3f-000000000000 Version: $LATEST\n",
    "END RequestId: 5f1c9e1a-0a1b-4c2d-8e3f-000000000000\n",
    "REPORT RequestId: 5f1c9e1a-0a1b-4c2d-8e3f-000000000000\tDuration: 123.45 ms\tBilled Duration: "
    "124 ms\tMemory Size: 512 MB\tMax Memory Used: 98 MB\t\n",
)

SUBMIT_CHUNK = 500  # inputs per submitJobs call (the API's limit)
IRIS = ["5.1,3.5,1.4,0.2", "6.7,3.0,5.2,2.3", "5.9,3.0,4.2,1.5", "4.9,3.1,1.5,0.1"]
FUNCTIONS = {  # handler -> its logical id in template.yaml
    "resolver": "ApiFunction",
    "batcher": "BatcherFunction",
    "transform_starter": "TransformStarterFunction",
    "results": "ResultsFunction",
    "transform_events": "TransformEventsFunction",
}
HANDLERS = list(FUNCTIONS)
S3_PUT_OPS = {"PutObject", "CopyObject", "CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload"}


# ---- DynamoDB sizes (developer guide: "Item sizes and formats", "Capacity unit consumption") ------
def value_size(v: dict[str, Any]) -> int:
    ((kind, x),) = v.items()
    if kind == "S":
        return len(x.encode())
    if kind == "N":  # ~1 byte per 2 significant digits, plus 1
        digits = x.lstrip("-").replace(".", "").strip("0") or "0"
        return (len(digits) + 1) // 2 + 1
    if kind == "B":
        return len(x)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "M":
        return 3 + sum(len(k.encode()) + value_size(e) for k, e in x.items())
    if kind == "L":
        return 3 + sum(1 + value_size(e) for e in x)
    return sum(value_size({kind[0]: e}) for e in x)  # SS, NS, BS


def item_size(item: dict[str, Any] | None) -> int:
    return sum(len(k.encode()) + value_size(v) for k, v in (item or {}).items())


def write_units(size: int) -> int:
    return max(1, math.ceil(size / 1024))


def read_units(size: int, consistent: bool | None) -> float:
    return max(1, math.ceil(size / 4096)) * (1.0 if consistent else 0.5)


@dataclass(frozen=True)
class Index:
    name: str
    hash_key: str
    range_key: str
    projection: str
    non_key: tuple[str, ...]

    def entry(self, item: dict[str, Any] | None) -> dict[str, Any] | None:
        """The item's entry in this GSI (None: a sparse index holds no entry for it)."""
        if not item or self.hash_key not in item or self.range_key not in item:
            return None
        if self.projection == "ALL":
            return item
        names = {"pk", self.hash_key, self.range_key, *self.non_key}
        return {k: v for k, v in item.items() if k in names}


@dataclass
class Stats:
    calls: Counter[tuple[str, str, str]] = field(default_factory=Counter)  # (actor, service, op)
    wcu: Counter[tuple[str, str]] = field(default_factory=Counter)  # (actor, "table" | index)
    rru: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))  # actor
    key_wcu: Counter[tuple[str, str]] = field(default_factory=Counter)  # ("table" | index, key value)
    key_writes: Counter[tuple[str, str]] = field(default_factory=Counter)
    key_actor_wcu: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    burst: Counter[tuple[str, str]] = field(default_factory=Counter)  # in the invocation running now
    max_burst: dict[tuple[str, str], tuple[int, str]] = field(default_factory=dict)
    invocations: Counter[str] = field(default_factory=Counter)
    billed_ms: Counter[str] = field(default_factory=Counter)
    own_cpu_ms: Counter[str] = field(default_factory=Counter)  # the handler's CPU outside moto
    log_bytes: Counter[str] = field(default_factory=Counter)
    log_events: Counter[str] = field(default_factory=Counter)
    publishes: Counter[str] = field(default_factory=Counter)  # AppSync requests, by actor
    kinesis_in_kb: int = 0
    kinesis_put_units: int = 0  # provisioned streams bill PUT payload units of 25 KB, per record
    kinesis_out_kb: int = 0
    transform_requests: dict[str, dict[str, Any]] = field(default_factory=dict)
    data_keys: list[str] = field(default_factory=list)  # batch files written: S3 events to send


class Meter:
    """botocore hooks on the handlers' clients: every call, and DynamoDB capacity from item sizes."""

    def __init__(self, table: str, indexes: list[Index]) -> None:
        self.table, self.indexes = table, indexes
        self.s = Stats()
        self.actor = "harness"  # who is calling now: a handler, "esm", "sagemaker" or the harness
        self.lock = threading.Lock()
        self.shadow: dict[str, dict[str, Any]] = {}  # pk -> the item as DynamoDB holds it now
        # (index, hash key value) -> [entries, bytes]: what a Query there reads
        self.partition: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])

    def attach(self, client: Any) -> None:
        client.meta.events.register("before-parameter-build", self._before)
        client.meta.events.register("after-call", self._after)

    @contextlib.contextmanager
    def acting(self, actor: str) -> Iterator[None]:
        saved, self.actor = self.actor, actor
        try:
            yield
        finally:
            self.actor = saved

    def logged(self, text: str) -> None:
        with self.lock:
            self.s.log_bytes[self.actor] += len(text.encode())
            self.s.log_events[self.actor] += text.count("\n")

    def invocation_done(self, actor: str) -> None:
        for key, units in self.s.burst.items():
            if units > self.s.max_burst.get(key, (0, ""))[0]:
                self.s.max_burst[key] = (units, actor)
        self.s.burst.clear()

    # --- hooks -------------------------------------------------------------------------------------
    def _before(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["bench_params"] = params  # the same dict reaches after-call as `context`

    def _after(
        self, http_response: Any, parsed: dict[str, Any], model: Any, context: dict[str, Any], **_: Any
    ) -> None:
        service, op = model.service_model.service_name, model.name
        params = context.get("bench_params", {})
        ok = http_response.status_code < 300
        with self.lock:
            actor = self.actor
            self.s.calls[(actor, service, op)] += 1
            if service == "dynamodb":
                self._dynamodb(actor, op, params, parsed, ok)
            elif (service, op) == ("kinesis", "PutRecords"):
                sizes = [len(r["Data"]) + len(r["PartitionKey"].encode()) for r in params["Records"]]
                self.s.kinesis_in_kb += sum(math.ceil(n / 1024) for n in sizes)
                self.s.kinesis_put_units += sum(math.ceil(n / (25 * 1024)) for n in sizes)
            elif (service, op) == ("kinesis", "GetRecords"):
                self.s.kinesis_out_kb += sum(
                    math.ceil((len(r["Data"]) + len(r["PartitionKey"].encode())) / 1024)
                    for r in parsed["Records"]
                )
            elif (service, op) == ("sagemaker", "CreateTransformJob") and ok:
                self.s.transform_requests[params["TransformJobName"]] = params
            elif (service, op) == ("s3", "PutObject") and ok and params["Key"].startswith("data/"):
                self.s.data_keys.append(params["Key"])

    # --- DynamoDB capacity ---------------------------------------------------------------------------
    def _dynamodb(
        self, actor: str, op: str, params: dict[str, Any], parsed: dict[str, Any], ok: bool
    ) -> None:
        if op == "BatchWriteItem":
            left = parsed.get("UnprocessedItems", {}).get(self.table, [])
            for r in params["RequestItems"].get(self.table, []):
                if r in left:
                    continue
                if "PutRequest" in r:
                    item = r["PutRequest"]["Item"]
                    self._write(actor, item["pk"]["S"], item)
                else:
                    self._write(actor, r["DeleteRequest"]["Key"]["pk"]["S"], None)
        elif op == "PutItem":
            pk = params["Item"]["pk"]["S"]
            if ok:
                self._write(actor, pk, params["Item"])
            else:  # a failed condition still costs the write, sized by the larger item
                self._failed(actor, pk, max(item_size(self.shadow.get(pk)), item_size(params["Item"])))
        elif op == "UpdateItem":
            pk = params["Key"]["pk"]["S"]
            if not ok:
                self._failed(actor, pk, item_size(self.shadow.get(pk)))
            elif params.get("ReturnValues") == "ALL_NEW":
                self._write(actor, pk, parsed["Attributes"])
            else:  # the item as moto holds it after the update
                self._write(actor, pk, self._held(pk))
        elif op == "DeleteItem" and ok:
            self._write(actor, params["Key"]["pk"]["S"], None)
        elif op == "TransactWriteItems":
            self._transaction(actor, params, ok)
        elif op == "GetItem":
            self.s.rru[actor] += read_units(item_size(parsed.get("Item")), params.get("ConsistentRead"))
        elif op == "BatchGetItem":
            req = params["RequestItems"].get(self.table, {})
            consistent = req.get("ConsistentRead")
            found = parsed.get("Responses", {}).get(self.table, [])
            left = len(parsed.get("UnprocessedKeys", {}).get(self.table, {}).get("Keys", []))
            missing = len(req.get("Keys", [])) - left - len(found)
            # A projection does not make a read cheaper: size the whole item where it is known.
            units = sum(read_units(item_size(self.shadow.get(i.get("pk", {}).get("S", ""), i)), consistent)
                        for i in found)  # fmt: skip
            self.s.rru[actor] += units + missing * read_units(0, consistent)
        elif op == "Query":
            # A Query reads whole entries before any filter, rounded up to 4 KB once per call; a
            # GSI is read eventually consistent (half a unit).
            name = params.get("IndexName")
            value = next(iter(params["ExpressionAttributeValues"].values()))["S"]
            entries, size = self.partition.get((name, value), [0, 0]) if name else (0, 0)
            scanned = parsed.get("ScannedCount", parsed.get("Count", 0))
            per_entry = size / entries if entries else 100
            units = max(1, math.ceil(scanned * per_entry / 4096))
            self.s.rru[actor] += units * (0.5 if name else (1.0 if params.get("ConsistentRead") else 0.5))

    def _book(self, actor: str, target: str, key: str, units: int) -> None:
        s = self.s
        s.wcu[(actor, target)] += units
        s.key_wcu[(target, key)] += units
        s.key_writes[(target, key)] += 1
        s.key_actor_wcu[(target, key, actor)] += units
        s.burst[(target, key)] += units

    def _transaction(self, actor: str, params: dict[str, Any], ok: bool) -> None:
        for t in params["TransactItems"]:  # a transactional write costs twice (the table's part)
            if "Put" in t:
                pk = t["Put"]["Item"]["pk"]["S"]
                if ok:
                    self._write(actor, pk, t["Put"]["Item"], factor=2)
                else:
                    self._failed(
                        actor, pk, max(item_size(self.shadow.get(pk)), item_size(t["Put"]["Item"])), 2
                    )
            elif "Delete" in t:
                pk = t["Delete"]["Key"]["pk"]["S"]
                if ok:
                    self._write(actor, pk, None, factor=2)
                else:
                    self._failed(actor, pk, item_size(self.shadow.get(pk)), factor=2)
            elif "Update" in t:  # no ReturnValues in a transaction: the item as moto holds it now
                pk = t["Update"]["Key"]["pk"]["S"]
                if ok:
                    self._write(actor, pk, self._held(pk), factor=2)
                else:  # a cancelled transaction is booked like failed conditional writes
                    self._failed(actor, pk, item_size(self.shadow.get(pk)), factor=2)

    def _failed(self, actor: str, pk: str, size: int, factor: int = 1) -> None:
        self._book(actor, "table", pk, write_units(size) * factor)

    def _held(self, pk: str) -> dict[str, Any] | None:
        from moto.core.models import DEFAULT_ACCOUNT_ID
        from moto.dynamodb.models import DynamoType, dynamodb_backends

        region = os.environ.get("AWS_DEFAULT_REGION", "us-east-1")
        table = dynamodb_backends[DEFAULT_ACCOUNT_ID][region].get_table(self.table)
        item = table.get_item(DynamoType({"S": pk}))
        return item.to_json()["Attributes"] if item is not None else None

    def _write(self, actor: str, pk: str, after: dict[str, Any] | None, factor: int = 1) -> None:
        before = self.shadow.get(pk)
        self._book(actor, "table", pk, write_units(max(item_size(before), item_size(after))) * factor)
        for idx in self.indexes:
            old, new = idx.entry(before), idx.entry(after)
            if old is None and new is None:
                continue
            if (
                old is not None
                and new is not None
                and all(old[k] == new[k] for k in (idx.hash_key, idx.range_key))
            ):
                if old != new:  # a projected attribute changed: the entry is rewritten where it is
                    key = new[idx.hash_key]["S"]
                    self._book(actor, idx.name, key, write_units(max(item_size(old), item_size(new)) + 100))
                    self._resize(idx, key, item_size(new) - item_size(old), 0)
                continue
            if old is not None:  # the index key moved (or the entry left): a delete where it was ...
                self._book(actor, idx.name, old[idx.hash_key]["S"], write_units(item_size(old) + 100))
                self._resize(idx, old[idx.hash_key]["S"], -item_size(old), -1)
            if new is not None:  # ... and a put where it lands
                self._book(actor, idx.name, new[idx.hash_key]["S"], write_units(item_size(new) + 100))
                self._resize(idx, new[idx.hash_key]["S"], item_size(new), 1)
        if after is None:
            self.shadow.pop(pk, None)
        else:
            self.shadow[pk] = after

    def _resize(self, idx: Index, value: str, size: int, count: int) -> None:
        p = self.partition[(idx.name, value)]
        p[0] += count
        p[1] += size


class CountingSink(io.TextIOBase):
    """Stands in for stdout and stderr while the handlers run: counts what each one logs."""

    def __init__(self, meter: Meter) -> None:
        self._meter = meter

    def write(self, s: str) -> int:
        self._meter.logged(s)
        return len(s)

    def writable(self) -> bool:
        return True


# ---- moto's share of the CPU ------------------------------------------------------------------------
_MOTO_CPU = [0.0]  # CPU seconds spent inside moto (the stand-in for AWS), over all threads
_MOTO_LOCK = threading.Lock()


def time_moto() -> None:
    """Count the CPU each thread spends inside moto, so that a handler's own CPU (the process's CPU
    during the call less moto's) can be told apart from the services' work."""
    from moto.core.botocore_stubber import BotocoreStubber

    serve = BotocoreStubber.__call__

    def timed(self: Any, event_name: str, request: Any, **kwargs: Any) -> Any:
        start = time.thread_time()
        try:
            return serve(self, event_name, request, **kwargs)
        finally:
            spent = time.thread_time() - start
            with _MOTO_LOCK:
                _MOTO_CPU[0] += spent

    BotocoreStubber.__call__ = timed  # type: ignore[method-assign]


FAST_PATH_CHECKS = 20  # responses per operation compared with moto's serializer before trusting json.dumps


def transactions_without_a_table_copy() -> None:
    """moto's TransactWriteItems deep-copies every table it touches before each transaction, to
    undo it if an action fails: at 10,000 items that copy is most of a run's CPU and GBs of memory
    churn. This checks every action's condition first (on the state before the transaction, as
    DynamoDB does: a transaction touches an item once) and, when all hold, applies them with
    moto's own item operations, so nothing needs undoing; otherwise it raises the same
    TransactionCanceledException, one reason per action, having applied nothing. Anything else
    (a repeated key, an action other than Put/Update/Delete/ConditionCheck) goes to moto's own."""
    from moto.dynamodb import models
    from moto.dynamodb.comparisons import get_filter_expression
    from moto.dynamodb.exceptions import TransactionCanceledException

    real = models.DynamoDBBackend.transact_write_items

    def transact(self: Any, transact_items: list[dict[str, Any]]) -> None:
        ops = [next(iter(t.items())) for t in transact_items]
        keys = [op.get("Key") or {"pk": op["Item"]["pk"]} for _, op in ops]
        if len({json.dumps(k, sort_keys=True) for k in keys}) < len(ops) or any(
            kind not in ("Put", "Update", "Delete", "ConditionCheck") for kind, _ in ops
        ):
            return real(self, transact_items)  # type: ignore[no-any-return]
        reasons: list[tuple[str | None, str | None, None]] = []
        for (_, op), key in zip(ops, keys, strict=True):
            cond = op.get("ConditionExpression")
            names, values = op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
            holds = cond is None or get_filter_expression(cond, names, values).expr(
                self.get_item(op["TableName"], key)
            )
            reasons.append(
                (None, None, None)
                if holds
                else ("ConditionalCheckFailed", "The conditional request failed", None)
            )
        if any(code for code, _, _ in reasons):
            raise TransactionCanceledException(reasons)
        for (kind, op), key in zip(ops, keys, strict=True):
            names, values = op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
            if kind == "Put":
                self.put_item(op["TableName"], op["Item"])
            elif kind == "Delete":
                self.delete_item(op["TableName"], key)
            elif kind == "Update":
                expression = op["UpdateExpression"]
                self.update_item(op["TableName"], key, expression, names, values)
        return None

    models.DynamoDBBackend.transact_write_items = transact  # type: ignore[method-assign]


def fast_dynamodb_responses() -> dict[str, int]:
    """moto's generic response serializer (botocore shapes walked value by value) costs as much CPU
    as the DynamoDB work it answers for: a profile at 3,000 jobs put 24% of all CPU there, and the
    same again in UpdateItem itself. DynamoDB's responses are plain JSON of what moto's handler
    returned, so after FAST_PATH_CHECKS responses of an operation have decoded to the same document
    (and status and headers) both ways, that operation's responses are json.dumps'ed. Any mismatch
    keeps moto's serializer for that operation. Returns how many responses took the fast path, by
    operation."""
    from moto.core.responses import ActionResult

    real = ActionResult.execute_result
    checked: Counter[str] = Counter()
    headers_of: dict[str, dict[str, str]] = {}
    fast: Counter[str] = Counter()
    lock = threading.Lock()

    def execute_result(self: Any, context: Any) -> Any:
        op = context.operation_model.name
        if type(self).__name__ != "DynamoResult" or not isinstance(self.result, dict):
            return real(self, context)  # not a DynamoDB document (moto's other services, errors)
        with lock:
            state = checked[op]
        if state < 0:
            return real(self, context)
        try:
            body = json.dumps(self.result)
        except (TypeError, ValueError):
            body = None
        if state < FAST_PATH_CHECKS or body is None:
            status, headers, moto_body = real(self, context)
            same = body is not None and status == 200 and json.loads(body) == json.loads(moto_body)
            with lock:
                if not same:
                    checked[op] = -1
                elif checked[op] >= 0:
                    checked[op] += 1
                    headers_of[op] = dict(headers)
            return status, headers, moto_body
        with lock:
            fast[op] += 1
        return 200, dict(headers_of[op]), body

    ActionResult.execute_result = execute_result  # type: ignore[method-assign]
    return fast


# ---- AppSync: a counting stand-in in its own process ---------------------------------------------
class AppSyncCounter:
    """Plays AppSync's /graphql for the publish mutations, in a second process so that its work is
    not timed as the handlers'. tests/cloud_harness.py's stub checks every SigV4 signature with a
    fresh boto3 Session and closes the connection after each answer (HTTP/1.0): with 40,000
    publishes that was most of the run, so this copies the minimal piece instead: it keeps
    connections alive, answers like a NONE resolver, counts requests by mutation and status, and
    checks one signature in CHECK_EVERY with the harness's own `signature_problem`."""

    CHECK_EVERY = 50

    def __init__(self, credentials: Any) -> None:
        import multiprocessing as mp

        ctx = mp.get_context("spawn")
        self._port = ctx.Value("i", 0)
        self._conn, child = ctx.Pipe()
        creds = (credentials.access_key, credentials.secret_key, credentials.token)
        self._proc = ctx.Process(target=_serve_appsync, args=(self._port, child, creds), daemon=True)
        self._proc.start()
        while not self._port.value:
            time.sleep(0.02)
        self.url = f"http://127.0.0.1:{self._port.value}/graphql"

    def counts(self) -> dict[str, Any]:
        self._conn.send("counts")
        answer: dict[str, Any] = self._conn.recv()
        return answer

    def close(self) -> None:
        self._proc.terminate()
        self._proc.join()


def _serve_appsync(port: Any, conn: Any, creds: tuple[str, str, str | None]) -> None:
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    # signature_problem signs with the credentials boto3 finds: the ones the handlers signed with
    os.environ.update(AWS_ACCESS_KEY_ID=creds[0], AWS_SECRET_ACCESS_KEY=creds[1])
    if creds[2]:
        os.environ["AWS_SESSION_TOKEN"] = creds[2]
    from tests.cloud_harness import signature_problem

    lock = threading.Lock()
    tally: Counter[tuple[str, str]] = Counter()
    # what subscribers receive: messages, their 5 KB billing units, the jobs they carry whole
    delivered: Counter[tuple[str, str]] = Counter()
    state: dict[str, Any] = {"requests": 0, "checked": 0, "refused": []}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            doc = json.loads(body)
            names = ("publishJobUpdate", "publishJobsMoved", "publishBatchUpdate")
            name = next(n for n in names if n in doc["query"])
            update = doc["variables"]["update"]
            with lock:
                state["requests"] += 1
                check = state["requests"] % AppSyncCounter.CHECK_EVERY == 1
                tally[(name, update["status"])] += 1
            problem = None
            if check:
                problem = signature_problem("POST", url, dict(self.headers.items()), body)
                with lock:
                    state["checked"] += 1
                    if problem:
                        state["refused"].append(problem)
            answer: dict[str, Any]
            if problem:
                status, answer = 401, {"errors": [{"errorType": "UnauthorizedException", "message": problem}]}
            else:
                status, answer = 200, {"data": {name: update}}
            data = json.dumps(answer).encode()
            if not problem:  # a subscriber gets the mutation's answer: {"data": {<field>: update}}
                with lock:
                    delivered[(name, "messages")] += 1
                    delivered[(name, "units")] += -(-len(data) // RT_UPDATE_BYTES)
                    delivered[(name, "bytes")] += len(data)
                    delivered[(name, "jobs")] += len(update.get("jobs") or ())
                    delivered[(name, "ids " + update["status"])] += len(update.get("jobIds") or ())
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            # Headers and body in one write: two small writes meet the client's delayed ACK.
            self._headers_buffer.extend([b"\r\n", data])  # type: ignore[attr-defined]
            self.flush_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    url = f"http://127.0.0.1:{server.server_address[1]}/graphql"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port.value = server.server_address[1]
    while True:
        conn.recv()
        with lock:
            conn.send({**state, "tally": dict(tally), "delivered": dict(delivered)})


# ---- Lambda -------------------------------------------------------------------------------------------
@dataclass
class LambdaContext:
    """What powertools reads from Lambda's context, named as a deployed SAM stack names things."""

    function_name: str
    memory_limit_in_mb: int
    invoked_function_arn: str
    aws_request_id: str


class Lambda:
    """Invokes a function's handler (the one template.yaml names) as Lambda would, and books its
    duration, CPU, logs and publishes."""

    def __init__(self, meter: Meter, appsync: AppSyncCounter, facts: dict[str, Any]) -> None:
        import importlib

        self.meter, self.appsync, self.memory = meter, appsync, facts["memory"]
        self.handlers: dict[str, Callable[[Any, Any], Any]] = {
            name: getattr(importlib.import_module(module), function)
            for name, (module, function) in facts["handlers"].items()
        }

    def invoke(self, name: str, event: Any) -> Any:
        handler = self.handlers[name]
        fn = f"asyncml-{FUNCTIONS[name]}-1A2B3C4D5E6F"
        arn = f"arn:aws:lambda:us-east-1:123456789012:function:{fn}"
        ctx = LambdaContext(fn, self.memory[name], arn, str(uuid.uuid4()))
        published = self.appsync.counts()["requests"]
        with self.meter.acting(name):
            cpu, moto = time.process_time(), _MOTO_CPU[0]
            start = time.perf_counter()
            answer = handler(event, ctx)
            elapsed = time.perf_counter() - start
            own_cpu = time.process_time() - cpu - (_MOTO_CPU[0] - moto)
            for line in PLATFORM_LINES:
                self.meter.logged(line)
        s = self.meter.s
        s.invocations[name] += 1
        s.billed_ms[name] += math.ceil(elapsed * 1000)  # Lambda bills each invocation to the ms
        s.own_cpu_ms[name] += math.ceil(max(0.0, own_cpu) * 1000)
        s.publishes[name] += self.appsync.counts()["requests"] - published
        self.meter.invocation_done(name)
        return answer


def template_facts(trigger: str | None = None) -> dict[str, Any]:
    """What the run and the cost model take from template.yaml's resources and defaults (with
    `trigger` in place of TriggerType's default, when given)."""
    from tests.moto_stack import template

    doc = template()
    res, params = doc["Resources"], doc["Parameters"]
    if trigger is not None:
        params["TriggerType"]["Default"] = trigger
    default_memory = doc["Globals"]["Function"]["MemorySize"]
    table = res["Table"]["Properties"]
    indexes = []
    for g in table["GlobalSecondaryIndexes"]:
        keys = {k["KeyType"]: k["AttributeName"] for k in g["KeySchema"]}
        proj = g["Projection"]
        indexes.append(
            Index(g["IndexName"], keys["HASH"], keys["RANGE"], proj["ProjectionType"],
                  tuple(proj.get("NonKeyAttributes", ())))
        )  # fmt: skip
    # Conditions are !Equals of a parameter and a value, e.g. IsOnDemand: [ShardCount, 0]
    # (CreateModel, an !And of !Nots, decides no figure here: it is left out.)
    conditions = {
        name: str(params[c[0]]["Default"]) == str(c[1])
        for name, c in doc["Conditions"].items()
        if isinstance(c, list) and len(c) == 2 and isinstance(c[0], str) and c[0] in params
    }

    def resolve(value: Any) -> Any:  # the template's short-form !If, read as [condition, then, else]
        return (value[1] if conditions[value[0]] else value[2]) if isinstance(value, list) else value

    # Lambda calls the Handler the template names (module.function under CodeUri) at these defaults.
    handlers = {}
    for n, lid in FUNCTIONS.items():
        props = res[lid]["Properties"]
        module, function = resolve(props["Handler"]).rsplit(".", 1)
        handlers[n] = (f"{props['CodeUri'].strip('/')}.{module}", function)
    return {
        "handlers": handlers,
        "stream_mode": resolve(res["Stream"]["Properties"]["StreamModeDetails"]["StreamMode"]),
        "shards": int(params["ShardCount"]["Default"]),
        "memory": {
            n: res[lid]["Properties"].get("MemorySize", default_memory) for n, lid in FUNCTIONS.items()
        },
        "batch_size": int(params["BatchSize"]["Default"]),
        "batch_window": float(params["BatchWindow"]["Default"]),
        "instance_type": params["InstanceType"]["Default"],
        "instance_count": int(params["InstanceCount"]["Default"]),
        "trigger": str(params["TriggerType"]["Default"]),
        "pitr": bool(table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"]),
        "ttl_days": int(params["JobTtlDays"]["Default"]),
        "billing": table["BillingMode"],
        "indexes": indexes,
    }


def emulator() -> Any:
    """The Batch Transform emulator and the demo model, wherever this checkout keeps them: under
    asyncml/local/ (as at 85f01d9) or in asyncml/transform_emulator/ (the layout in DESIGN.md)."""
    import importlib
    import types

    try:
        demo = importlib.import_module("asyncml.transform_emulator.demo_model")
        job = importlib.import_module("asyncml.transform_emulator.job")
    except ModuleNotFoundError:
        demo = importlib.import_module("asyncml.local.demo_model")
        job = importlib.import_module("asyncml.local.transform_emulator")
    return types.SimpleNamespace(
        start_demo_model=demo.start_demo_model, run_transform_job=job.run_transform_job
    )


# ---- the run ------------------------------------------------------------------------------------------
def run(n: int, batch_size: int, facts: dict[str, Any]) -> dict[str, Any]:
    from tests.moto_stack import TABLE

    meter = Meter(TABLE, facts["indexes"])
    sink = CountingSink(meter)
    # powertools' Logger binds sys.stdout when a handler module creates it: import the handlers
    # with the sink in place, so every line they log is counted (and none reaches the terminal).
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        time_moto()
        fast = fast_dynamodb_responses()
        transactions_without_a_table_copy()
        start_demo_model = emulator().start_demo_model
        from tests.cloud_harness import cloud

        with (
            cloud(
                ASYNCML_BATCH_SIZE=str(batch_size),
                ASYNCML_TRIGGER=facts["trigger"],
                ASYNCML_EACH_JOB_END=str(facts["each_job_end"]).lower(),
            ) as aws,
            start_demo_model() as model,
            tempfile.TemporaryDirectory() as tmp,
        ):
            drive = CloudRun(aws.stack, meter, facts, model.url, Path(tmp))
            try:
                drive.submit(n)
                drive.stream(n, batch_size)
                if facts["trigger"] == "schedule":
                    drive.transform_scheduled()
                else:
                    for key in list(meter.s.data_keys):
                        drive.transform(key)
                return {**drive.check(n), "fast_path": dict(fast)}
            finally:
                drive.appsync.close()


class CloudRun:
    """The stack under moto with the handlers wired as template.yaml wires them."""

    def __init__(self, stack: Any, meter: Meter, facts: dict[str, Any], model_url: str, root: Path) -> None:
        import boto3

        from asyncml.aws import wiring

        self.stack, self.meter, self.facts, self.model_url, self.root = stack, meter, facts, model_url, root
        credentials = boto3.Session().get_credentials()  # moto's fake ones, which the handlers sign with
        assert credentials is not None
        self.appsync = AppSyncCounter(credentials.get_frozen_credentials())
        os.environ["ASYNCML_GRAPHQL_URL"] = self.appsync.url
        wiring.reset()
        ports: Any = wiring.cloud_ports()  # the instance every handler call below gets (cached)
        for client in (ports.store._db, ports.stream._kinesis, ports.bucket._s3, ports.runner._sagemaker):
            meter.attach(client)
        self.esm = stack.client("kinesis")  # the event source mapping's reads
        self.sagemaker_s3 = stack.client("s3")  # SageMaker's reads and writes in the bucket
        meter.attach(self.esm)
        meter.attach(self.sagemaker_s3)
        self.lam = Lambda(meter, self.appsync, facts)
        self.timings: dict[str, float] = defaultdict(float)
        self.submits = self.records_out = 0

    @contextlib.contextmanager
    def timed(self, stage: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.timings[stage] += time.perf_counter() - start

    def submit(self, n: int) -> None:
        """[1] submitJobs of 500 (--per-call), as AppSync invokes the resolver."""
        from tests.cloud_harness import appsync_event

        per_call = self.facts["per_call"]
        with self.timed("submit"):
            for start in range(0, n, per_call):
                inputs = [
                    {"payload": IRIS[i % len(IRIS)], "clientToken": None, "metadata": None}
                    for i in range(start, min(n, start + per_call))
                ]
                event = appsync_event("submitJobs", "Mutation", {"inputs": inputs})
                assert len(self.lam.invoke("resolver", event)) == len(inputs)
                self.submits += 1

    def stream(self, n: int, batch_size: int) -> None:
        """[2] the event source mapping: BatchSize records of the shard per batcher invocation."""
        from tests.cloud_harness import kinesis_event

        name = self.stack.stream
        with self.timed("batcher"), self.meter.acting("esm"):
            shard = self.esm.list_shards(StreamName=name)["Shards"][0]["ShardId"]
            it = self.esm.get_shard_iterator(StreamName=name, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
            position, delivered = it["ShardIterator"], 0
            while delivered < n:
                got = self.esm.get_records(ShardIterator=position, Limit=batch_size)
                position = got["NextShardIterator"]
                if got["Records"]:
                    delivered += len(got["Records"])
                    event = kinesis_event(self.stack, got["Records"], shard)
                    answer = self.lam.invoke("batcher", event)
                    assert answer == {"batchItemFailures": []}, answer

    def transform(self, key: str) -> None:
        """[3]-[5] one batch file: its S3 event -> starter; SageMaker plays; .out's event -> results."""
        from tests.cloud_harness import s3_event, transform_event

        with self.timed("transform_starter"):
            started = self.lam.invoke("transform_starter", s3_event(self.stack, key))
        (job_name,) = started["transformJobNames"]
        with self.timed("transform_events"):
            event = transform_event(job_name, "InProgress")
            self.lam.invoke("transform_events", event)
        with self.timed("sagemaker"), self.meter.acting("sagemaker"):
            out_key = self.play_sagemaker(self.meter.s.transform_requests[job_name])
        with self.timed("results"):
            settled = self.lam.invoke("results", s3_event(self.stack, out_key))
        assert [b["status"] for b in settled["batches"]] == ["COMPLETED"], settled
        with self.timed("transform_events"):
            event = transform_event(job_name, "Completed")
            self.lam.invoke("transform_events", event)

    def transform_scheduled(self) -> None:
        """[3]-[5] TriggerType schedule: the rate rule's ticks -> starter; each transform job it starts
        (over a manifest of batch files) plays, then each .out's S3 event -> results."""
        from tests.cloud_harness import load_event, s3_event, transform_event

        names: list[str] = []
        while True:  # one tick after another, until a tick starts nothing more
            with self.timed("transform_starter"):
                started = self.lam.invoke("transform_starter", load_event("eventbridge_scheduled"))
            got = started.get("transformJobNames") or [started.get("transformJobName")]
            fresh = [n for n in got if n and n not in names]
            if not fresh:
                break
            names += fresh
        for job_name in names:
            with self.timed("transform_events"):
                self.lam.invoke("transform_events", transform_event(job_name, "InProgress"))
            with self.timed("sagemaker"), self.meter.acting("sagemaker"):
                out_keys = self.play_sagemaker_manifest(self.meter.s.transform_requests[job_name])
            for out_key in out_keys:
                with self.timed("results"):
                    settled = self.lam.invoke("results", s3_event(self.stack, out_key))
                assert [b["status"] for b in settled["batches"]] == ["COMPLETED"], settled
            with self.timed("transform_events"):
                self.lam.invoke("transform_events", transform_event(job_name, "Completed"))

    def play_sagemaker_manifest(self, request: dict[str, Any]) -> list[str]:
        """Batch Transform over a ManifestFile: every listed file in, one .out per file back to S3."""
        run_transform_job = emulator().run_transform_job

        bucket = self.stack.bucket
        manifest_key = request["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"].split("/", 3)[3]
        manifest = json.loads(self.sagemaker_s3.get_object(Bucket=bucket, Key=manifest_key)["Body"].read())
        prefix = manifest[0]["prefix"].split("/", 3)[3]
        for key in [manifest_key] + [prefix + rel for rel in manifest[1:]]:
            local = self.root / bucket / key
            local.parent.mkdir(parents=True, exist_ok=True)
            local.write_bytes(self.sagemaker_s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        done = asyncio.run(run_transform_job(request, bucket_root=self.root, model_url=self.model_url))
        assert done["TransformJobStatus"] == "Completed", done
        out_keys = []
        out_prefix = request["TransformOutput"]["S3OutputPath"].split("/", 3)[3].rstrip("/") + "/"
        for rel in manifest[1:]:
            out_key = out_prefix + rel + ".out"
            body = (self.root / bucket / out_key).read_bytes()
            self.records_out += body.count(b"\n")
            self.sagemaker_s3.put_object(Bucket=bucket, Key=out_key, Body=body)
            out_keys.append(out_key)
        return out_keys

    def play_sagemaker(self, request: dict[str, Any]) -> str:
        """What Batch Transform does with the request the starter sent (as tests/e2e/test_cloud_path.py
        plays it): read the input, run the emulator and the demo model, write the .out to S3."""
        run_transform_job = emulator().run_transform_job

        bucket = self.stack.bucket
        in_key = request["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"].split("/", 3)[3]
        local = self.root / bucket / in_key
        local.parent.mkdir(parents=True, exist_ok=True)
        local.write_bytes(self.sagemaker_s3.get_object(Bucket=bucket, Key=in_key)["Body"].read())
        done = asyncio.run(run_transform_job(request, bucket_root=self.root, model_url=self.model_url))
        assert done["TransformJobStatus"] == "Completed", done
        out_key: str = "result/" + in_key.removeprefix("data/") + ".out"
        body = (self.root / bucket / out_key).read_bytes()
        self.records_out += body.count(b"\n")
        self.sagemaker_s3.put_object(Bucket=bucket, Key=out_key, Body=body)
        return out_key

    def check(self, n: int) -> dict[str, Any]:
        """Every job ended COMPLETED, the items sized are those DynamoDB holds, and the signatures
        checked were right; then what the report needs."""
        from moto.core.models import DEFAULT_ACCOUNT_ID
        from moto.dynamodb.models import dynamodb_backends

        from asyncml.aws import dynamodb_runs

        # Read from moto's backend, not with a Scan: a Scan's pages would go through moto's slow
        # serializer (a tenth of the run at 3,000 jobs) for a check the handlers never make.
        table = dynamodb_backends[DEFAULT_ACCOUNT_ID][self.stack.region].get_table(self.stack.table)
        held = {i["pk"]["S"]: i for i in (item.to_json()["Attributes"] for item in table.all_items())}
        assert held == self.meter.shadow
        runs = [dynamodb_runs.state_from_item(k[4:], i) for k, i in held.items() if k.startswith("run#")]
        final = Counter(e.status for r in runs for e in r.jobs.values())
        final.update(i["status"]["S"] for k, i in held.items() if k.startswith("job#"))
        assert final == Counter({"COMPLETED": n}), final
        stub = self.appsync.counts()
        assert stub["refused"] == [] and stub["checked"] > 0, stub
        # every job's end reached its watchers once: in a COMPLETED group, or one publishJobUpdate each
        ends = stub["delivered"].get(("publishJobsMoved", "ids COMPLETED"), 0)
        singles = stub["tally"].get(("publishJobUpdate", "COMPLETED"), 0)
        assert ends == n and singles in (0, n), (ends, singles)
        # A job's items: its run's state, inputs, outputs and markers, shared by the run's jobs.
        jobs = [i for k, i in held.items() if k.split("#", 1)[0] in ("job", "run", "in", "out", "runm")]
        # Storage counts 100 bytes of overhead per item and per index entry.
        table_bytes = sum(item_size(i) + 100 for i in held.values())
        indexes = self.facts["indexes"]
        index_bytes = sum(item_size(e) + 100 for i in held.values() for x in indexes if (e := x.entry(i)))
        return {
            "stats": self.meter.s,
            "submits": self.submits,
            "records_out": self.records_out,
            "tally": stub["tally"],
            "delivered": stub["delivered"],
            "job_item_bytes": sum(item_size(i) for i in jobs) / n,
            "table_bytes_per_job": table_bytes / n,
            "index_bytes_per_job": index_bytes / n,
            "timings": dict(self.timings),
        }


# ---- the report ---------------------------------------------------------------------------------------
@dataclass
class Report:
    n: int
    batch_size: int
    facts: dict[str, Any]
    r: dict[str, Any]
    wall: float
    out: TextIO

    def __post_init__(self) -> None:
        s: Stats = self.r["stats"]
        self.s = s
        self.transforms = self.calls("sagemaker", HANDLERS, {"CreateTransformJob"})
        self.publishes = sum(s.publishes.values())
        self.rt_units = sum(v for (_, what), v in self.r["delivered"].items() if what == "units")
        self.appsync_requests = self.r["submits"] + self.publishes
        self.ddb_calls = self.calls("dynamodb", HANDLERS)
        self.total_wcu = sum(s.wcu.values())
        self.total_rru = sum(s.rru.values())
        self.invocations = sum(s.invocations.values())
        mem = self.facts["memory"]
        self.gb_s = {h: s.billed_ms[h] / 1000 * mem[h] / 1024 for h in HANDLERS}
        self.cpu_gb_s = {h: s.own_cpu_ms[h] / 1000 * mem[h] / 1024 for h in HANDLERS}
        self.logs = {h: s.log_bytes[h] + LOG_EVENT_OVERHEAD * s.log_events[h] for h in HANDLERS}
        self.s3_put = self.calls("s3", [*HANDLERS, "sagemaker"], S3_PUT_OPS)
        self.s3_get = self.calls("s3", [*HANDLERS, "sagemaker"]) - self.s3_put

    def p(self, line: str = "") -> None:
        print(line, file=self.out, flush=True)

    def calls(self, service: str, actors: list[str] | None = None, ops: set[str] | None = None) -> int:
        return sum(
            c
            for (a, sv, op), c in self.s.calls.items()
            if sv == service and (actors is None or a in actors) and (ops is None or op in ops)
        )

    def print(self) -> None:
        f = self.facts
        self.p(
            f"## cloud path at scale: {self.n:,} jobs via submitJobs of {self.facts['per_call']}, BatchSize "
            f"{self.batch_size} (window {f['batch_window']:g} s), trigger {f['trigger']}, Kinesis "
            f"{f['stream_mode']}, DynamoDB {f['billing']}, PITR {'on' if f['pitr'] else 'off'}, "
            f"ASYNCML_EACH_JOB_END={str(f['each_job_end']).lower()}"
        )
        stages = ", ".join(f"{k} {v:.1f} s" for k, v in self.r["timings"].items())
        cpu, load = self.r["cpu"], " ".join(Path("/proc/loadavg").read_text().split()[:3])
        own = sum(self.s.own_cpu_ms.values()) / 1000
        self.p(
            f"wall {self.wall:.1f} s ({stages}); this process's CPU {cpu['process']:.1f} s, of which moto "
            f"{cpu['moto']:.1f} s, the handlers' outside moto {own:.1f} s; "
            f"load average at the end {load} on {os.cpu_count()} CPUs"
        )
        fast = ", ".join(f"{op} {c:,}" for op, c in sorted(self.r["fast_path"].items()))
        self.p(f"DynamoDB responses json.dumps'ed after {FAST_PATH_CHECKS} checked each: {fast or 'none'}")
        self.p()
        self.per_job()
        self.by_handler()
        self.partitions()
        self.costs()

    def row(self, name: str, total: float, what: str, per: str = ".4f", tot: str = ",.0f") -> None:
        self.p(f"| {name} | {total / self.n:{per}} | {total:{tot}} | {what} |")

    def per_job(self) -> None:
        s, tally = self.s, self.r["tally"]
        self.p("### per job")
        self.p("| figure | per job | total | what it counts |")
        self.p("|---|---:|---:|---|")
        self.row(
            "AppSync requests", self.appsync_requests, f"{self.r['submits']} submitJobs + publish mutations"
        )
        per = self.facts["per_call"]
        self.row("  submitJobs", self.r["submits"], f"client calls of {per} inputs: 1/{per} per job")
        for mutation in ("publishJobUpdate", "publishJobsMoved", "publishBatchUpdate"):
            moves = {st: c for (m, st), c in sorted(tally.items()) if m == mutation}
            self.row(f"  {mutation}", sum(moves.values()), ", ".join(f"{k} {v:,}" for k, v in moves.items()))
        d = self.r["delivered"]
        self.row(
            "Real-time updates billed",
            self.rt_units,
            f"{RT_UPDATE_BYTES // 1024} KB units of the messages delivered, {SUBSCRIBERS_PER_UPDATE} "
            "subscriber each: "
            + ", ".join(
                f"{m} {d.get((m, 'messages'), 0):,} messages, {d.get((m, 'bytes'), 0):,} B, "
                f"{d.get((m, 'units'), 0):,} units"
                for m in ("publishJobUpdate", "publishJobsMoved", "publishBatchUpdate")
                if d.get((m, "messages"))
            )
            + f"; {d.get(('publishJobsMoved', 'jobs'), 0):,} jobs carried whole in onJobsMoved",
        )
        self.row("DynamoDB round trips", self.ddb_calls, "API calls by the handlers (a BatchWriteItem is 1)")
        for op in sorted({op for (a, sv, op) in s.calls if sv == "dynamodb" and a in HANDLERS}):
            self.row(f"  {op}", self.calls("dynamodb", HANDLERS, {op}), "")
        self.row(
            "DynamoDB WCU",
            self.total_wcu,
            "from item sizes: table + each GSI entry written; failed conditions too",
        )
        for target in ["table"] + [i.name for i in self.facts["indexes"]]:
            self.row(f"  {target}", sum(v for (_, t), v in s.wcu.items() if t == target), "")
        self.row("DynamoDB RRU", self.total_rru, "consistent reads 1 per 4 KB; GSI queries 0.5", tot=",.1f")
        self.row(
            "Kinesis requests", self.calls("kinesis", HANDLERS), "PutRecords by the resolver (≤ 500 records)"
        )
        self.row(
            "  GetRecords (event source mapping)",
            self.calls("kinesis", ["esm"], {"GetRecords"}),
            "the mapping's reads: on-demand bills GB read, not requests",
        )
        self.row(
            "S3 requests",
            self.s3_put + self.s3_get,
            f"PUT-class {self.s3_put:,}, GET-class {self.s3_get:,}, SageMaker's included "
            "(it writes each .out as one PUT here; a multipart upload is 3)",
        )
        for (a, sv, op), c in sorted(s.calls.items()):
            if sv == "s3" and a in [*HANDLERS, "sagemaker"]:
                self.row(f"  {a} {op}", c, "")
        self.row(
            "Lambda invocations", self.invocations, ", ".join(f"{h} {s.invocations[h]:,}" for h in HANDLERS)
        )
        self.row(
            "Lambda GB-seconds",
            sum(self.gb_s.values()),
            "wall time of each call on this machine, moto in-process (upper-bound-ish) x MemorySize; "
            f"handler CPU outside moto: {sum(self.cpu_gb_s.values()) / self.n:.6f} per job",
            per=".6f",
            tot=",.2f",
        )
        for h in HANDLERS:
            what = f"{s.billed_ms[h]:,} ms billed; {s.own_cpu_ms[h]:,} ms CPU outside moto"
            self.row(f"  {h} ({self.facts['memory'][h]} MB)", self.gb_s[h], what, per=".6f", tot=",.2f")
        self.row(
            "Log bytes (Lambda)", sum(self.logs.values()), "stdout/stderr + START/END/REPORT, +26 B per event"
        )
        for h in HANDLERS:
            self.row(f"  {h}", self.logs[h], f"{s.log_events[h]:,} events")
        self.row(
            "Transform jobs",
            self.transforms,
            f"CreateTransformJob calls: {self.n / self.transforms:,.0f} records per transform job "
            f"({self.r['records_out']:,} .out lines in all)",
            per=".5f",
        )
        self.p()

    def by_handler(self) -> None:
        s, n = self.s, self.n
        self.p("### where it comes from: per job, by handler")
        self.p("| handler | invocations | AppSync publishes | DynamoDB calls | WCU | RRU | GB-s | log B |")
        self.p("|---|---:|---:|---|---:|---:|---:|---:|")
        for h in HANDLERS:
            ops = ", ".join(
                f"{op} {c / n:.3f}"
                for (a, sv, op), c in sorted(s.calls.items())
                if a == h and sv == "dynamodb"
            )
            w, ddb = sum(v for (a, _), v in s.wcu.items() if a == h), self.calls("dynamodb", [h])
            self.p(
                f"| {h} | {s.invocations[h]:,} | {s.publishes[h] / n:.4f} | {ddb / n:.4f} ({ops}) | "
                f"{w / n:.3f} | {s.rru[h] / n:.3f} | {self.gb_s[h] / n:.6f} | {self.logs[h] / n:,.1f} |"
            )
        self.p()

    def partitions(self, rate: int = 1000) -> None:
        s = self.s
        self.p(
            f"### hottest partition keys at a simulated {rate:,} submits/s (WCU per key per job x {rate:,}/s)"
        )
        self.p(
            "A key every job writes takes that rate for as long as jobs arrive; a per-batch or per-job key "
            "takes its writes as a burst inside one invocation (last column: the most WCU one invocation "
            "put on it). One row per key, or per kind of key (the hottest of its kind)."
        )
        self.p("| table / index | key | writes/s | WCU/s | WCU by handler | burst in one invocation |")
        self.p("|---|---|---:|---:|---|---|")
        seen: set[tuple[str, str]] = set()
        for (target, key), units in s.key_wcu.most_common():
            if target == "table":
                kind = (target, key.split("#")[0] + "#<id>")
            else:
                kind = (target, "<batch id>" if target == "byBatch" else key)
            if kind in seen:
                continue
            seen.add(kind)
            by = ", ".join(
                f"{a} {v:,}" for (t, k, a), v in s.key_actor_wcu.items() if (t, k) == (target, key)
            )
            burst, actor = s.max_burst.get((target, key), (0, ""))
            label = key if kind[1] == key else f"{kind[1]} (hottest: {key})"
            self.p(
                f"| {target} | {label} | {s.key_writes[(target, key)] / self.n * rate:,.0f} | "
                f"{units / self.n * rate:,.0f} | {by} | {burst:,} WCU ({actor}) |"
            )
            if len(seen) == 12:
                break
        self.p()

    def _kinesis(self, hours: float, per_m: float) -> tuple[str, str, float]:
        f, s, day = self.facts, self.s, f"at {JOBS_PER_DAY:,} jobs/day"
        if f["stream_mode"] == "ON_DEMAND":
            gb_in, gb_out = s.kinesis_in_kb * per_m / 1024**2, s.kinesis_out_kb * per_m / 1024**2
            dollars = (
                hours * KINESIS_OD_PER_STREAM_HOUR
                + gb_in * KINESIS_OD_PER_GB_IN
                + gb_out * KINESIS_OD_PER_GB_OUT
            )
            what = (
                f"{hours:.0f} stream-hours ({day}), {gb_in:.2f} GB in, {gb_out:.2f} GB out (1 KB per record)"
            )
            return "Kinesis on-demand", what, dollars
        # A provisioned stream bills its shard-hours and PUT payload units; reading is free.
        units = s.kinesis_put_units * per_m
        dollars = f["shards"] * hours * KINESIS_PER_SHARD_HOUR + units * KINESIS_PER_M_PUT_UNITS / 1e6
        what = f"{f['shards']} shards x {hours:.0f} h ({day}), {units:,.0f} PUT payload units of 25 KB"
        return "Kinesis provisioned", what, dollars

    def costs(self) -> None:
        f, per_m = self.facts, 1_000_000 / self.n
        lines: list[tuple[str, str, float, float]] = []  # part, what, today, the seed

        def cost(part: str, what: str, today: float, seed: float | None = None) -> None:
            lines.append((part, what, today, today if seed is None else seed))

        submits = self.r["submits"] * per_m
        requests = self.appsync_requests * per_m
        cost(
            "AppSync queries + mutations",
            f"{requests:,.0f} requests ({submits:,.0f} submitJobs)",
            requests * APPSYNC_PER_M_OPS / 1e6,
            submits * APPSYNC_PER_M_OPS / 1e6,
        )
        updates = self.rt_units * per_m * SUBSCRIBERS_PER_UPDATE
        what = (
            f"{updates:,.0f} billed: {self.publishes * per_m:,.0f} messages in {RT_UPDATE_BYTES // 1024} KB "
            f"units ({SUBSCRIBERS_PER_UPDATE} subscriber per publish)"
        )
        cost("AppSync real-time updates", what, updates * APPSYNC_PER_M_RT_UPDATES / 1e6, 0.0)
        minutes = submits * CONNECTION_MINUTES_PER_SUBMIT_CALL
        what = f"{minutes:,.0f} ({CONNECTION_MINUTES_PER_SUBMIT_CALL} min per submitJobs call)"
        cost("AppSync connection-minutes", what, minutes * APPSYNC_PER_M_CONN_MIN / 1e6, 0.0)
        invocations = self.invocations * per_m
        cost("Lambda requests", f"{invocations:,.0f} invocations", invocations * LAMBDA_PER_M_REQUESTS / 1e6)
        gb_s, cpu_gb_s = sum(self.gb_s.values()) * per_m, sum(self.cpu_gb_s.values()) * per_m
        what = f"{gb_s:,.0f} GB-s measured under moto (the handlers' CPU alone: {cpu_gb_s:,.0f})"
        cost("Lambda duration", what, gb_s * LAMBDA_PER_GB_S_ARM)
        seed_wru = 2 * write_units(SEED_JOB_ITEM_BYTES)
        wru = self.total_wcu * per_m
        item = self.r["job_item_bytes"]
        what = (
            f"{wru:,.0f} WRU, {item:.0f} B stored a job (the seed: 2 writes of a {SEED_JOB_ITEM_BYTES} B "
            f"item = {seed_wru} WRU a job)"
        )
        cost("DynamoDB writes", what, wru * DDB_PER_M_WRU / 1e6, seed_wru * 1e6 * DDB_PER_M_WRU / 1e6)
        rru = self.total_rru * per_m
        cost("DynamoDB reads", f"{rru:,.0f} RRU", rru * DDB_PER_M_RRU / 1e6)
        months = f["ttl_days"] / 30.4 if f["ttl_days"] else 12.0  # kept JobTtlDays after the end
        table_gb = self.r["table_bytes_per_job"] * 1_000_000 / GB
        gb = table_gb + self.r["index_bytes_per_job"] * 1_000_000 / GB
        what = f"{gb:.2f} GB (items + index entries) kept {months:.1f} months (JobTtlDays)"
        cost("DynamoDB storage", what, gb * months * DDB_STORAGE_PER_GB_MONTH)
        if f["pitr"]:  # billed on the table's size; global secondary indexes are not backed up
            what = f"the table's {table_gb:.2f} GB for {months:.1f} months"
            cost("DynamoDB PITR", what, table_gb * months * DDB_PITR_PER_GB_MONTH)
        hours = 24 * 1_000_000 / JOBS_PER_DAY
        cost(*self._kinesis(hours, per_m))
        put, get = self.s3_put * per_m, self.s3_get * per_m
        cost(
            "S3 requests",
            f"{put:,.0f} PUT + {get:,.0f} GET/HEAD",
            (put * S3_PER_1K_PUT + get * S3_PER_1K_GET) / 1000,
        )
        log_gb = sum(self.logs.values()) * per_m / GB
        cost("CloudWatch Logs, Lambda", f"{log_gb:.3f} GB ingested (measured)", log_gb * LOGS_PER_GB_INGESTED)
        appsync_gb, seed_gb = (
            requests * APPSYNC_LOG_BYTES_PER_REQUEST / GB,
            submits * APPSYNC_LOG_BYTES_PER_REQUEST / GB,
        )
        what = (
            f"{appsync_gb:.2f} GB: field logs at ALL, {APPSYNC_LOG_BYTES_PER_REQUEST:,} B a request (a guess)"
        )
        cost(
            "CloudWatch Logs, AppSync",
            what,
            appsync_gb * LOGS_PER_GB_INGESTED,
            seed_gb * LOGS_PER_GB_INGESTED,
        )
        self.print_costs(lines)

    def print_costs(self, lines: list[tuple[str, str, float, float]]) -> None:
        f, per_m = self.facts, 1_000_000 / self.n
        own = sum(c[2] for c in lines), sum(c[3] for c in lines)
        price = SAGEMAKER_PER_INSTANCE_HOUR.get(f["instance_type"], 0.23)
        per_transform = self.n / self.transforms
        minutes_each = TRANSFORM_STARTUP_MINUTES + per_transform / TRANSFORM_RECORDS_PER_SECOND / 60
        instance_min = self.transforms * per_m * f["instance_count"] * minutes_each
        sagemaker = instance_min / 60 * price

        self.p(
            "### cost per 1M jobs (us-east-1 prices: constants at the top of bench/cloud_scale.py, "
            "NOT checked against the live pricing pages)"
        )
        self.p("| part | what, per 1M jobs | asyncml today $ | the seed $ |")
        self.p("|---|---|---:|---:|")
        for part, what, today, seed in lines:
            self.p(f"| {part} | {what} | {today:,.2f} | {seed:,.2f} |")
        self.p(f"| **asyncml's own services** | all of the above | **{own[0]:,.2f}** | **{own[1]:,.2f}** |")
        self.p(
            f"| SageMaker Batch Transform | {self.transforms * per_m:,.0f} transform jobs x "
            f"({TRANSFORM_STARTUP_MINUTES:g} min start-up + {per_transform:,.0f} records at "
            f"{TRANSFORM_RECORDS_PER_SECOND:,}/s) x {f['instance_count']} {f['instance_type']} = "
            f"{instance_min:,.0f} instance-minutes at ${price}/h | {sagemaker:,.2f} | {sagemaker:,.2f} |"
        )
        self.p(f"| **total** | | **{own[0] + sagemaker:,.2f}** | **{own[1] + sagemaker:,.2f}** |")
        self.p()
        budget = BEFORE_OWN_SERVICES / 3
        self.p(
            f"Issue 8's budget for asyncml's own services: <= 1/3 of the {BEFORE_OWN_SERVICES:,.2f} "
            f"measured before it (docs/performance.md) = {budget:,.2f}: {own[0]:,.2f} "
            f"{'holds' if own[0] <= budget else 'does not hold'}; and <= the seed's {own[1]:,.2f}: "
            f"{'holds' if own[0] <= own[1] else 'does not hold'}. The seed: two DynamoDB writes per record "
            "and no publishes (so no real-time updates, connections or publish logs); its other lines are "
            "this run's measured ones."
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--jobs", type=int, default=10_000, help="jobs to submit (issue 8: at least 10,000)")
    parser.add_argument("--batch-size", type=int, default=None, help="default: template.yaml's BatchSize")
    parser.add_argument("--trigger", choices=["s3", "schedule"], default=None,
                        help="what starts transforms; default: template.yaml's TriggerType")  # fmt: skip
    # Set here, not read from PublishEachJobEnd's default, so the figures do not move with it.
    parser.add_argument("--each-job-end", action=argparse.BooleanOptionalAction, default=False,
                        help="also publish onJobUpdated once per job end (ASYNCML_EACH_JOB_END); "
                        "default off: ends go only in groups on onJobsMoved")  # fmt: skip
    parser.add_argument("--per-call", type=int, default=SUBMIT_CHUNK,
                        help="inputs per submitJobs call, so per run (default 500, the limit)")  # fmt: skip
    args = parser.parse_args()
    out = sys.stdout
    facts = {**template_facts(args.trigger), "each_job_end": args.each_job_end, "per_call": args.per_call}
    batch_size = args.batch_size or facts["batch_size"]
    start, cpu = time.perf_counter(), time.process_time()
    result = run(args.jobs, batch_size, facts)
    result["cpu"] = {"process": time.process_time() - cpu, "moto": _MOTO_CPU[0]}
    Report(args.jobs, batch_size, facts, result, time.perf_counter() - start, out).print()


if __name__ == "__main__":
    main()
