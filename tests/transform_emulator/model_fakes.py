"""Small real model servers on 127.0.0.1 for the Batch Transform emulator's tests, and request helpers."""

from __future__ import annotations

import copy
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from asyncml.transform_emulator.demo_model import DemoModel, start_demo_model
from asyncml.transform_emulator.job import run_transform_job


@dataclass
class Script:
    """What a test model server does; it records what it was asked."""

    respond: Callable[[bytes], bytes] = lambda body: body
    fail_first: int = 0  # answer 500 to the first N invocations
    fail_when: bytes | None = None  # answer 500 to every body holding this
    sleep_s: Callable[[bytes], float] = lambda body: 0.0
    ping_failures: int = 0  # answer 503 to the first N pings (-1: forever)
    execution_parameters: dict[str, Any] | None = None  # None: 404, like a server without the endpoint
    bodies: list[bytes] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    pings: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body in one write: otherwise Nagle plus delayed ACKs add 40 ms to every call.
    wbufsize = 1 << 16
    disable_nagle_algorithm = True

    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, status: int, body: bytes = b"") -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        script = self.server.script  # type: ignore[attr-defined]
        if self.path == "/ping":
            script.pings += 1
            if script.ping_failures:
                script.ping_failures -= script.ping_failures > 0
                return self._send(503)
            return self._send(200)
        if self.path == "/execution-parameters" and script.execution_parameters is not None:
            return self._send(200, json.dumps(script.execution_parameters).encode())
        return self._send(404)

    def do_POST(self) -> None:
        script: Script = self.server.script  # type: ignore[attr-defined]
        body = self.rfile.read(int(self.headers["Content-Length"]))
        with script.lock:
            script.bodies.append(body)
            script.headers.append(dict(self.headers))
            script.in_flight += 1
            script.max_in_flight = max(script.max_in_flight, script.in_flight)
            failing = script.fail_first > 0 or (script.fail_when is not None and script.fail_when in body)
            script.fail_first -= script.fail_first > 0
        try:
            time.sleep(script.sleep_s(body))
            if failing:
                self._send(500, b"boom")
            else:
                self._send(200, script.respond(body))
        finally:
            with script.lock:
                script.in_flight -= 1


def per_line(fn: Callable[[str], str]) -> Callable[[bytes], bytes]:
    """A model answering one output line per input line."""
    return lambda body: "".join(fn(line) + "\n" for line in body.decode().splitlines()).encode()


BASE: dict[str, Any] = {
    "TransformJobName": "t-1",
    "ModelName": "m",
    "TransformInput": {
        "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://b/in/"}},
        "ContentType": "text/csv",
        "SplitType": "Line",
    },
    "TransformOutput": {"S3OutputPath": "s3://b/out/", "Accept": "text/csv", "AssembleWith": "Line"},
    "TransformResources": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1},
}


def job(**top: Any) -> dict[str, Any]:
    request = copy.deepcopy(BASE)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(request.get(key), dict):
            request[key].update(value)
        else:
            request[key] = value
    return request


def put(root: Path, key: str, data: str | bytes) -> None:
    path = root / "b" / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)


def outputs(root: Path) -> dict[str, str]:
    base = root / "b" / "out"
    return {p.relative_to(base).as_posix(): p.read_text() for p in sorted(base.rglob("*")) if p.is_file()}


async def run(request: dict[str, Any], root: Path, url: str, **kw: Any) -> dict[str, Any]:
    return await run_transform_job(request, bucket_root=root, model_url=url, **kw)


@pytest.fixture
def script() -> Script:
    return Script()


@pytest.fixture
def model_url(script: Script) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.script = script  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def demo_model() -> Iterator[DemoModel]:
    with start_demo_model() as model:
        yield model
