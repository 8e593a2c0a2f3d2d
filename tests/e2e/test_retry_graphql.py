"""retryJobs over HTTP on a real local server: a batch the model failed runs again and completes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from asyncml.settings import Settings
from tests.e2e.conftest import LiveServer, run_server
from tests.transform_emulator.model_fakes import Script, model_url, per_line

__all__ = ["model_url"]  # a fixture, imported for pytest
FIELDS = "jobId status attempt result error batchId"
SUBMIT = f"mutation($inputs: [SubmitJobInput!]!) {{ submitJobs(inputs: $inputs) {{ {FIELDS} }} }}"
RETRY = f"mutation($jobIds: [ID!]!) {{ retryJobs(jobIds: $jobIds) {{ {FIELDS} }} }}"
GET = f"query($jobId: ID!) {{ getJob(jobId: $jobId) {{ {FIELDS} }} }}"


@pytest.fixture
def script() -> Script:
    # Down for the first try and its 3 retries, so the first batch fails whole; fine afterwards.
    return Script(fail_first=4, respond=per_line(lambda line: "ok"))


@pytest.fixture
def server(tmp_path: Path, model_url: str) -> Iterator[LiveServer]:
    yield from run_server(Settings(data_dir=tmp_path, batch_size=2, batch_window=0.2, model_url=model_url))


def settled(server: LiveServer, ids: list[str]) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 60
    while True:
        jobs = [server.gql(GET, {"jobId": i})["data"]["getJob"] for i in ids]
        if all(j["status"] in ("COMPLETED", "FAILED") for j in jobs):
            return jobs
        assert time.monotonic() < deadline, f"jobs never settled: {jobs}"
        time.sleep(0.05)


def test_retry_jobs_runs_failed_jobs_again_as_attempt_2(server: LiveServer, script: Script) -> None:
    jobs = server.gql(SUBMIT, {"inputs": [{"payload": "1,2"}, {"payload": "3,4"}]})["data"]["submitJobs"]
    ids = [j["jobId"] for j in jobs]
    first = settled(server, ids)
    assert [(j["status"], j["attempt"]) for j in first] == [("FAILED", 1)] * 2
    assert "Bad HTTP status received from algorithm: 500" in first[0]["error"]
    retried = server.gql(RETRY, {"jobIds": ids})["data"]["retryJobs"]
    assert [(j["jobId"], j["status"], j["attempt"], j["error"]) for j in retried] == [
        (i, "QUEUED", 2, None) for i in ids
    ]
    second = settled(server, ids)
    assert [(j["status"], j["attempt"], j["result"], j["error"]) for j in second] == [
        ("COMPLETED", 2, "ok", None)
    ] * 2
    assert second[0]["batchId"] != first[0]["batchId"]


def test_retrying_a_completed_job_is_a_conflict_naming_it(server: LiveServer, script: Script) -> None:
    script.fail_first = 0
    job = server.gql(SUBMIT, {"inputs": [{"payload": "1,2"}]})["data"]["submitJobs"][0]
    assert settled(server, [job["jobId"]])[0]["status"] == "COMPLETED"
    (error,) = server.post(RETRY, {"jobIds": [job["jobId"]]}).json()["errors"]
    assert error["errorType"] == "Conflict"
    assert error["message"] == f"jobIds {job['jobId']!r} are COMPLETED; only a FAILED job can be retried"
