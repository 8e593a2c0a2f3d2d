"""Subscription fan-out of `asyncml serve`: 1,000 subscribers on /graphql/realtime while jobs flow.

    .venv/bin/python bench/fanout.py [--subscribers 1000] [--jobs 20000] [--rate 500] [--batch-size 1000]
                                     [--per-connection 2] [--no-stall]

Half the subscriptions filter on one jobId each, half take every update. They ride AppSync real-time
connections, `--per-connection` subscriptions each (AppSync allows 100), because the server caps its
connections at 1,000 (local/api/connections.py). The jobs go in two steps, so that the filtered
subscribers can name jobs that exist: with a window of 300 s, the first half-batch stays QUEUED
while the filtered subscriptions start on them, then the rest flow in at `--rate` jobs/s, filling
batches of `--batch-size` (the server's default, 1,000) that seal and run as they fill. A flow, not
one burst: at once (`--rate 0`), 20,000 ends reach the 500 unfiltered subscriptions within seconds,
more JSON than the bench's own client processes decode on the same two cores.

Every update a subscription should get is counted: each unfiltered subscription must get every
update any of them got (and every job's end must be among them), each filtered one every update of
its job after it started (its QUEUED came before). Anything missing fails the run, loudly. Printed:
deliveries/s, p95 and max lag from publish (the update's updatedAt) to receipt, the server's peak RSS.

One more connection (unless --no-stall) opens 100 unfiltered subscriptions and never reads: it must
be cut off with close code 4429 and its reason (local/api/outbox.py, 16 MiB queued per socket),
without the others missing anything.

The subscriptions are on onJobsMoved, which carries every move (ends included, with the jobs whole
in `jobs`); the server runs with --no-each-job-end, so onJobUpdated publishes nothing."""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from typing import Any

import httpx
from fanout_clients import ENDS, FIELDS, Clients, Connection, Stats, Sub
from local_stack import IRIS, KEY, SUBMIT_MANY, children, cpu_seconds, peak_rss_mb, server
from websockets.exceptions import ConnectionClosed


async def submit(http: httpx.AsyncClient, n: int, offset: int = 0, rate: float = 0) -> list[str]:
    """`n` jobs by submitJobs of 500; at `rate` jobs/s when given (0: as fast as the server takes them)."""
    ids: list[str] = []
    start = time.monotonic()
    for i in range(0, n, 500):
        if rate and (ahead := start + i / rate - time.monotonic()) > 0:
            await asyncio.sleep(ahead)
        inputs = [{"payload": IRIS[(offset + i + k) % 4]} for k in range(min(500, n - i))]
        r = await http.post("/graphql", json={"query": SUBMIT_MANY, "variables": {"i": inputs}})
        body = r.json()
        if body.get("errors"):
            raise RuntimeError(body["errors"])
        ids += [j["jobId"] for j in body["data"]["submitJobs"]]
    return ids


def missing(results: list[dict[str, Any]], total_jobs: set[str]) -> list[str]:
    """What any subscription lacks; empty when every one got all that matches it."""
    problems = [f"{len(r['ended'])} connections were closed by the server: {sorted(set(r['ended']))}"
                for r in results if r["ended"]]  # fmt: skip
    for name in FIELDS:
        union = set().union(*(r["unions"][name] for r in results))
        # every job's end reached the unfiltered subscribers
        ended = {j for j, status in union if status in ENDS}
        if ended != total_jobs:
            problems.append(f"{name}: {len(total_jobs - ended)} jobs' ends reached no subscriber")
        # A subscription's updates are within its process's union, so its size says it has them all.
        lacking = [
            len(union) - n for r in results for f, n in r["unfiltered"] if f == name and n < len(union)
        ]
        if lacking:
            problems.append(
                f"{name}: {len(lacking)} unfiltered subscriptions miss updates (up to {max(lacking)})"
            )
        for r in results:
            if r["not_whole"]:
                problems.append(f"{r['not_whole']} ends named a job without it whole in jobs")
            for f, job_id, got in r["filtered"]:
                want = {(j, st) for j, st in union if f == name and j == job_id and st != "QUEUED"}
                if want - got:
                    problems.append(f"{name}({job_id}): missing {sorted(want - got)}")
    return problems


