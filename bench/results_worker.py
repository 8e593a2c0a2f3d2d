"""[5] results worker benchmark: workers/results.py over 10k / 100k / 1M-line .out files.

The worker runs in this process exactly as in Lambda (cloud_ports, boto3, urllib3, thread pools).
The services it calls run in a second process, so their memory and CPU are not counted: S3 streams
the files from disk, AppSync counts publish requests, and DynamoDB is a stand-in that answers the
calls the results worker makes on DynamoRunStore's layout (GetItem and UpdateItem of the batch,
BatchGetItem of the runs' states and inputs, BatchWriteItem of their outputs, PutItem of the states,
Query of the batch's index shards), holding the items in a dict; every condition holds. moto
cannot serve here: at ~4.5 ms per UpdateItem it would measure moto (1M records ~ 75 min), and it
copies a whole S3 object into memory on each GET. Peak RSS is this process's VmHWM, reset before
the worker starts.

    .venv/bin/python bench/results_worker.py [--each-job-end] [--run-size=500] 10000 100000 1000000

Ends are published in groups on onJobsMoved (ASYNCML_EACH_JOB_END=false, set here whatever the
environment or the template's default says); --each-job-end adds one publishJobUpdate per record.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing as mp
import os
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from asyncml.aws import dynamodb_items as items  # noqa: E402
from asyncml.aws.dynamodb_wire import plain_results_path  # noqa: E402
from asyncml.model import Batch, BatchStatus, Job, JobStatus  # noqa: E402

T0 = datetime(2026, 11, 25, 12, tzinfo=UTC)
BATCH = "20261125-120000-0a1b2c3d"
BUCKET, TABLE = "bench-bucket", "bench-table"
IN_KEY, OUT_KEY = f"data/2026/11/25/{BATCH}.csv", f"result/2026/11/25/{BATCH}.csv.out"
RUN = 500  # jobs per submitJobs call, so per run


class Quiet(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def answer(self, status: int, body: bytes, content_type: str = "application/x-amz-json-1.0") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        # Headers and body in one write: two small writes meet the client's delayed ACK (~40 ms).
        self._headers_buffer.extend([b"\r\n", body])  # type: ignore[attr-defined]
        self.flush_headers()

    def log_message(self, *args: Any) -> None:
        pass


def job_ids(n: int) -> list[str]:
    """The batch's job ids, as submitJobs calls of 500 make them (runs of 500), the same in both processes."""
    ids: list[str] = []
    for start in range(0, n, RUN):
        ids += [f"{start // RUN:08x}-0000-7000-8000-{k:012x}" for k in range(min(RUN, n - start))]
    return ids


