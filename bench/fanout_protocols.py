"""Subscription fan-out cost per protocol: server CPU-seconds per delivered update.

    .venv/bin/python bench/fanout_protocols.py [--subscribers 20] [--jobs 10000] [--repeat 2]

For each protocol (AppSync real-time on /graphql/realtime; graphql-transport-ws and graphql-ws on
/graphql) a fresh `asyncml serve` (batch window 300 s, so every job stays QUEUED) gets N subscribers
to onJobsMoved, then M jobs by one submitJob each, so every job yields exactly one update (a
QUEUED JobsMoved naming it; a job's moves are published per submit call). The server's
CPU time (utime+stime from /proc) over the submits and deliveries, minus a run with no subscriber
(the submits' own cost), divided by N x M, is the cost of one delivery; its peak RSS is printed too.
`--selection aliased` uses an alias, which no protocol can answer without executing the document
per update."""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import time
from pathlib import Path
from typing import Any

import httpx
import websockets
from local_stack import IRIS, KEY, peak_rss_mb, server

PLAIN = "subscription { onJobsMoved { status jobIds batchId updatedAt } }"
ALIASED = "subscription { onJobsMoved { ids: jobIds status batchId updatedAt } }"
SUBMIT_ONE = "mutation ($p: String!) { submitJob(input: {payload: $p}) { jobId } }"
PROTOCOLS = ("none", "realtime", "graphql-transport-ws", "graphql-ws")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def subscriber(host: str, protocol: str, query: str, want: int, ready: asyncio.Event) -> int:
    got = 0
    if protocol == "realtime":
        auth = {"host": host, "x-api-key": KEY}
        header = base64.b64encode(json.dumps(auth).encode()).decode()
        url, sub = f"ws://{host}/graphql/realtime?header={header}&payload=e30=", "graphql-ws"
        init: dict[str, Any] = {"type": "connection_init"}
        data = json.dumps({"query": query, "variables": {}})
        start = {"id": "1", "type": "start", "payload": {"data": data, "extensions": {"authorization": auth}}}
        kinds = {"data"}
    else:
        url, sub = f"ws://{host}/graphql", protocol
        init = {"type": "connection_init", "payload": {"x-api-key": KEY}}
        kind = "subscribe" if protocol == "graphql-transport-ws" else "start"
        start = {"id": "1", "type": kind, "payload": {"query": query}}
        kinds = {"next", "data"}
    async with websockets.connect(url, subprotocols=[sub], max_size=None) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps(init))
        await ws.send(json.dumps(start))
        ready.set()
        while got < want:
            message = json.loads(await ws.recv())
            if message["type"] in kinds:
                got += 1
    return got


async def wait_subscribers(http: httpx.AsyncClient, base: str, n: int) -> None:
    for _ in range(1200):  # the server registers them a moment after the clients sent `start`
        if (await http.get(f"{base}/healthz")).json()["subscribers"]["onJobsMoved"] >= n:
            return
        await asyncio.sleep(0.05)
    raise RuntimeError(f"the server never had {n} subscribers")


async def one_run(protocol: str, subscribers: int, jobs: int, query: str) -> tuple[float, float]:
    flags = ("--batch-window", "300", "--batch-size", "10000")
    with server(*flags) as (host, proc):
        base = f"http://{host}"
        n = 0 if protocol == "none" else subscribers
        readies = [asyncio.Event() for _ in range(n)]
        tasks = [asyncio.create_task(subscriber(host, protocol, query, jobs, r)) for r in readies]
        for r in readies:
            await r.wait()
        async with httpx.AsyncClient(timeout=60, trust_env=False) as http:
            await wait_subscribers(http, base, n)
            before, t0 = cpu_seconds(proc.pid), time.monotonic()
            for i in range(jobs):
                r = await http.post(f"{base}/graphql", headers={"x-api-key": KEY},
                                    json={"query": SUBMIT_ONE, "variables": {"p": IRIS[i % 4]}})  # fmt: skip
                assert "errors" not in r.json(), r.text
        counts = await asyncio.gather(*tasks)
        assert all(c == jobs for c in counts), counts
        spent, rss = cpu_seconds(proc.pid) - before, peak_rss_mb(proc.pid)
        print(f"  {protocol:22} {spent:6.2f} CPU-s in {time.monotonic() - t0:5.1f} s, peak RSS {rss:.0f} MB")
        return spent, rss


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--subscribers", type=int, default=20)
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--selection", choices=["plain", "aliased"], default="plain")
    args = parser.parse_args()
    query = PLAIN if args.selection == "plain" else ALIASED
    best: dict[str, float] = {}
    rss: dict[str, float] = {}
    for _ in range(args.repeat):
        for protocol in PROTOCOLS:
            spent, peak = await one_run(protocol, args.subscribers, args.jobs, query)
            best[protocol] = min(best.get(protocol, spent), spent)
            rss[protocol] = max(rss.get(protocol, peak), peak)
    deliveries = args.subscribers * args.jobs
    print(f"\n{args.subscribers} subscribers x {args.jobs} updates ({args.selection} selection), best of "
          f"{args.repeat}; submits alone: {best['none']:.2f} CPU-s\n")  # fmt: skip
    print("| protocol | server CPU-µs per delivery | x realtime | server peak RSS |\n|---|---|---|---|")
    per = {p: (best[p] - best["none"]) / deliveries * 1e6 for p in PROTOCOLS[1:]}
    for p, us in per.items():
        print(f"| {p} | {us:.1f} | {us / per['realtime']:.2f} | {rss[p]:.0f} MB |")


if __name__ == "__main__":
    asyncio.run(main())
