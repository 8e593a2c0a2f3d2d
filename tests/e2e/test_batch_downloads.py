"""GET /batches/<id>/input|output|errors: a batch's files for download, with the API key only."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from asyncml.transform_emulator.demo_model import DemoModel
from tests.e2e.conftest import LiveServer, e2e_settings, run_server

IRIS = ["5.1,3.5,1.4,0.2", "6.7,3.0,5.2,2.3"]
SUBMIT = "mutation ($i: [SubmitJobInput!]!) { submitJobs(inputs: $i) { jobId } }"
BATCH = "query ($id: ID!) { getJob(jobId: $id) { status batchId } }"


@pytest.fixture(scope="module")
def dead_model_server(
    tmp_path_factory: pytest.TempPathFactory, demo_model: DemoModel
) -> Iterator[LiveServer]:
    settings = e2e_settings(tmp_path_factory.mktemp("dead"), demo_model, model_url="http://127.0.0.1:9")
    for server in run_server(settings):
        server.runtime.runner.ready_timeout_s = 0.5  # nothing listens there: give up on /ping soon
        yield server


def finished_batch(server: LiveServer, payloads: list[str]) -> str:
    """Submit, then wait (generously: the machine may be loaded) until the jobs end; their batch id."""
    ids = [
        j["jobId"]
        for j in server.gql(SUBMIT, {"i": [{"payload": p} for p in payloads]})["data"]["submitJobs"]
    ]
    deadline = time.monotonic() + 60
    while True:
        jobs = [server.gql(BATCH, {"id": i})["data"]["getJob"] for i in ids]
        if all(j["status"] in ("COMPLETED", "FAILED") for j in jobs):
            return str(jobs[0]["batchId"])
        assert time.monotonic() < deadline, jobs
        time.sleep(0.1)


def get(server: LiveServer, path: str, key: str | None = "") -> httpx.Response:
    headers = {} if key is None else {"x-api-key": key or server.api_key}
    return httpx.get(f"{server.url}{path}", headers=headers, timeout=10, trust_env=False)


def test_input_and_output_files_download_with_the_key(server: LiveServer) -> None:
    batch_id = finished_batch(server, IRIS)
    given = get(server, f"/batches/{batch_id}/input")
    assert given.status_code == 200
    assert given.headers["content-disposition"] == f'attachment; filename="{batch_id}.csv"'
    assert [line.split(",", 1)[1] for line in given.text.splitlines()] == IRIS
    out = get(server, f"/batches/{batch_id}/output")
    assert out.status_code == 200 and len(out.text.splitlines()) == 2
    assert out.headers["content-disposition"] == f'attachment; filename="{batch_id}.csv.out"'
    assert get(server, f"/batches/{batch_id}/errors").text == "jobId,error\n"


def test_without_the_key_or_outside_a_batch_nothing_is_served(server: LiveServer) -> None:
    batch_id = finished_batch(server, IRIS[:1])
    assert get(server, f"/batches/{batch_id}/input", key=None).status_code == 401
    assert get(server, f"/batches/{batch_id}/input", key="da2-wrong").status_code == 401
    for path in [f"/batches/{batch_id}/jobs.db", "/batches/..%2F..%2Fjobs.db/input", "/batches/../jobs.db"]:
        answer = get(server, path)
        assert answer.status_code == 404 and "jobs.db" not in answer.headers.get("content-disposition", "")
    unknown = get(server, "/batches/20990101-000000-00000000/input")
    assert unknown.status_code == 404 and "no batch" in unknown.json()["errors"][0]["message"]


def test_the_errors_file_lists_each_failed_job_with_its_reason(dead_model_server: LiveServer) -> None:
    batch_id = finished_batch(dead_model_server, IRIS)
    rows = get(dead_model_server, f"/batches/{batch_id}/errors").text.splitlines()
    assert rows[0] == "jobId,error" and len(rows) == 3
    assert all("did not answer GET /ping" in row for row in rows[1:])
    missing = get(dead_model_server, f"/batches/{batch_id}/output")
    assert missing.status_code == 404 and "has no output file" in missing.json()["errors"][0]["message"]


def test_healthz_names_the_batch_size_and_window(server: LiveServer) -> None:
    health = httpx.get(f"{server.url}/healthz", trust_env=False).json()
    assert (health["batchSize"], health["batchWindowSeconds"]) == (50, 0.2)
