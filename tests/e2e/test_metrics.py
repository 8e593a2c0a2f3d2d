"""GET /metrics: Prometheus' text format, the figures a dashboard charts, readable without the key."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from websockets.asyncio.client import connect

from asyncml.transform_emulator.demo_model import DemoModel
from tests.e2e.conftest import LiveServer, e2e_settings, run_server

SUBMIT = "mutation ($inputs: [SubmitJobInput!]!) { submitJobs(inputs: $inputs) { jobId } }"
GET = "query ($id: ID!) { getJob(jobId: $id) { status } }"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, demo_model: DemoModel) -> Iterator[LiveServer]:
    yield from run_server(e2e_settings(tmp_path_factory.mktemp("metrics"), demo_model))


@pytest.fixture(scope="module")
def idle(tmp_path_factory: pytest.TempPathFactory, demo_model: DemoModel) -> Iterator[LiveServer]:
    """A server whose window never closes during a test: what is submitted stays in the queue."""
    settings = e2e_settings(tmp_path_factory.mktemp("idle"), demo_model, batch_size=10_000, batch_window=300)
    yield from run_server(settings)


@pytest.fixture(scope="module")
def broken(tmp_path_factory: pytest.TempPathFactory, demo_model: DemoModel) -> Iterator[LiveServer]:
    """A server whose model never answers: every record it is given ends FAILED."""
    settings = e2e_settings(tmp_path_factory.mktemp("broken"), demo_model, model_url="http://127.0.0.1:9")
    for live in run_server(settings):
        live.runtime.runner.ready_timeout_s = 0.5  # fail fast: nothing listens there
        yield live


def scrape(server: LiveServer) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample by (name, labels)."""
    answer = httpx.get(f"{server.url}/metrics", timeout=10, trust_env=False)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(answer.text)
        for s in family.samples
    }


def submit_and_wait(server: LiveServer, payloads: list[str], status: str) -> None:
    body = server.gql(SUBMIT, {"inputs": [{"payload": p} for p in payloads]})
    ids = [j["jobId"] for j in body["data"]["submitJobs"]]
    deadline = time.monotonic() + 60
    while any(server.gql(GET, {"id": i})["data"]["getJob"]["status"] != status for i in ids):
        assert time.monotonic() < deadline, f"the jobs never reached {status}"
        time.sleep(0.05)


def test_metrics_answer_without_the_api_key_and_show_no_job_data(server: LiveServer) -> None:
    submit_and_wait(server, ["5.1,3.5,1.4,0.2"], "COMPLETED")
    text = httpx.get(f"{server.url}/metrics", timeout=10, trust_env=False).text
    assert "asyncml_jobs{" in text
    assert server.api_key not in text and "5.1,3.5" not in text


def test_finished_jobs_show_in_counts_batch_sizes_and_latencies(server: LiveServer) -> None:
    before = scrape(server)
    submit_and_wait(server, ["5.1,3.5,1.4,0.2", "6.7,3.0,5.2,2.3", "5.9,3.0,4.2,1.5"], "COMPLETED")
    after = scrape(server)

    def grew(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0.0) - before.get(key, 0.0)

    assert grew("asyncml_jobs", status="COMPLETED") == 3
    assert after[("asyncml_jobs", (("status", "COMPLETED"),))] == server.job_count()  # the store's truth
    assert grew("asyncml_batch_size_count") == 1 and grew("asyncml_batch_size_sum") == 3
    assert grew("asyncml_batch_duration_seconds_count", status="COMPLETED") == 1
    assert grew("asyncml_job_latency_seconds_count", status="COMPLETED") == 3
    assert grew("asyncml_job_latency_seconds_sum", status="COMPLETED") > 0
    assert grew("asyncml_records_finished_total", status="COMPLETED") == 3
    assert grew("asyncml_model_errors_total") == 0
    for status in ("QUEUED", "BATCHED", "PROCESSING"):  # each job's group moves, counted per job
        assert grew("asyncml_job_moves_total", status=status) == 3


def test_records_the_model_fails_count_as_model_errors(broken: LiveServer) -> None:
    submit_and_wait(broken, ["5.1,3.5,1.4,0.2", "6.7,3.0,5.2,2.3"], "FAILED")
    figures = scrape(broken)
    failed = (("status", "FAILED"),)
    assert figures[("asyncml_model_errors_total", ())] == 2
    assert figures[("asyncml_jobs", failed)] == 2
    assert figures[("asyncml_records_finished_total", failed)] == 2
    assert figures[("asyncml_batch_duration_seconds_count", failed)] == 1


def test_queue_depth_and_queued_jobs_show_what_waits_for_the_batcher(idle: LiveServer) -> None:
    idle.gql(SUBMIT, {"inputs": [{"payload": "5.1,3.5,1.4,0.2"}] * 4})
    figures = scrape(idle)
    assert figures[("asyncml_queue_depth", ())] == 4
    assert figures[("asyncml_jobs", (("status", "QUEUED"),))] == 4


async def test_an_open_subscription_counts_as_a_subscriber(server: LiveServer, tmp_path: Path) -> None:
    def subscribers() -> float:
        return scrape(server)[("asyncml_subscribers", (("field", "onJobUpdated"),))]

    assert subscribers() == 0
    url = f"ws://127.0.0.1:{server.port}/graphql"
    async with connect(url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps({"type": "connection_init", "payload": {"x-api-key": server.api_key}}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        query = "subscription { onJobUpdated { jobId } }"
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": query}}))
        await server.wait_subscribers("onJobUpdated", 1)
        assert await asyncio.to_thread(subscribers) == 1
