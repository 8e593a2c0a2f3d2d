"""Benchmarks of the local stack (`asyncml serve`), driven over HTTP and AppSync's real-time protocol.

    .venv/bin/python bench/local_stack.py [--jobs 100000] [--latency-jobs 40] [--http-requests 4000]

Starts `asyncml serve` on 127.0.0.1 (fresh data dir, demo model) for each part, then prints a
Markdown table: submit->COMPLETED latency at --batch-window 0.5, single submitJob/s over HTTP,
end-to-end records/s for N jobs via submitJobs with one subscriber to every job update, and the
server's peak RSS (VmHWM; the demo model runs in its own process, reported apart)."""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import websockets
from local_floor import floor_rate

KEY = "da2-benchmarkkeybenchmarkkey0"
# Every update of every job: the moves in groups, the ends with the jobs whole (the event model).
SUBSCRIBE = (
    "subscription { onJobsMoved { status jobIds batchId transformJobName updatedAt jobs { jobId status "
    "payload result error batchId transformJobName metadata submittedAt updatedAt completedAt } } }"
)
SUBMIT_ONE = "mutation($p: String!) { submitJob(input: {payload: $p}) { jobId status } }"
SUBMIT_MANY = "mutation($i: [SubmitJobInput!]!) { submitJobs(inputs: $i) { jobId } }"
# The same answer, but an alias takes it off the fast path (local/api/fast_submit.py) to strawberry.
SUBMIT_MANY_ALIASED = "mutation($i: [SubmitJobInput!]!) { submitJobs: submitJobs(inputs: $i) { jobId } }"
IRIS = ["5.1,3.5,1.4,0.2", "6.7,3.0,5.2,2.3", "5.9,3.0,4.2,1.5", "4.9,3.1,1.5,0.1"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def server(*flags: str, src: str | None = None) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """`src`: a source tree (e.g. `git archive` of an earlier commit) whose asyncml the server runs."""
    port = free_port()
    with tempfile.TemporaryDirectory() as data:
        cmd = [sys.executable, "-m", "asyncml.cli", "serve", "--port", str(port), "--data-dir", data,
               "--api-key", KEY, *flags]  # fmt: skip
        if out := os.environ.get("BENCH_PYINSTRUMENT"):  # a text profile of the server, written at exit
            cmd[1:3] = ["-m", "pyinstrument", "-r", "text", "-o", f"{out}.{port}.txt", "-m", "asyncml.cli"]
        env = {**os.environ, "PYTHONPATH": src} if src else None
        # `python -m` puts the working directory first on sys.path, ahead of PYTHONPATH: a baseline
        # started from the repository would import the repository's asyncml, not its own.
        proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=src
        )
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                if "API key" in line:
                    break
            else:
                raise RuntimeError("asyncml serve exited before it was ready")
            wait_healthy(f"http://127.0.0.1:{port}/healthz")
            yield f"127.0.0.1:{port}", proc
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()