async def run(args: argparse.Namespace) -> None:
    batch = min(args.jobs, args.batch_size)
    if args.jobs % batch:
        raise SystemExit(f"--jobs must be a multiple of {batch}, so that every batch fills")
    per_field = args.subscribers // len(FIELDS)
    with server("--batch-window", "300", "--batch-size", str(batch), "--no-each-job-end") as (host, proc):
        clients = Clients(host, args.clients, args.per_connection)
        async with httpx.AsyncClient(
            base_url=f"http://{host}", headers={"x-api-key": KEY}, timeout=120, trust_env=False
        ) as http:
            # 1. The unfiltered half, and the stalled connection, before any job.
            await clients.open([(name, None) for name in FIELDS for _ in range(per_field // 2)])
            others = [len(FIELDS) * (per_field // 2)]  # subscriptions open beside the stalled ones
            stall = watcher = None
            if not args.no_stall:
                stall = Connection(host, [Sub("stall", None) for _ in range(100)], Stats())
                await stall.open(max_queue=1)  # its 100 start_acks, then it reads nothing more
                watcher = asyncio.create_task(stalled_close(stall, http, others))
            rss_before = peak_rss_mb(proc.pid)
            pids = [proc.pid, *children(proc.pid)]
            cpu0, t0 = sum(map(cpu_seconds, pids)), time.time()
            # 2. Jobs that stay QUEUED, and a filtered subscription on each of some of them.
            first = batch - min(500, batch // 2)
            ids = await submit(http, first)
            n_filtered = per_field - per_field // 2
            await clients.open([(name, ids[i % len(ids)]) for name in FIELDS for i in range(n_filtered)])
            others[0] += len(FIELDS) * n_filtered
            # 3. The rest: every batch fills, seals and runs.
            ids += await submit(http, args.jobs - first, first, args.rate)
            results = await clients.ask([("wait", (args.jobs, args.timeout))] * args.clients)
            cpu = sum(map(cpu_seconds, pids)) - cpu0
            problems = missing(results, set(ids))
            closed = await watcher if watcher is not None else None
            rss = peak_rss_mb(proc.pid)
        stats = Stats()
        for r in results:
            stats.lags.frombytes(r["lags"])
            stats.deliveries += r["deliveries"]
            stats.last = max(stats.last, r["last"])
        report(args, stats, t0, cpu=cpu, rss=(rss_before, rss), closed=closed,
               connections=-(-args.subscribers // args.per_connection), missed=len(problems))  # fmt: skip
        if problems:
            raise SystemExit("MISSED UPDATES:\n  " + "\n  ".join(problems[:20]))


async def stalled_close(stall: Connection, http: httpx.AsyncClient, others: list[int]) -> str:
    """How the server ended the connection that never read. It reads nothing until the server has
    dropped its 100 subscriptions (the client has not read a byte yet), then reads to the end."""
    for _ in range(3000):
        subscribers = (await http.get("/healthz")).json()["subscribers"]["onJobsMoved"]
        if subscribers <= others[0]:
            break
        await asyncio.sleep(0.2)
    else:
        return "NOT CLOSED: its subscriptions were never dropped"
    try:
        async with asyncio.timeout(60):
            while True:
                await stall.ws.recv()
    except ConnectionClosed as exc:
        rcvd = exc.rcvd
        return f"{rcvd.code} {rcvd.reason!r}" if rcvd else "closed without a close frame"
    except TimeoutError:
        return "NOT CLOSED"


def report(args: argparse.Namespace, stats: Stats, t0: float, *, cpu: float, rss: tuple[float, float],
           closed: str | None, connections: int, missed: int) -> None:  # fmt: skip
    lags = sorted(stats.lags)
    elapsed = stats.last - t0
    print("| measure | value |\n| --- | --- |")
    print(f"| subscriptions (half filtered by jobId) on connections | {args.subscribers} on {connections} |")
    print(f"| jobs | {args.jobs:,} |")
    print(f"| updates delivered (each counted per subscription) | {stats.deliveries:,} |")
    print(f"| subscriptions missing an update | {'none' if not missed else f'**{missed} (FAILED)**'} |")
    print(f"| delivery rate | {stats.deliveries / elapsed:,.0f} /s over {elapsed:.1f} s |")
    print(f"| lag publish->receipt, median / p95 / max | {statistics.median(lags) * 1000:.0f} / "
          f"{lags[int(0.95 * (len(lags) - 1))] * 1000:.0f} / {lags[-1] * 1000:.0f} ms |")  # fmt: skip
    print(
        f"| server + model CPU | {cpu:.1f} s ({cpu / max(stats.deliveries, 1) * 1e6:.1f} µs per delivery) |"
    )
    print(f"| peak RSS of asyncml serve, before jobs / at the end | {rss[0]:.0f} / {rss[1]:.0f} MB |")
    if closed is not None:
        print(f"| the connection that never read (100 subscriptions) | closed: {closed} |")
        if not closed.startswith("4429"):
            raise SystemExit(f"the stalled connection was not cut off with 4429: {closed}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--jobs", type=int, default=20_000)
    parser.add_argument("--per-connection", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=1000, help="the server's (its default)")
    parser.add_argument("--rate", type=float, default=500, help="jobs/s; 0: at once")
    parser.add_argument("--clients", type=int, default=4, help="subscriber processes (one cannot keep up)")
    parser.add_argument("--no-stall", action="store_true", help="without the connection that never reads")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds to wait for every update")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
