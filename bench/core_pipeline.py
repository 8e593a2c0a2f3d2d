"""How fast the local pipeline runs without its HTTP and WebSocket faces: the ceiling for `asyncml serve`.

    .venv/bin/python bench/core_pipeline.py [--jobs 50000] [--shape]

Builds the local runtime in-process (SQLite, buffer, emulator, demo model), calls the core's
`submit_jobs` in chunks of 500, and waits until every job's COMPLETED update is published. With
`--shape`, every update is also shaped and JSON-encoded for one catch-all subscription (what the
real-time endpoint does before it writes a frame)."""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from asyncml.local.wiring import build_runtime
from asyncml.model import Job, JobStatus
from asyncml.settings import Settings
from asyncml.submit import SubmitInput, submit_jobs


async def run(total: int, shape: bool) -> float:
    with tempfile.TemporaryDirectory() as data:
        runtime = build_runtime(Settings(data_dir=Path(data), batch_size=1000, batch_window=0.5))
        await runtime.start()
        finished = asyncio.Event()
        done = 0

        def count(completed: int) -> None:
            nonlocal done
            done += completed
            if done >= total:
                finished.set()

        if shape:

            def deliver(fields: dict[str, Any], _memo: dict[Any, Any]) -> None:
                json.dumps(fields)
                count(fields["status"] == "COMPLETED")

            runtime.broadcast.jobs.add({}, deliver)
        else:
            # No subscriber, so nothing is shaped: count the updates as they are published.
            publish = runtime.broadcast.publish_jobs

            def counting(items: Sequence[Job]) -> None:
                count(sum(j.status is JobStatus.COMPLETED for j in items))
                publish(items)

            runtime.broadcast.publish_jobs = counting  # type: ignore[method-assign]
        chunk = [SubmitInput("5.1,3.5,1.4,0.2")] * 500
        t0 = time.perf_counter()
        for _ in range(total // 500):
            submit_jobs(runtime.ports, chunk)
            await asyncio.sleep(0)
        await finished.wait()
        elapsed = time.perf_counter() - t0
        await runtime.stop()
        return total / elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=50_000)
    parser.add_argument("--shape", action="store_true")
    args = parser.parse_args()
    rate = asyncio.run(run(args.jobs, args.shape))
    print(f"{args.jobs:,} jobs, shape={args.shape}: {rate:,.0f} records/s")


if __name__ == "__main__":
    main()
