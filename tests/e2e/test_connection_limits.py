"""A real `asyncml serve` closes sockets that stall, and caps connections below its file limit."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from websockets.sync.client import connect
from websockets.typing import Subprotocol

from asyncml.local.api.connections import FILES_IN_RESERVE

KEY = "da2-connectionlimits000000000"
REQUEST_TIMEOUT = 1.0
FILE_LIMIT = 256
DEADLINE = 30.0  # generous: only "closed at all, and not never" is asserted


@dataclass
class Served:
    port: int

    def raw(self) -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=DEADLINE)
        return sock

    def healthz(self) -> httpx.Response:
        return httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=10, trust_env=False)


# `asyncml serve` under a file limit of FILE_LIMIT (set in the child, before the server starts).
_SERVE = (
    "import resource, runpy, sys; "
    f"resource.setrlimit(resource.RLIMIT_NOFILE, ({FILE_LIMIT}, {FILE_LIMIT})); "
    "sys.argv = ['asyncml', *sys.argv[1:]]; runpy.run_module('asyncml.cli', run_name='__main__')"
)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    data = tmp_path_factory.mktemp("limits")
    env = {**os.environ, "ASYNCML_REQUEST_TIMEOUT": str(REQUEST_TIMEOUT)}
    cmd = [sys.executable, "-c", _SERVE, "serve", "--port", str(port), "--data-dir", str(data / "d"),
           "--api-key", KEY]  # fmt: skip
    log_path = data / "serve.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    server = Served(port)
    deadline = time.monotonic() + 30
    while True:
        assert proc.poll() is None and time.monotonic() < deadline, log_path.read_text()
        try:
            if server.healthz().status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.1)
    try:
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends before it closes the socket (a timeout fails the test)."""
    got = b""
    while chunk := sock.recv(65536):
        got += chunk
    return got


@pytest.mark.parametrize(
    "sent",
    [b"", b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "],
    ids=["nothing", "half-a-header"],
)
def test_a_socket_that_stalls_before_its_headers_end_is_closed(served: Served, sent: bytes) -> None:
    with served.raw() as sock:
        sock.sendall(sent)
        assert read_until_closed(sock) == b""  # closed by the server, within DEADLINE
    assert served.healthz().status_code == 200


def test_a_body_that_stalls_is_answered_408_and_closed(served: Served) -> None:
    head = (
        f"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nx-api-key: {KEY}\r\ncontent-type: application/json\r\n"
    )
    with served.raw() as sock:
        sock.sendall(head.encode() + b'content-length: 100\r\n\r\n{"query": ')
        answer = read_until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 408")
    assert b'"errorType":"MalformedHttpRequestException"' in answer and b"to arrive" in answer


def test_connections_past_the_cap_get_503_not_a_dead_server(served: Served) -> None:
    # Open WebSockets count as connections (and stay open: they are not idle HTTP).
    url = f"ws://127.0.0.1:{served.port}/graphql/realtime"
    with contextlib.ExitStack() as held:
        for _ in range(FILE_LIMIT - FILES_IN_RESERVE):
            held.enter_context(
                connect(url, subprotocols=[Subprotocol("graphql-ws")], additional_headers={"x-api-key": KEY})
            )
        with served.raw() as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            assert sock.recv(65536).startswith(b"HTTP/1.1 503")
    deadline = time.monotonic() + DEADLINE  # the server sees the WebSockets go, then answers again
    while (status := served.healthz().status_code) != 200 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert status == 200
