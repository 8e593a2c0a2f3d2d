"""Submit every row of a CSV file as a job, watch them finish, and write the results to a CSV file.

    python client_examples/bulk_csv.py rows.csv [--out results.csv] [--skip-header]
        [--url URL] [--api-key KEY]

Each line of the file is one payload. Rows go in `submitJobs` calls of at most 500. A call is all or
nothing and names the first refused input (`inputs[i]`), so a refused row is set aside with its line
number and error and the rest of its chunk sent again. Progress comes from subscription events, not
polling: before submitting, the program subscribes to `onJobsMoved` once for each end (COMPLETED,
FAILED, CANCELLED; the moves before those it does not need), and waits until the server has
acknowledged the subscriptions, so no ending can slip by unseen. An end's update carries its jobs
whole; a job too large to share an update is only named, and read with getJob.
The output has one line per input row: line, jobId, input, status, result, error
(status REFUSED for a row the API refused).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from asyncml_client import (
    JOB_FIELDS,
    TERMINAL,
    add_connection_args,
    explain,
    http_client,
    realtime_client,
    request,
    require_api_key,
)
from gql.transport.exceptions import TransportQueryError

CHUNK_SIZE = 500  # the API's limit of inputs per submitJobs call
SUBMIT = f"mutation ($inputs: [SubmitJobInput!]!) {{ submitJobs(inputs: $inputs) {{ {JOB_FIELDS} }} }}"
ENDED = (
    "subscription ($status: JobStatus) { onJobsMoved(status: $status) { "
    f"jobIds jobs {{ {JOB_FIELDS} }} }} }}"
)
GET = f"query ($jobId: ID!) {{ getJob(jobId: $jobId) {{ {JOB_FIELDS} }} }}"
INPUT_INDEX = re.compile(r"\binputs\[(\d+)\]")


@dataclass
class Row:
    line: int
    payload: str
    job: dict[str, Any] | None = None
    error: str | None = None


@dataclass
class Run:
    rows: list[Row]
    by_id: dict[str, Row] = field(default_factory=dict)
    early: dict[str, dict[str, Any]] = field(default_factory=dict)  # endings seen before submitJobs answered
    named: set[str] = field(default_factory=set)  # ended, too large to be carried: to read with getJob
    done: int = 0
    counts: dict[str, int] = field(default_factory=dict)

    def ended(self, job: dict[str, Any]) -> None:
        row = self.by_id.get(job["jobId"])
        if row is None:
            self.early[job["jobId"]] = job  # ours, maybe, but submitJobs has not answered yet
        elif row.job is None or row.job["status"] not in TERMINAL:
            row.job = job
            self.done += 1
            self.counts[job["status"]] = self.counts.get(job["status"], 0) + 1

    def accepted(self, row: Row, job: dict[str, Any]) -> None:
        self.by_id[job["jobId"]] = row
        row.job = job
        seen = self.early.pop(job["jobId"], None)
        if seen is not None or job["status"] in TERMINAL:
            row.job = None
            self.ended(seen or job)

    def update(self, moved: dict[str, Any]) -> None:
        for job in moved["jobs"] or []:
            self.ended(job)
        self.named.update(set(moved["jobIds"]) - {j["jobId"] for j in moved["jobs"] or []})

    async def read_named(self, api: Any) -> None:
        """Jobs of ours that ended too large to be carried by their update: read them whole."""
        for job_id in [i for i in self.named if i in self.by_id]:
            self.named.discard(job_id)
            self.ended((await api.execute(request(GET, jobId=job_id)))["getJob"])

    @property
    def submitted(self) -> int:
        return len(self.by_id)


def read_rows(path: Path, skip_header: bool) -> list[Row]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [
        Row(number, text)
        for number, text in enumerate(lines, start=1)
        if text.strip() and not (skip_header and number == 1)
    ]


def refused_index(error: dict[str, Any]) -> int | None:
    """Which input the server refused: the error's field (extensions, or AppSync's errorInfo),
    else its message."""
    for text in (
        (error.get("extensions") or {}).get("field"),
        (error.get("errorInfo") or {}).get("field"),
        error.get("message"),
    ):
        found = INPUT_INDEX.search(text) if isinstance(text, str) else None
        if found:
            return int(found.group(1))
    return None


class Progress:
    """A text progress bar on stderr: redrawn in place on a terminal, one line per 10 % otherwise."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.last_step = -1
        self.last_draw = 0.0

    def show(self, run: Run, final: bool = False) -> None:
        total = run.submitted
        pct = 100 * run.done // total if total else 100
        summary = ", ".join(f"{n} {s.lower()}" for s, n in sorted(run.counts.items()))
        bar = "#" * (pct // 4) + "." * (25 - pct // 4)
        text = f"[{bar}] {run.done}/{total} done" + (f" ({summary})" if summary else "")
        if self.tty:
            now = time.monotonic()
            if final or now - self.last_draw > 0.1:
                self.last_draw = now
                print(f"\r{text}", end="\n" if final else "", file=sys.stderr, flush=True)
        elif final or pct // 10 > self.last_step:
            self.last_step = pct // 10
            print(text, file=sys.stderr, flush=True)


async def run_file(url: str, api_key: str, rows: list[Row], chunk_size: int) -> Run:
    run = Run(rows)
    progress = Progress()
    live, transport = realtime_client(url, api_key)
    async with http_client(url, api_key) as api, live as session:
        changed = asyncio.Event()

        async def follow(status: str) -> None:
            async for data in session.subscribe(request(ENDED, status=status)):
                run.update(data["onJobsMoved"])
                changed.set()

        followers = [asyncio.create_task(follow(status)) for status in sorted(TERMINAL)]
        async with asyncio.timeout(10):
            await transport.wait_started(len(followers))

        for start in range(0, len(rows), chunk_size):
            await submit_chunk(api, run, rows[start : start + chunk_size])
        for row in rows:
            if row.error:
                print(f"line {row.line}: refused: {row.error}", file=sys.stderr)
        print(f"submitted {run.submitted} of {len(rows)} rows; waiting for results", file=sys.stderr)

        while run.done < run.submitted:
            await run.read_named(api)
            if run.done == run.submitted:
                break
            progress.show(run)
            changed.clear()
            waiting = asyncio.ensure_future(changed.wait())
            await asyncio.wait({waiting, *followers}, return_when=asyncio.FIRST_COMPLETED)
            for task in followers:
                if task.done():
                    waiting.cancel()
                    task.result()  # raises what ended the subscription
                    raise ConnectionError("a subscription ended before every job did")
        progress.show(run, final=True)
        for task in followers:
            task.cancel()
    return run


async def submit_chunk(api: Any, run: Run, chunk: list[Row]) -> None:
    pending = list(chunk)
    while pending:
        inputs = [{"payload": row.payload} for row in pending]
        try:
            jobs = (await api.execute(request(SUBMIT, inputs=inputs)))["submitJobs"]
        except TransportQueryError as exc:
            error = (exc.errors or [{"message": str(exc)}])[0]
            index = refused_index(error)
            if index is None or index >= len(pending):
                raise  # not about one row (auth, limits): nothing of this chunk went in
            pending[index].error = str(error.get("message"))
            del pending[index]
            continue
        for row, job in zip(pending, jobs, strict=True):
            run.accepted(row, job)
        return


def write_results(path: Path, rows: list[Row]) -> None:
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["line", "jobId", "input", "status", "result", "error"])
        for row in rows:
            job = row.job or {}
            status = "REFUSED" if row.error else job.get("status", "")
            writer.writerow(
                [
                    row.line,
                    job.get("jobId", ""),
                    row.payload,
                    status,
                    job.get("result") or "",
                    row.error or job.get("error") or "",
                ]
            )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_connection_args(parser)
    parser.add_argument("csv", type=Path, help="input file: one payload per line")
    parser.add_argument("--out", type=Path, help="results file (default: <input>.results.csv)")
    parser.add_argument(
        "--skip-header", action="store_true", help="the first line is a header, not a payload"
    )
    parser.add_argument(
        "--chunk-size", type=int, default=CHUNK_SIZE, help="rows per submitJobs call (max 500)"
    )
    args = parser.parse_args()
    api_key = require_api_key(parser, args)
    if not 1 <= args.chunk_size <= CHUNK_SIZE:
        parser.error(f"--chunk-size must be 1 to {CHUNK_SIZE}")
    out = args.out or args.csv.with_suffix(".results.csv")
    rows = read_rows(args.csv, args.skip_header)
    if not rows:
        parser.error(f"{args.csv} has no rows")
    try:
        run = asyncio.run(run_file(args.url, api_key, rows, args.chunk_size))
    except Exception as exc:  # a user-facing program: one line, not a traceback
        print(f"error: {explain(exc)}", file=sys.stderr)
        return 2
    write_results(out, rows)
    refused = sum(1 for r in rows if r.error)
    failed = run.done - run.counts.get("COMPLETED", 0)
    print(
        f"wrote {len(rows)} rows to {out}: {run.counts.get('COMPLETED', 0)} completed, "
        f"{failed} failed or cancelled, {refused} refused"
    )
    return 0 if not refused and not failed else 1


if __name__ == "__main__":
    raise SystemExit(main())
