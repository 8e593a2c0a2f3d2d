"""The model child is supervised: reaped and restarted when it dies, shown in /healthz, batches retried."""

from __future__ import annotations

import os
import signal
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from asyncml.local.emulator_runner import MODEL_DIED_TWICE
from asyncml.settings import Settings
from tests.e2e.conftest import LiveServer, run_server

# Dies (os._exit) on a record "die-once" the first time it sees one, on "die-always" every time.
ENTRY = """
import os
from pathlib import Path

def model_fn(model_dir):
    return Path(model_dir)

def transform_fn(model, body, content_type, accept):
    lines = body.splitlines()
    marker = model / "died-once"
    if "die-always" in lines or ("die-once" in lines and not marker.exists()):
        marker.touch()
        os._exit(1)
    return "".join(f"ok {line}\\n" for line in lines)
"""
SUBMIT = "mutation($p: String!) { submitJob(input: {payload: $p}) { jobId } }"
GET = "query($id: ID!) { getJob(jobId: $id) { status result error } }"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    (tmp_path / "model").mkdir()
    (tmp_path / "inference.py").write_text(textwrap.dedent(ENTRY))
    settings = Settings(
        data_dir=tmp_path / "data",
        batch_size=1,  # each job its own batch: which record kills the model is never in doubt
        batch_window=0.2,
        entry_point=tmp_path / "inference.py",
        model_dir=tmp_path / "model",
    )
    yield from run_server(settings)


def until(what: Callable[[], Any], timeout: float = 60) -> Any:
    """Poll until `what()` is truthy; the deadline only guards against a hang."""
    deadline = time.monotonic() + timeout
    while not (found := what()):
        assert time.monotonic() < deadline, "gave up waiting"
        time.sleep(0.1)
    return found


def settled(server: LiveServer, payload: str) -> dict[str, str]:
    job_id = server.gql(SUBMIT, {"p": payload})["data"]["submitJob"]["jobId"]

    def done() -> dict[str, str] | None:
        job: dict[str, str] = server.gql(GET, {"id": job_id})["data"]["getJob"]
        return job if job["status"] in ("COMPLETED", "FAILED") else None

    found: dict[str, str] = until(done)
    return found


def healthz(server: LiveServer) -> httpx.Response:
    return httpx.get(f"{server.url}/healthz", timeout=5, trust_env=False)


def child_pid(server: LiveServer) -> int:
    model: Any = server.runtime.model
    return int(model._child.process.pid)


def test_a_killed_model_is_reaped_reported_down_and_restarted(server: LiveServer, tmp_path: Path) -> None:
    assert healthz(server).json()["model"]["status"] == "up"
    first = child_pid(server)
    # GIVEN an entry point that cannot load any more, so the restart keeps failing for a while
    program = tmp_path / "inference.py"
    source = program.read_text()
    program.write_text("raise ImportError('being edited')\n")
    os.kill(first, signal.SIGKILL)
    # THEN /healthz answers 503 and says why, and the dead child is no zombie
    down = until(lambda: (r := healthz(server)).status_code == 503 and r)
    assert down.json()["status"] == "degraded" and down.json()["model"]["status"] == "down"
    until(lambda: "could not start again" in (healthz(server).json()["model"]["lastExit"] or ""))
    assert not Path(f"/proc/{first}").exists()
    # WHEN a job comes in meanwhile and the entry point is fixed
    job_id = server.gql(SUBMIT, {"p": "hello"})["data"]["submitJob"]["jobId"]
    program.write_text(source)
    # THEN the model comes back on a new process and the job waited for it
    up = until(lambda: (r := healthz(server)).status_code == 200 and r)
    assert up.json()["model"] == {"status": "up", "restarts": 1, "lastExit": up.json()["model"]["lastExit"]}
    assert child_pid(server) != first
    job = until(
        lambda: (j := server.gql(GET, {"id": job_id})["data"]["getJob"])["status"] == "COMPLETED" and j
    )
    assert job["result"] == "ok hello"


def test_a_batch_in_flight_when_the_model_died_is_run_once_more(server: LiveServer) -> None:
    job = settled(server, "die-once")
    assert job["status"] == "COMPLETED" and job["result"] == "ok die-once", job
    assert healthz(server).json()["model"]["restarts"] == 1


def test_a_batch_that_kills_the_model_twice_fails_with_a_reason(server: LiveServer) -> None:
    job = settled(server, "die-always")
    assert job["status"] == "FAILED"
    assert job["error"].startswith(MODEL_DIED_TWICE), job
    # the model is back for the next job
    assert settled(server, "fine")["result"] == "ok fine"
