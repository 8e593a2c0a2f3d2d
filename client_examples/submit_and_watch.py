"""Submit one payload and print each status change of its job as it arrives, until it ends.

    python client_examples/submit_and_watch.py --payload 5.1,3.5,1.4,0.2 [--url URL] [--api-key KEY]

One subscription watches one job: `onJobsMoved(jobId: …)` brings its moves to BATCHED and
PROCESSING and its end (COMPLETED, FAILED or CANCELLED). One update names every job that moved with
it, and the server sends only those naming this job; an end's update carries the jobs whole (`jobs`),
except one too large to share an update, which is read with getJob.

Why subscribe after submitting, then read the job once: a job id exists only once submitJob returns,
so the subscription can only start after it, and the job may already have moved by then. Once the
server acknowledges it (`start_ack`), every later move arrives as an event; one `getJob` read after
that covers every move before. Events arrive at least once and out of order, so only a move forward
is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import datetime
from typing import Any

from asyncml_client import (
    JOB_FIELDS,
    RANK,
    TERMINAL,
    add_connection_args,
    explain,
    http_client,
    realtime_client,
    request,
    require_api_key,
)

SUBMIT = f"mutation ($input: SubmitJobInput!) {{ submitJob(input: $input) {{ {JOB_FIELDS} }} }}"
GET = f"query ($jobId: ID!) {{ getJob(jobId: $jobId) {{ {JOB_FIELDS} }} }}"
WATCH = (
    "subscription ($jobId: ID) { onJobsMoved(jobId: $jobId) { "
    f"status batchId transformJobName updatedAt jobs {{ {JOB_FIELDS} }} }} }}"
)


def describe(job: dict[str, Any]) -> str:
    """One line per status: the status first, then what is new about the job."""
    now = datetime.now().strftime("%H:%M:%S.%f")[:-3]
    extra = {
        "QUEUED": f"job {job['jobId']}",
        "BATCHED": f"batch {job.get('batchId')}",
        "PROCESSING": f"transform job {job.get('transformJobName')}",
    }.get(job["status"], "")
    return f"{now}  {job['status']:<10} {extra}".rstrip()


async def watch(url: str, api_key: str, payload: str) -> int:
    async with http_client(url, api_key) as api:
        job = (await api.execute(request(SUBMIT, input={"payload": payload})))["submitJob"]
        print(describe(job), flush=True)
        live, transport = realtime_client(url, api_key)
        async with live as session:
            events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

            async def pump() -> None:
                async for data in session.subscribe(request(WATCH, jobId=job["jobId"])):
                    await events.put(data["onJobsMoved"])

            pumping = asyncio.ensure_future(pump())
            async with asyncio.timeout(10):
                await transport.wait_started(1)
            current = (await api.execute(request(GET, jobId=job["jobId"])))["getJob"]
            updates = [current]
            while True:
                for update in updates:
                    if RANK[update["status"]] > RANK[job["status"]]:
                        job = {**job, **await whole(api, job["jobId"], update)}
                        print(describe(job), flush=True)
                if job["status"] in TERMINAL:
                    break
                updates = [await next_event(events, pumping)]
            pumping.cancel()
    if job["status"] == "COMPLETED":
        print(f"result: {job['result']}")
        return 0
    print(f"error: {job.get('error') or job['status']}")
    return 1


async def whole(api: Any, job_id: str, update: dict[str, Any]) -> dict[str, Any]:
    """What an update says of this job: a move names the group's batch and transform job; an end
    carries the whole job, or (too large to share an update) leaves it to getJob."""
    if update["status"] not in TERMINAL:
        return {k: v for k, v in update.items() if v is not None and k != "jobs"}
    mine = [j for j in update.get("jobs") or [] if j["jobId"] == job_id]
    if mine:
        return dict(mine[0])
    return dict((await api.execute(request(GET, jobId=job_id)))["getJob"])


async def next_event(events: asyncio.Queue[dict[str, Any]], pumping: asyncio.Future[Any]) -> dict[str, Any]:
    """The next event, or the subscription's own error if it ended first."""
    getting = asyncio.ensure_future(events.get())
    await asyncio.wait({getting, pumping}, return_when=asyncio.FIRST_COMPLETED)
    if getting.done():
        return getting.result()
    getting.cancel()
    pumping.result()  # raises what ended the subscription
    raise ConnectionError("the subscription ended before the job did")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_connection_args(parser)
    parser.add_argument("--payload", default="5.1,3.5,1.4,0.2", help="one record (a CSV line by default)")
    args = parser.parse_args()
    api_key = require_api_key(parser, args)
    try:
        return asyncio.run(watch(args.url, api_key, args.payload))
    except Exception as exc:  # a user-facing program: one line, not a traceback
        print(f"error: {explain(exc)}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
