"""The local SQLite store alone: microseconds a job for each write a job's life costs.

    .venv/bin/python bench/sqlite_moves.py [--jobs 30000] [--busy] [--baseline DIR] [--rounds 2]

In one process, for `--jobs` jobs: insert them 500 a call (`create_jobs`), claim them BATCHED 1,000
a call (`move_job_ids`), move each batch to PROCESSING (`move_batch_jobs`) and end them COMPLETED
with a result 500 a call (`move_jobs`, rows read back whole). `--busy` runs a thread that only
spins Python meanwhile, as the API's and the pipeline's other threads do: a write that gives the
GIL back to it mid-transaction waits up to a switch interval (5 ms) to get it again, while every
other writer waits for the transaction. `--baseline DIR` (a `git archive` of an earlier commit) runs
the same in a process importing that tree's asyncml, alternating, `--rounds` times each."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

PHASES = ("insert", "BATCHED", "PROCESSING", "COMPLETED")


def one_run(jobs: int, busy: bool) -> dict[str, float]:
    """Microseconds a job per phase, in this process (its asyncml is whatever sys.path finds)."""
    from asyncml.local.sqlite_store import SqliteJobStore
    from asyncml.model import Job, JobMove, JobStatus
    from asyncml.submit import new_job_id

    now = datetime.now(UTC)
    spinning = True

    def spin() -> None:
        n = 0
        while spinning:
            n += 1

    with tempfile.TemporaryDirectory() as tmp:
        store = SqliteJobStore(Path(tmp) / "jobs.db")
        ids = [new_job_id() for _ in range(jobs)]
        made = [Job(job_id=i, status=JobStatus.QUEUED, payload="5.1,3.5,1.4,0.2", submitted_at=now,
                    updated_at=now) for i in ids]  # fmt: skip
        spinner = threading.Thread(target=spin, daemon=True)
        if busy:
            spinner.start()
        took: dict[str, float] = {}
        t = time.perf_counter()
        for i in range(0, jobs, 500):
            store.create_jobs(made[i : i + 500])
        took["insert"] = time.perf_counter() - t
        batches = [(f"b-{i}", ids[i : i + 1000]) for i in range(0, jobs, 1000)]
        t = time.perf_counter()
        for batch_id, part in batches:
            store.move_job_ids([JobMove(j, JobStatus.BATCHED, batch_id=batch_id) for j in part], now)
        took["BATCHED"] = time.perf_counter() - t
        t = time.perf_counter()
        for batch_id, _ in batches:
            store.move_batch_jobs(batch_id, JobStatus.PROCESSING, now, transform_job_name=f"t-{batch_id}")
        took["PROCESSING"] = time.perf_counter() - t
        t = time.perf_counter()
        for batch_id, part in batches:
            for k in range(0, len(part), 500):
                moves = [JobMove(j, JobStatus.COMPLETED, result="Iris-setosa", in_batch=batch_id)
                         for j in part[k : k + 500]]  # fmt: skip
                store.move_jobs(moves, now)
        took["COMPLETED"] = time.perf_counter() - t
        spinning = False
        store.close()
    return {phase: took[phase] / jobs * 1e6 for phase in PHASES}


def in_tree(tree: str | None, jobs: int, busy: bool) -> dict[str, float]:
    """One run in a fresh process, importing asyncml from `tree` (None: this repository)."""
    root = tree or str(Path(__file__).resolve().parent.parent)
    code = (
        f"import sys, json; sys.path.insert(0, {root!r}); sys.path.insert(0, {str(Path(__file__).parent)!r});"
        f" import sqlite_moves; print(json.dumps(sqlite_moves.one_run({jobs}, {busy})))"
    )
    env = {**os.environ, "PYTHONPATH": root}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env, cwd=root
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=30_000)
    parser.add_argument("--busy", action="store_true", help="a thread spinning Python meanwhile")
    parser.add_argument("--baseline", default=None, help="a source tree to alternate with")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    variants = {"this tree": None, **({f"baseline {args.baseline}": args.baseline} if args.baseline else {})}
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in variants}
    for _ in range(args.rounds):
        for name, tree in variants.items():
            runs[name].append(in_tree(tree, args.jobs, args.busy))
    print(f"| µs a job ({args.jobs:,} jobs{', a busy thread beside' if args.busy else ''}) | "
          + " | ".join(PHASES) + " |")  # fmt: skip
    print("| --- |" + " ---: |" * len(PHASES))
    for name, results in runs.items():
        cells = [statistics.median(r[p] for r in results) for p in PHASES]
        print(f"| {name} (median of {len(results)}) | " + " | ".join(f"{c:,.1f}" for c in cells) + " |")


if __name__ == "__main__":
    main()