def services(root: Path, n: int, ports: Any, counters: Any) -> None:
    """The second process: DynamoDB stand-in, S3 file server, AppSync counter."""
    from asyncml.aws import dynamodb_runs as runs
    from asyncml.model import run_of

    # The table as DynamoRunStore left it when the transform started: the batch, and each run's
    # state (every job PROCESSING in the batch) and input item.
    batch = items.batch_item(
        Batch(BATCH, BatchStatus.PROCESSING, n, T0, T0, IN_KEY, transform_job_name=f"asyncml-{BATCH}")
    )
    held: dict[str, dict[str, Any]] = {batch["pk"]["S"]: batch}
    by_run: dict[str, list[Job]] = {}
    for i in job_ids(n):
        by_run.setdefault(run_of(i), []).append(Job(i, JobStatus.PROCESSING, "5.1,3.5,1.4,0.2", T0, T0))
    shards: dict[str, list[dict[str, Any]]] = {}  # byBatch: each run's state item under its shard
    for run, jobs in by_run.items():
        stamp = items.ts(T0)
        state = runs.RunState(run, 1, {
            runs.suffix(j.job_id): runs.Entry("p0", "PROCESSING", 1, stamp, stamp, batch=BATCH,
                                              transform=f"asyncml-{BATCH}")
            for j in jobs
        }, primary=BATCH)  # fmt: skip
        item = runs.state_item(state, None)
        held[item["pk"]["S"]] = item
        inputs = runs.input_item(run, "p0", jobs)
        held[inputs["pk"]["S"]] = inputs
        shards.setdefault(item["batchKey"]["S"], []).append(item)
    lock = threading.Lock()

    class DynamoDB(Quiet):
        def do_POST(self) -> None:
            req = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            op = self.headers["X-Amz-Target"].split(".")[1]
            with lock:
                counters[0] += 1
            out: dict[str, Any] = {}
            if op == "GetItem":
                got = held.get(req["Key"]["pk"]["S"])
                out = {"Item": got} if got else {}
            elif op == "UpdateItem":  # the batch's move (ALL_NEW: the SETs applied) or an item's expiry
                pk = req["Key"]["pk"]["S"]
                base = dict(held.get(pk, {}))
                names, values = (
                    req.get("ExpressionAttributeNames", {}),
                    req.get("ExpressionAttributeValues", {}),
                )
                if pk.startswith("batch#"):
                    base.update({names[f"#a{i}"]: values[f":v{i}"] for i in range(len(names) - 1)})
                    held[pk] = base
                out = {"Attributes": base}
            elif op == "PutItem":  # the condition holds (no other writer here)
                held[req["Item"]["pk"]["S"]] = req["Item"]
            elif op == "BatchWriteItem":
                for r in next(iter(req["RequestItems"].values())):
                    held[r["PutRequest"]["Item"]["pk"]["S"]] = r["PutRequest"]["Item"]
            elif op == "TransactWriteItems":  # every condition holds
                for t in req["TransactItems"]:
                    if "Put" in t:
                        held[t["Put"]["Item"]["pk"]["S"]] = t["Put"]["Item"]
                    elif "Delete" in t:
                        held.pop(t["Delete"]["Key"]["pk"]["S"], None)
            elif op == "BatchGetItem":
                ((table, ask),) = req["RequestItems"].items()
                found = [held[k["pk"]["S"]] for k in ask["Keys"] if k["pk"]["S"] in held]
                if "ProjectionExpression" in ask:  # the attributes asked for, as DynamoDB answers
                    wanted = set(ask["ExpressionAttributeNames"].values())
                    found = [{k: v for k, v in f.items() if k in wanted} for f in found]
                out = {"Responses": {table: found}}
            elif op == "Query":  # one shard of the batch's index: the runs' entries (keys only)
                value = req["ExpressionAttributeValues"][":k"]["S"]
                entries = [{k: i[k] for k in ("pk", "batchKey", "sortKey")} for i in shards.get(value, [])]
                out = {"Items": entries, "Count": len(entries), "ScannedCount": len(entries)}
            else:
                self.answer(400, json.dumps({"__type": "UnknownOperation", "message": op}).encode())
                return
            self.answer(200, json.dumps(out).encode())

    class S3(Quiet):
        def do_GET(self) -> None:
            path = root / self.path.split("?")[0].lstrip("/")
            self.send_response(200)
            self.send_header("Content-Length", str(path.stat().st_size))
            self.end_headers()
            with path.open("rb") as f:
                while chunk := f.read(1 << 20):
                    self.wfile.write(chunk)

    class AppSync(Quiet):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            with lock:
                counters[1] += 1
            self.answer(200, b'{"data":{}}', "application/json")

    for i, handler in enumerate((DynamoDB, S3, AppSync)):
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        server.daemon_threads = True
        ports[i] = server.server_address[1]
        threading.Thread(target=server.serve_forever, daemon=True).start()
    threading.Event().wait()


