"""A real `asyncml serve` app on 127.0.0.1 (uvicorn in a thread), the demo model, and small clients for it."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from asyncml.local.api.server import create_app
from asyncml.local.wiring import build_runtime
from asyncml.settings import Settings
from asyncml.transform_emulator.demo_model import DemoModel, start_demo_model

API_KEY = "da2-e2etestkey0000000000000000"
KA_INTERVAL = 0.2  # fast keep-alives, so a test sees several


@dataclass
class LiveServer:
    port: int
    api_key: str
    runtime: Any  # LocalRuntime, or ApiRuntime (tests/e2e/test_pipeline_process.py)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def realtime(self) -> str:
        return f"ws://127.0.0.1:{self.port}/graphql/realtime"

    def post(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        key: str | None = "",
        operation_name: str | None = None,
    ) -> httpx.Response:
        """POST /graphql; `key=""` means the right key, None no key."""
        headers = {} if key is None else {"x-api-key": key or self.api_key}
        body: dict[str, Any] = {"query": query, "variables": variables or {}}
        if operation_name is not None:
            body["operationName"] = operation_name
        return httpx.post(f"{self.url}/graphql", json=body, headers=headers, timeout=10, trust_env=False)

    def gql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = self.post(query, variables)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def subscribers(self) -> dict[str, int]:
        health = httpx.get(f"{self.url}/healthz", timeout=5, trust_env=False).json()
        counts: dict[str, int] = health["subscribers"]
        return counts

    async def wait_subscribers(self, field: str, at_least: int) -> None:
        deadline = time.monotonic() + 5
        while self.subscribers()[field] < at_least:
            assert time.monotonic() < deadline, f"{field} never reached {at_least} subscribers"
            await asyncio.sleep(0.02)

    async def wait_subscribers_at_most(self, field: str, at_most: int) -> None:
        deadline = time.monotonic() + 10
        while self.subscribers()[field] > at_most:
            assert time.monotonic() < deadline, f"{field} never fell to {at_most} subscribers"
            await asyncio.sleep(0.02)

    def job_count(self) -> int:
        return len(
            self.runtime.ports.store.list_jobs(status=None, batch_id=None, limit=1000, next_token=None).items
        )


@pytest.fixture(scope="session")
def demo_model() -> Iterator[DemoModel]:
    with start_demo_model() as model:
        yield model


def run_server(
    settings: Settings, build: Callable[[Settings], Any] = build_runtime, **app_options: Any
) -> Iterator[LiveServer]:
    """`app_options` go to `create_app` (a lower limit, say); `build` makes the runtime (the whole
    stack in this process by default; `build_api_runtime`: its pipeline in a child process)."""
    runtime = build(settings)
    app = create_app(runtime, API_KEY, ka_interval=KA_INTERVAL, **app_options)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.01)
    try:
        yield LiveServer(sock.getsockname()[1], API_KEY, runtime)
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def e2e_settings(data_dir: Path, model: DemoModel, **changes: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "batch_size": 50,
        "batch_window": 0.2,
        "model_url": model.url,
        # Many protocol tests subscribe to onJobUpdated, the per-job end (off by default): keep it on
        # here; tests/e2e/test_event_defaults.py runs the defaults.
        "each_job_end": True,
        **changes,
    }
    return Settings(**values)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, demo_model: DemoModel) -> Iterator[LiveServer]:
    """The pipeline end to end: jobs are batched and run. Tests on it wait for events, never for a
    window to stay shut."""
    yield from run_server(e2e_settings(tmp_path_factory.mktemp("serve"), demo_model))


# Neither threshold is reachable during a test run: no window fires, no batch fills.
HELD = {"batch_size": 10_000, "batch_window": 1e6}


@pytest.fixture(scope="module")
def held(tmp_path_factory: pytest.TempPathFactory, demo_model: DemoModel) -> Iterator[LiveServer]:
    """A server whose buffer never seals while a test runs: a job a test submits stays QUEUED until
    the test cancels it, however slow the machine (a short window would race the cancel)."""
    yield from run_server(e2e_settings(tmp_path_factory.mktemp("held"), demo_model, **HELD))
