"""Nothing accepted is lost: `asyncml serve` killed with SIGKILL and started again on the same data dir."""

from __future__ import annotations

import http.server
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from asyncml.transform_emulator.demo_model import DemoModel
from tests.browser.live_server import LiveServer

SUBMIT = (
    "mutation($p: String!, $t: String) { submitJob(input: {payload: $p, clientToken: $t}) { jobId status } }"
)
GET = "query($id: ID!) { getJob(jobId: $id) { jobId status result error batchId } }"
IRIS = ["5.1,3.5,1.4,0.2", "6.7,3.0,5.2,2.3", "5.9,3.0,4.2,1.5"]


def submit(server: LiveServer, payload: str, token: str | None = None) -> str:
    data = server.graphql(SUBMIT, p=payload, t=token)
    return str(data["submitJob"]["jobId"])  # type: ignore[index]


def status(server: LiveServer, job_id: str) -> dict[str, str]:
    job: dict[str, str] = server.graphql(GET, id=job_id)["getJob"]  # type: ignore[assignment]
    return job


def wait_status(
    server: LiveServer, ids: list[str], wanted: set[str], timeout: float = 20
) -> list[dict[str, str]]:
    deadline = time.monotonic() + timeout
    while True:
        jobs = [status(server, i) for i in ids]
        if all(j["status"] in wanted for j in jobs):
            return jobs
        assert time.monotonic() < deadline, jobs
        time.sleep(0.1)


def sigkill(server: LiveServer) -> None:
    assert server.proc is not None
    os.kill(server.proc.pid, signal.SIGKILL)
    server.proc.wait()
    server.proc = None


@pytest.fixture
def hanging_model() -> Iterator[str]:
    """A model server that answers /ping but never finishes an invocation: a transform in flight."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200 if self.path == "/ping" else 404)
            self.end_headers()

        def do_POST(self) -> None:
            time.sleep(30)

        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def test_queued_jobs_survive_a_kill_and_complete_after_restart(tmp_path: Path, demo_model: DemoModel) -> None:
    # The longest window the CLI takes: no test step comes near it, so nothing seals before the kill.
    server = LiveServer(tmp_path / "data", batch_size=100, batch_window=300)
    server.args += ["--model-url", demo_model.url]
    server.start()
    try:
        ids = [submit(server, p) for p in IRIS]
        assert {status(server, i)["status"] for i in ids} == {"QUEUED"}
        sigkill(server)
        server.args = ["--batch-size", "100", "--batch-window", "0.2", "--model-url", demo_model.url]
        server.start()
        jobs = wait_status(server, ids, {"COMPLETED"})
        assert [j["result"].split(",")[0] for j in jobs] == ["setosa", "virginica", "versicolor"]
        assert len({j["batchId"] for j in jobs}) == 1
    finally:
        server.stop()


def test_a_transform_killed_in_flight_runs_again_after_restart(
    tmp_path: Path, hanging_model: str, demo_model: DemoModel
) -> None:
    server = LiveServer(tmp_path / "data", batch_size=3, batch_window=0.2)
    server.args += ["--model-url", hanging_model]
    server.start()
    try:
        ids = [submit(server, p) for p in IRIS]
        wait_status(server, ids, {"PROCESSING"})
        sigkill(server)
        server.args[-1] = demo_model.url  # a model that answers, this time
        server.start()
        jobs = wait_status(server, ids, {"COMPLETED"})
        assert all(j["result"] for j in jobs)
    finally:
        server.stop()


def test_client_token_returns_the_same_job_across_a_restart(tmp_path: Path, demo_model: DemoModel) -> None:
    server = LiveServer(tmp_path / "data", batch_size=100, batch_window=0.2)
    server.args += ["--model-url", demo_model.url]
    server.start()
    try:
        first = submit(server, IRIS[0], token="order-42")
        sigkill(server)
        server.start()
        assert submit(server, IRIS[0], token="order-42") == first  # a retry: the same input
        (job,) = wait_status(server, [first], {"COMPLETED"})
        assert job["result"].startswith("setosa")
    finally:
        server.stop()
