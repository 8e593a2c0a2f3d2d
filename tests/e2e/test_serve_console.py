"""What `asyncml serve` shows at its terminal: settings, a line per batch and transform, a warning
for a model that does not answer, no traceback on Ctrl-C or when a client goes away."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import websockets

from tests.browser.live_server import LiveServer, free_port

SUBMIT = "mutation ($inputs: [SubmitJobInput!]!) { submitJobs(inputs: $inputs) { jobId } }"
GET = "query ($id: ID!) { getJob(jobId: $id) { status } }"


def wait_for(predicate: object, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with LiveServer(tmp_path_factory.mktemp("serve") / "data", batch_size=7, batch_window=0.3) as s:
        yield s


def test_it_prints_its_settings_then_a_line_per_sealed_batch_and_per_finished_transform(
    server: LiveServer,
) -> None:
    log = server.log.read_text()
    assert "batches of up to 7 jobs or 0.3 s, trigger s3, text/csv, model http://127.0.0.1:" in log, log
    assert "(the bundled iris demo)" in log
    assert f"(GraphiQL: {server.graphql_url}#apiKey={server.api_key})" in log  # opens with the key filled in
    jobs = server.graphql(SUBMIT, inputs=[{"payload": "5.1,3.5,1.4,0.2"}] * 3)["submitJobs"]
    assert isinstance(jobs, list)
    last = jobs[-1]["jobId"]

    def finished() -> bool:
        return server.graphql(GET, id=last)["getJob"] == {"status": "COMPLETED"}

    wait_for(finished, "the jobs never completed")
    wait_for(lambda: "completed" in server.log.read_text().split("sealed")[-1], "no transform line")
    log = server.log.read_text()
    sealed = re.search(r"asyncml: batch (\S+) sealed: 3 job\(s\)", log)
    assert sealed, log
    done = rf"transform asyncml-{sealed.group(1)} completed in [\d.]+ s: 1 batch\(es\), 3 completed, 0 failed"
    assert re.search(done, log), log


def raw_upgrade_then_close(port: int, path: str, protocol: str) -> None:
    """A client that asks for a WebSocket and leaves before reading the answer."""

    async def go() -> None:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        key = base64.b64encode(os.urandom(16)).decode()
        head = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
        head += f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
        writer.write(f"{head}Sec-WebSocket-Protocol: {protocol}\r\n\r\n".encode())
        await writer.drain()
        writer.close()

    asyncio.run(go())


@pytest.mark.parametrize(
    ("path", "protocol", "init"),
    [
        ("/graphql/realtime", "graphql-ws", {"type": "connection_init"}),
        ("/graphql", "graphql-transport-ws", {"type": "connection_init", "payload": {}}),
        ("/graphql", "graphql-ws", {"type": "connection_init", "payload": {}}),
    ],
)
def test_a_client_that_closes_right_after_connecting_leaves_no_error_in_the_log(
    server: LiveServer, path: str, protocol: str, init: dict[str, object]
) -> None:
    before = len(server.log.read_text())
    url = f"ws://127.0.0.1:{server.port}{path}"

    async def clients() -> None:
        async with websockets.connect(url, subprotocols=[protocol]):  # type: ignore[list-item]
            pass  # closes at once
        ws = await websockets.connect(url, subprotocols=[protocol])  # type: ignore[list-item]
        init["payload"] = {"x-api-key": server.api_key} if "payload" in init else None
        await ws.send(json.dumps({k: v for k, v in init.items() if v is not None}))
        ws.transport.abort()  # gone without a close frame
        await asyncio.sleep(0.5)

    for _ in range(3):
        raw_upgrade_then_close(server.port, path, protocol)
        asyncio.run(clients())
    httpx.get(f"{server.base_url}/healthz", timeout=10)  # the server still answers
    time.sleep(1)  # give a late error the chance to reach the log
    after = server.log.read_text()[before:]
    for sign in ("Traceback", "Exception in ASGI", "Need to call", "ERROR"):
        assert sign not in after, after


def test_a_model_url_that_does_not_answer_ping_is_warned_about_at_start(tmp_path: Path) -> None:
    server = LiveServer(tmp_path / "data")
    server.args += ["--model-url", f"http://127.0.0.1:{free_port()}"]
    with server:  # the start is not held up by the dead model: /healthz answers
        wait_for(lambda: "does not answer GET /ping" in server.log.read_text(), "no warning", timeout=30)
        line = next(x for x in server.log.read_text().splitlines() if "GET /ping" in x)
        assert "ConnectError" in line and "batches fail after 60 s" in line, line


def test_ctrl_c_stops_it_with_no_traceback(tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "serve.log"
    cmd = [
        sys.executable,
        "-m",
        "asyncml.cli",
        "serve",
        "--port",
        str(port),
        "--data-dir",
        str(tmp_path / "d"),
    ]
    with log.open("wb") as out:
        # Its own process group, as a terminal gives it: Ctrl-C signals the whole group.
        proc = subprocess.Popen(cmd, stdout=out, stderr=out, start_new_session=True)
    try:
        wait_for(lambda: "batches of up to" in log.read_text(), f"it did not start:\n{log.read_text()}")
        model = re.search(r"model (http://127\.0\.0\.1:\d+)", log.read_text())
        assert model
        os.killpg(proc.pid, signal.SIGINT)
        code = proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    output = log.read_text()
    assert code in (0, 130), output
    assert "Traceback" not in output and "KeyboardInterrupt" not in output, output
    with pytest.raises(httpx.TransportError):  # and the demo model went with it
        httpx.get(f"{model.group(1)}/ping", timeout=5, trust_env=False)


def test_a_restart_says_what_it_picked_up_from_the_last_run(tmp_path: Path) -> None:
    server = LiveServer(tmp_path / "data", batch_size=10_000, batch_window=300)  # nothing seals meanwhile
    server.args += ["--model-url", f"http://127.0.0.1:{free_port()}"]  # no model needed: a faster start
    with server:
        server.graphql(SUBMIT, inputs=[{"payload": "5.1,3.5,1.4,0.2"}] * 2)
        assert "picked up" not in server.log.read_text()
        server.stop()
        server.start()
        log = server.log.read_text()
    assert "picked up from the last run: 2 queued job(s) buffered again" in log, log
