"""Server CPU per submitted job of `submitJobs` x500, on the fast path and through strawberry.

    .venv/bin/python bench/submit_path.py [--rounds 4]

One `asyncml serve` whose window never fires (nothing is sealed, no subscriber): rounds alternate the
plain document (local/api/fast_submit.py answers it) and the same document with an alias (strawberry
answers it), 1,000 jobs each; CPU is read from /proc/<pid>/task/*/schedstat (nanoseconds)."""

from __future__ import annotations

import argparse
import asyncio
import statistics
from pathlib import Path

import httpx
from local_stack import IRIS, KEY, SUBMIT_MANY, SUBMIT_MANY_ALIASED, server


def cpu_ns(pid: int) -> int:
    return sum(int((t / "schedstat").read_text().split()[0]) for t in Path(f"/proc/{pid}/task").iterdir())


async def post(host: str, query: str, requests: int) -> None:
    chunk = [{"payload": IRIS[i % 4]} for i in range(500)]
    async with httpx.AsyncClient(base_url=f"http://{host}", timeout=60, trust_env=False) as client:
        for _ in range(requests):
            r = await client.post(
                "/graphql", json={"query": query, "variables": {"i": chunk}}, headers={"x-api-key": KEY}
            )
            if r.json().get("errors"):
                raise RuntimeError(r.text)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    with server("--batch-window", "300", "--batch-size", "10000") as (host, proc):
        asyncio.run(post(host, SUBMIT_MANY, 2))  # warm up: imports, caches
        per_job: dict[str, list[float]] = {"fast path": [], "strawberry": []}
        for _ in range(args.rounds):  # 1,000 jobs each; under 10,000 in all, so no batch seals
            for name, query in (("fast path", SUBMIT_MANY), ("strawberry", SUBMIT_MANY_ALIASED)):
                before = cpu_ns(proc.pid)
                asyncio.run(post(host, query, 2))
                per_job[name].append((cpu_ns(proc.pid) - before) / 1000 / 1000)
    for name, values in per_job.items():
        print(f"{name}: {', '.join(f'{v:.0f}' for v in values)} server CPU-µs per submitted job")
    gain = statistics.median(per_job["strawberry"]) / statistics.median(per_job["fast path"])
    print(f"gain: {gain:.2f}x")


if __name__ == "__main__":
    main()
