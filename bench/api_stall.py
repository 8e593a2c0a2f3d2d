"""Does one heavy reader stall the other clients? Latency of a small query during large listJobs reads.

    .venv/bin/python bench/api_stall.py [--jobs 1000] [--payload-kb 100] [--reads 4]

Starts `asyncml serve` (batch window 300 s: the jobs stay QUEUED), stores --jobs jobs of
--payload-kb each, then one client thread reads `listJobs(limit: 1000) { items { payload } }`
(--jobs x --payload-kb of JSON) --reads times while another client sends a small `getJob` every
20 ms. Prints the small query's latency while the reads run (median, p99, max)."""

from __future__ import annotations

import argparse
import statistics
import threading
import time

import httpx
from local_stack import KEY, SUBMIT_MANY, server

BIG = "{ listJobs(limit: 1000) { items { jobId payload } } }"
SMALL = '{ getJob(jobId: "none") { jobId } }'


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--payload-kb", type=int, default=100)
    parser.add_argument("--reads", type=int, default=4)
    args = parser.parse_args()
    with server("--batch-window", "300", "--batch-size", "10000") as (host, _proc):
        url, headers = f"http://{host}/graphql", {"x-api-key": KEY}
        payload = "1," + "2" * (args.payload_kb * 1024 - 2)
        with httpx.Client(timeout=300, trust_env=False) as http:
            for i in range(0, args.jobs, 500):
                inputs = [{"payload": payload}] * min(500, args.jobs - i)
                r = http.post(url, headers=headers, json={"query": SUBMIT_MANY, "variables": {"i": inputs}})
                assert "errors" not in r.json(), r.text[:500]
        done = threading.Event()
        read_bytes: list[int] = []

        def heavy() -> None:
            with httpx.Client(timeout=300, trust_env=False) as http:
                for _ in range(args.reads):
                    read_bytes.append(len(http.post(url, headers=headers, json={"query": BIG}).content))
            done.set()

        latencies: list[float] = []
        with httpx.Client(timeout=300, trust_env=False) as http:
            http.post(url, headers=headers, json={"query": SMALL})  # connection open before timing
            reader = threading.Thread(target=heavy)
            t0 = time.monotonic()
            reader.start()
            while not done.is_set():
                start = time.monotonic()
                http.post(url, headers=headers, json={"query": SMALL})
                latencies.append(time.monotonic() - start)
                time.sleep(0.02)
            reader.join()
            elapsed = time.monotonic() - t0
    latencies.sort()
    p99 = latencies[int(len(latencies) * 0.99) - 1] if len(latencies) >= 100 else latencies[-1]
    print(f"{args.reads} reads of {statistics.mean(read_bytes) / 1e6:.0f} MB in {elapsed:.1f} s; "
          f"{len(latencies)} small queries meanwhile")  # fmt: skip
    print(f"small query latency: median {statistics.median(latencies) * 1000:.0f} ms, "
          f"p99 {p99 * 1000:.0f} ms, max {latencies[-1] * 1000:.0f} ms")  # fmt: skip


if __name__ == "__main__":
    main()