def wait_healthy(url: str, within: float = 30) -> None:
    deadline = time.monotonic() + within
    while True:
        try:
            if httpx.get(url).status_code == 200:
                return
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.05)


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """User + system CPU the process has used: on a shared machine, steadier than wall time."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children(pid: int) -> list[int]:
    """Every descendant: the pipeline process (asyncml serve's default) and the model under it."""
    # A child is listed under the thread that forked it (the model starts from a worker thread).
    tasks = Path(f"/proc/{pid}/task").glob("*/children")
    direct = [int(p) for path in tasks for p in path.read_text().split()]
    return [d for c in direct for d in (c, *children(c))]


def role(pid: int) -> str:
    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    return "pipeline process" if b"asyncml.local.pipeline_process" in cmdline else "demo model process"


class Subscriber:
    """One AppSync real-time connection subscribed to every job update."""

    def __init__(self, host: str) -> None:
        self.host = host
        self.completed: dict[str, float] = {}
        self.events = 0
        self.ready = asyncio.Event()
        self._grew = asyncio.Event()

    async def wait_for(self, job_id: str) -> None:
        while job_id not in self.completed:
            self._grew.clear()
            await self._grew.wait()

    async def all_done(self, total: int) -> None:
        while len(self.completed) < total:
            self._grew.clear()
            await self._grew.wait()

    async def run(self) -> None:
        header = base64.b64encode(json.dumps({"host": self.host, "x-api-key": KEY}).encode()).decode()
        url = f"ws://{self.host}/graphql/realtime?header={header}&payload=e30="
        async with websockets.connect(url, subprotocols=["graphql-ws"], max_size=None) as ws:  # type: ignore[list-item]
            await ws.send(json.dumps({"type": "connection_init"}))
            auth = {"host": self.host, "x-api-key": KEY}
            data = json.dumps({"query": SUBSCRIBE})
            start = {
                "id": "1",
                "type": "start",
                "payload": {"data": data, "extensions": {"authorization": auth}},
            }
            async for raw in ws:
                msg = json.loads(raw)
                kind = msg["type"]
                if kind == "connection_ack":
                    await ws.send(json.dumps(start))
                elif kind == "start_ack":
                    self.ready.set()
                elif kind == "data":
                    self.events += 1
                    update = msg["payload"]["data"]["onJobsMoved"]
                    if update["status"] in ("COMPLETED", "FAILED"):
                        now = time.perf_counter()
                        for job_id in update["jobIds"]:  # its jobs whole, or named when too large
                            self.completed[job_id] = now
                        self._grew.set()


async def gql(client: httpx.AsyncClient, query: str, variables: dict[str, Any]) -> Any:
    r = await client.post(
        "/graphql", json={"query": query, "variables": variables}, headers={"x-api-key": KEY}
    )
    body = r.json()
    if body.get("errors"):
        raise RuntimeError(body["errors"])
    return body["data"]


async def latency(host: str, n: int) -> dict[str, float]:
    sub = Subscriber(host)
    task = asyncio.create_task(sub.run())
    await asyncio.wait_for(sub.ready.wait(), 30)
    samples = []
    async with httpx.AsyncClient(base_url=f"http://{host}") as client:
        for i in range(n):
            t0 = time.perf_counter()
            job_id = (await gql(client, SUBMIT_ONE, {"p": IRIS[i % 4]}))["submitJob"]["jobId"]
            await sub.wait_for(job_id)
            samples.append(sub.completed[job_id] - t0)
    task.cancel()
    samples.sort()
    return {"median": statistics.median(samples), "p95": samples[int(0.95 * (len(samples) - 1))]}


async def submit_rate(host: str, total: int, concurrency: int) -> float:
    async with httpx.AsyncClient(
        base_url=f"http://{host}", limits=httpx.Limits(max_connections=concurrency)
    ) as c:
        await gql(c, SUBMIT_ONE, {"p": IRIS[0]})
        left = iter(range(total))

        async def worker() -> None:
            for i in left:
                await gql(c, SUBMIT_ONE, {"p": IRIS[i % 4]})

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return total / (time.perf_counter() - t0)


async def throughput(host: str, total: int, query: str = SUBMIT_MANY) -> dict[str, float]:
    sub = Subscriber(host)
    task = asyncio.create_task(sub.run())
    await asyncio.wait_for(sub.ready.wait(), 30)
    chunk = [{"payload": IRIS[i % 4]} for i in range(500)]
    t0 = time.perf_counter()
    async with httpx.AsyncClient(base_url=f"http://{host}", timeout=60) as client:
        for _ in range(total // 500):
            await gql(client, query, {"i": chunk})
    submitted = time.perf_counter() - t0
    try:
        await asyncio.wait_for(sub.all_done(total), 600)
    except TimeoutError:
        raise TimeoutError(f"only {len(sub.completed)} of {total} jobs finished in 600 s") from None
    elapsed = max(sub.completed.values()) - t0
    task.cancel()
    return {"records_per_s": total / elapsed, "elapsed": elapsed, "submit_s": submitted, "events": sub.events}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--latency-jobs", type=int, default=40)
    parser.add_argument("--http-requests", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--batch-size", type=int, default=1000, help="for the throughput run")
    parser.add_argument("--parts", default="latency,http,throughput")
    parser.add_argument(
        "--baseline", help="a source tree (git archive of an earlier commit): the throughput part runs "
        "on it too, alternating, and the ratio is printed", default=None)  # fmt: skip
    parser.add_argument(
        "--rounds", type=int, default=1, help="throughput rounds (each on current and baseline code)"
    )
    parser.add_argument(
        "--strawberry", action="store_true",
        help="also run throughput with submitJobs aliased: strawberry answers it (no fast path)")  # fmt: skip
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    rows = []
    if "latency" in parts:
        rows += run_latency(args)
    if "http" in parts:
        rows += run_http(args)
    if "throughput" in parts:
        rows += run_throughput(args)
    print("| measure | value |\n| --- | --- |")
    for name, value in rows:
        print(f"| {name} | {value} |")
    print(f"\n(cpus: {os.cpu_count()}, python {sys.version.split()[0]})")


def profiled(proc: subprocess.Popen[str], name: str) -> subprocess.Popen[bytes] | None:
    """With BENCH_PROFILE=DIR, py-spy records the server while the part runs (a flame graph per part)."""
    out = os.environ.get("BENCH_PROFILE")
    if not out:
        return None
    cmd = ["py-spy", "record", "-p", str(proc.pid), "-o", f"{out}/{name}.txt", "-f", "raw", "--nonblocking"]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop_profile(spy: subprocess.Popen[bytes] | None) -> None:
    if spy is not None:
        spy.send_signal(signal.SIGINT)
        spy.wait(30)


def run_latency(args: argparse.Namespace) -> list[tuple[str, str]]:
    rows = []
    with server("--batch-window", "0.5") as (host, _):
        lat = asyncio.run(latency(host, args.latency_jobs))
        rows.append(("submit→COMPLETED latency, median (window 0.5 s)", f"{lat['median'] * 1000:.0f} ms"))
        rows.append(("submit→COMPLETED latency, p95", f"{lat['p95'] * 1000:.0f} ms"))
        rows.append(("overhead over the window, median", f"{(lat['median'] - 0.5) * 1000:.0f} ms"))
    return rows


WRK_SCRIPT = """
wrk.method = "POST"
wrk.headers["content-type"] = "application/json"
wrk.headers["x-api-key"] = "%s"
wrk.body = '%s'
"""


def wrk_rate(host: str, seconds: int, connections: int) -> float:
    """submitJob/s measured by wrk (C, one thread): the load generator costs little of the 2 cores."""
    body = json.dumps({"query": SUBMIT_ONE, "variables": {"p": IRIS[0]}})
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(WRK_SCRIPT % (KEY, body))
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "-s", f.name, f"http://{host}/graphql"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    Path(f.name).unlink()
    if "Non-2xx" in out:
        raise RuntimeError(out)
    return float(next(line.split()[1] for line in out.splitlines() if line.startswith("Requests/sec")))


def run_http(args: argparse.Namespace) -> list[tuple[str, str]]:
    rows = []
    with server("--batch-window", "0.5") as (host, proc):
        spy = profiled(proc, "http")
        if shutil.which("wrk"):
            seconds, cpu_before = 10, cpu_seconds(proc.pid)
            rate = wrk_rate(host, seconds, args.concurrency)
            per_request = (cpu_seconds(proc.pid) - cpu_before) / (rate * seconds) * 1000
            rows.append(
                (
                    f"single submitJob over HTTP (wrk, {args.concurrency} connections, {seconds} s)",
                    f"{rate:,.0f} /s",
                )
            )
            rows.append(("CPU of the API's process per submitJob (wrk's run)", f"{per_request:.2f} ms"))
        rate = asyncio.run(submit_rate(host, args.http_requests, args.concurrency))
        rows.append(
            (f"single submitJob over HTTP (Python httpx client, {args.concurrency} tasks)", f"{rate:,.0f} /s")
        )
        stop_profile(spy)
    return rows


def run_throughput(args: argparse.Namespace) -> list[tuple[str, str]]:
    rows = []
    chunk = [{"payload": IRIS[i % 4]} for i in range(500)]
    body = json.dumps({"query": SUBMIT_MANY, "variables": {"i": chunk}}).encode()
    floors: list[tuple[float, float]] = []
    variants: list[tuple[str, str | None, str]] = [("", None, SUBMIT_MANY)]
    if args.strawberry:
        variants.append((" (submitJobs via strawberry)", None, SUBMIT_MANY_ALIASED))
    if args.baseline:
        variants.append((f" (baseline {args.baseline})", args.baseline, SUBMIT_MANY))
    rates: dict[str, list[float]] = {}
    cpu: dict[str, list[float]] = {}
    for _ in range(args.rounds):
        # The floor runs alone, before each round (no server or model is up): its rate moves from
        # run to run on a shared machine as much as asyncml's, so each round gets its own.
        floors.append(floor_rate(args.jobs, body))
        for label, src, query in variants:
            rate, used, more = throughput_once(args, src, query)
            rates.setdefault(label, []).append(rate)
            cpu.setdefault(label, []).append(used)
            if label == "":
                rows += more
    floor = statistics.median(f for f, _ in floors)
    floor_cpu = statistics.median(c for _, c in floors)
    shown_floors = ", ".join(f"{f:,.0f}" for f, _ in floors)
    rows.insert(
        0, ("one-process floor, same records (bench/local_floor.py), per round", f"{shown_floors} records/s")
    )
    rows.insert(1, ("one-process floor, records per CPU second (median)", f"{floor_cpu:,.0f}"))
    name = f"end to end, {args.jobs:,} jobs, submitJobs of 500, 1 subscriber, batch size {args.batch_size}"
    mine = statistics.median(rates[""])
    for label, values in rates.items():
        shown = ", ".join(f"{v:,.0f}" for v in values)
        rows.append((name + label, f"{shown} records/s"))
        per_cpu = ", ".join(f"{args.jobs / c:,.0f}" for c in cpu[label])
        rows.append(("records per CPU second of asyncml serve and its children" + label, per_cpu))
        share = args.jobs / statistics.median(cpu[label]) / floor_cpu
        rows.append(("asyncml / floor, per CPU second" + label, f"**{share:.1%}**"))
        ratio = statistics.median(values) / floor
        rows.append(("asyncml / floor (medians)" + label, f"**{ratio:.1%}** (aim >= 40%)"))
        if label:
            rows.append((f"gain over{label}", f"**{mine / statistics.median(values):.2f}x**"))
            cpu_gain = statistics.median(cpu[label]) / statistics.median(cpu[""])
            rows.append((f"gain in server CPU per record over{label}", f"**{cpu_gain:.2f}x**"))
    return rows


def throughput_once(
    args: argparse.Namespace, src: str | None, query: str
) -> tuple[float, float, list[tuple[str, str]]]:
    rows = []
    with server("--batch-window", "0.5", "--batch-size", str(args.batch_size), src=src) as (host, proc):
        spy = profiled(proc, "throughput")
        pids = [proc.pid, *children(proc.pid)]
        before = {pid: cpu_seconds(pid) for pid in pids}
        client_before = time.process_time()
        out = asyncio.run(throughput(host, args.jobs, query))
        each = {pid: cpu_seconds(pid) - before[pid] for pid in pids}
        used = sum(each.values())
        stop_profile(spy)
        split = ", ".join(
            f"{'API' if pid == proc.pid else role(pid).split()[0]} {cpu:.1f}" for pid, cpu in each.items()
        )
        rows.append(
            (
                "CPU seconds of the run",
                f"{split}, the bench's client {time.process_time() - client_before:.1f}",
            )
        )
        rows.append(("subscription events received", f"{out['events']:,}"))
        # The client sends its submitJobs one after another: the rest of the run is the pipeline's tail.
        rows.append(
            (
                "of the run, submitting (submitJobs one after another)",
                f"{out['submit_s']:.1f} of {out['elapsed']:.1f} s",
            )
        )
        rows.append(("peak RSS, asyncml serve", f"{peak_rss_mb(proc.pid):.0f} MB"))
        for child in children(proc.pid):
            rows.append((f"peak RSS, {role(child)}", f"{peak_rss_mb(child):.0f} MB"))
    return out["records_per_s"], used, rows


if __name__ == "__main__":
    main()
