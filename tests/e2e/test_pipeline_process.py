"""`asyncml serve`'s default: the batcher, the emulator and the results in a process of their own.

The API's process keeps the HTTP face and the subscriptions; every update the pipeline's process
makes still reaches them, /healthz and /metrics still say what waits and what finished, and
neither process's death loses a job the API accepted."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from asyncml.local.wiring import build_api_runtime
from asyncml.transform_emulator.demo_model import DemoModel
from tests.browser.live_server import LiveServer as CliServer
from tests.e2e.conftest import HELD, LiveServer, e2e_settings, run_server
from tests.e2e.test_model_supervision import until
from tests.e2e.test_subscription_filters import realtime_connection, subscribe

IRIS = "5.1,3.5,1.4,0.2"
SUBMIT = "mutation($i: [SubmitJobInput!]!) { submitJobs(inputs: $i) { jobId } }"
GET = "query($id: ID!) { getJob(jobId: $id) { status result } }"
N = 5  # the batch size: a batch seals when N jobs wait, never on a window (HELD's is 1e6 s)


@pytest.fixture
def server(tmp_path: Path, demo_model: DemoModel) -> Iterator[LiveServer]:
    settings = e2e_settings(tmp_path / "data", demo_model, **{**HELD, "batch_size": N})
    yield from run_server(settings, build=build_api_runtime)


def submit(server: LiveServer, n: int) -> list[str]:
    body = server.gql(SUBMIT, {"i": [{"payload": IRIS}] * n})
    return [j["jobId"] for j in body["data"]["submitJobs"]]


def completed(server: LiveServer, ids: list[str]) -> bool:
    return all(server.gql(GET, {"id": i})["data"]["getJob"]["status"] == "COMPLETED" for i in ids)


def healthz(server: LiveServer) -> dict[str, Any]:
    body: dict[str, Any] = httpx.get(f"{server.url}/healthz", timeout=10, trust_env=False).json()
    return body


def metric(server: LiveServer, name: str) -> float:
    text = httpx.get(f"{server.url}/metrics", timeout=10, trust_env=False).text
    return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith(name))


async def test_every_move_made_in_the_pipeline_process_reaches_the_apis_subscribers(
    server: LiveServer,
) -> None:
    pipeline = server.runtime.pipeline._proc
    assert pipeline is not None and pipeline.pid != os.getpid() and pipeline.poll() is None
    async with realtime_connection(server) as ws:
        await subscribe(
            server, ws, "all", "subscription { onJobsMoved { status jobIds jobs { jobId result } } }"
        )
        ids = submit(server, N)  # fills the batch: it seals, runs and ends in the other process
        seen: dict[str, list[str]] = {i: [] for i in ids}
        while not all("COMPLETED" in s for s in seen.values()):
            message = json.loads(await asyncio.wait_for(ws.recv(), 60))
            if message["type"] != "data":
                continue
            update = message["payload"]["data"]["onJobsMoved"]
            for i in update["jobIds"]:
                seen[i].append(update["status"])
            if update["status"] == "COMPLETED":
                assert all(j["result"].startswith("setosa") for j in update["jobs"])
    assert all(s == ["QUEUED", "BATCHED", "PROCESSING", "COMPLETED"] for s in seen.values()), seen
    # What the pipeline's process did is counted in the API's /metrics and told in /healthz.
    assert metric(server, 'asyncml_records_finished_total{status="COMPLETED"}') == N
    assert metric(server, "asyncml_job_moves_total") == 3 * N  # QUEUED, BATCHED, PROCESSING
    assert (healthz(server)["queueDepth"], healthz(server)["sealInSeconds"]) == (0, None)
    submit(server, 2)  # the child takes the put before the question that follows it on the line
    assert healthz(server)["queueDepth"] == 2


def test_a_killed_pipeline_process_is_started_again_and_loses_no_accepted_job(server: LiveServer) -> None:
    pipeline = server.runtime.pipeline
    first = submit(server, N - 2)  # in the child's buffer only: not enough to seal
    os.kill(pipeline._proc.pid, signal.SIGKILL)
    until(lambda: pipeline.restarts == 1)
    # The new child found the QUEUED jobs in the store; two more fill the batch.
    rest = submit(server, 2)
    until(lambda: completed(server, first + rest))
    assert pipeline.restarts == 1


def test_the_pipeline_process_ends_with_the_api_process_even_when_that_is_killed(
    tmp_path: Path, demo_model: DemoModel
) -> None:
    cli = CliServer(tmp_path / "data", model_url=demo_model.url).start()
    try:
        assert cli.proc is not None
        [child] = children(cli.proc.pid)
        assert b"asyncml.local.pipeline_process" in Path(f"/proc/{child}/cmdline").read_bytes()
        os.kill(cli.proc.pid, signal.SIGKILL)
        cli.proc.wait()
        cli.proc = None
        until(lambda: not running(child), timeout=30)
    finally:
        cli.stop()


def test_without_the_pipeline_process_serve_runs_it_in_its_own(tmp_path: Path, demo_model: DemoModel) -> None:
    cli = CliServer(tmp_path / "data", model_url=demo_model.url)
    cli.args.append("--no-pipeline-process")
    cli.start()
    try:
        assert cli.proc is not None and children(cli.proc.pid) == []
        body = httpx.post(cli.graphql_url, json={"query": SUBMIT, "variables": {"i": [{"payload": IRIS}]}},
                          headers={"x-api-key": cli.api_key}, timeout=10, trust_env=False).json()  # fmt: skip
        assert body["data"]["submitJobs"][0]["jobId"]
    finally:
        cli.stop()


def children(pid: int) -> list[int]:
    tasks = Path(f"/proc/{pid}/task").glob("*/children")
    return [int(p) for path in tasks for p in path.read_text().split()]


def running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"  # exited, waiting for its new parent to reap it