def vm(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    return 0


def run(n: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for key in (IN_KEY, OUT_KEY):
            (root / BUCKET / key).parent.mkdir(parents=True, exist_ok=True)
        with (root / BUCKET / IN_KEY).open("w") as f_in, (root / BUCKET / OUT_KEY).open("w") as f_out:
            for i in job_ids(n):
                f_in.write(f"{i},5.1,3.5,1.4,0.2\n")
                f_out.write(f"{i},5.1,3.5,1.4,0.2,setosa\n")
        ports, counters = mp.Array("i", 3), mp.Array("l", 2)
        proc = mp.Process(target=services, args=(root, n, ports, counters), daemon=True)
        proc.start()
        while not all(ports):
            time.sleep(0.05)
        try:
            return measure(n, list(ports), counters)
        finally:
            proc.terminate()


EACH_JOB_END = "false"


def measure(n: int, ports: list[int], counters: Any) -> dict[str, float]:
    import boto3
    from botocore.config import Config

    from asyncml.aws import wiring
    from tests.cloud_harness import LambdaContext
    from workers import results

    os.environ.update(
        ASYNCML_TABLE_NAME=TABLE, ASYNCML_BUCKET_NAME=BUCKET, ASYNCML_REGION="us-east-1",
        ASYNCML_STREAM_NAME="bench", ASYNCML_GRAPHQL_URL=f"http://127.0.0.1:{ports[2]}/graphql",
        ASYNCML_EACH_JOB_END=EACH_JOB_END,
        AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1",
    )  # fmt: skip
    wiring.reset()
    p = wiring.cloud_ports()
    # The same adapters, pointed at the local services instead of AWS endpoints.
    # As wiring builds it (adaptive retries, its pool, no parameter validation, the plain-JSON
    # results path), at the stand-in's address.
    config = p.store._db.meta.config.merge(Config(parameter_validation=False))  # type: ignore[attr-defined]
    db = plain_results_path(
        boto3.client("dynamodb", endpoint_url=f"http://127.0.0.1:{ports[0]}", config=config)
    )
    store: Any = p.store
    store._db = store._io.db = store._v1._db = store._v1._io.db = db  # the run store and its batches' store
    p.bucket._s3 = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{ports[1]}")  # type: ignore[attr-defined]
    s3 = {"bucket": {"name": BUCKET}, "object": {"key": OUT_KEY, "size": 0}}
    event = {"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put", "s3": s3,
                          "responseElements": {"x-amz-request-id": "bench"}}]}  # fmt: skip
    base = vm("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM: the peak from here on
    start = time.perf_counter()
    with Path(os.devnull).open("w") as sink, contextlib.redirect_stdout(sink):  # EMF and log lines
        answer = results.lambda_handler(event, LambdaContext())
    wall = time.perf_counter() - start
    peak = vm("VmHWM")
    assert answer["batches"] == [{"batchId": BATCH, "status": "COMPLETED"}], answer
    return {"wall_s": wall, "rate": n / wall, "ddb": counters[0] / n, "publishes": counters[1] / n,
            "base": base / 2**20, "peak": peak / 2**20}  # fmt: skip


if __name__ == "__main__":
    import logging
    import warnings

    logging.disable(logging.INFO)
    warnings.simplefilter("ignore")
    if "--each-job-end" in sys.argv[1:]:
        EACH_JOB_END = "true"
    for arg in sys.argv[1:]:
        if arg.startswith("--run-size="):  # jobs per run: 1 for jobs submitted one a call
            RUN = int(arg.split("=", 1)[1])
    sizes = [int(a) for a in sys.argv[1:] if not a.startswith("--")] or [10_000, 100_000, 1_000_000]
    columns = ("records, wall s, records/s, DynamoDB calls/record, publishes/record, "
               "RSS before MB, peak RSS MB")  # fmt: skip
    print("| " + " | ".join(columns.split(", ")) + " |")
    print("|---|---|---|---|---|---|---|")
    for size in sizes:
        r = run(size)
        print(f"| {size:,} | {r['wall_s']:.1f} | {r['rate']:,.0f} | {r['ddb']:.4f} | {r['publishes']:.4f} | "
              f"{r['base']:.0f} | {r['peak']:.0f} |", flush=True)  # fmt: skip
