"""Every bad request gets a GraphQL error with an errorType and the field at fault, and no traceback."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.typing import Subprotocol

from tests.e2e.conftest import LiveServer
from tests.e2e.test_graphql_http import SUBMIT, SUBMIT_MANY

LIST = "query ($t: String) { listJobs(nextToken: $t) { items { jobId } } }"


class Tracebacks(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.seen: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info or "Traceback" in record.getMessage():
            self.seen.append(self.format(record))


@pytest.fixture
def tracebacks() -> Iterator[list[str]]:
    """Tracebacks logged by the server while the test runs (uvicorn's loggers do not propagate)."""
    handler = Tracebacks()
    loggers = [logging.getLogger(name) for name in ("", "uvicorn", "uvicorn.error", "strawberry")]
    for logger in loggers:
        logger.addHandler(handler)
    yield handler.seen
    for logger in loggers:
        logger.removeHandler(handler)


def post_raw(server: LiveServer, body: str) -> httpx.Response:
    headers = {"x-api-key": server.api_key, "content-type": "application/json"}
    return httpx.post(f"{server.url}/graphql", content=body, headers=headers, timeout=30, trust_env=False)


def the_error(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    assert body.get("data") is None, body
    [error] = body["errors"]
    assert error["errorType"] == error["extensions"]["errorType"]
    return dict(error)


def submit_body(**fields: str) -> str:
    return json.dumps({"query": SUBMIT, "variables": {"input": {"payload": "1,2", **fields}}})


DEEP = "[" * 5000 + "]" * 5000
TOKEN_1E30 = base64.urlsafe_b64encode(b'{"s":1e30}').decode()

CASES: dict[str, tuple[str, int, str, str]] = {
    # name: (body, HTTP status, errorType, field)
    "surrogate-payload": (submit_body(payload="1,\ud800"), 200, "ValidationError", "input.payload"),
    "surrogate-metadata": (submit_body(metadata='"\ud800"'), 200, "ValidationError", "input.metadata"),
    "surrogate-token": (submit_body(clientToken="t\udfff"), 200, "ValidationError", "input.clientToken"),
    "deep-metadata": (submit_body(metadata=DEEP), 200, "ValidationError", "input.metadata"),
    "next-token-1e30": (
        json.dumps({"query": LIST, "variables": {"t": TOKEN_1E30}}),
        200,
        "ValidationError",
        "nextToken",
    ),
    "empty-query": ('{"query": ""}', 400, "MalformedHttpRequestException", "query"),
    "unknown-operation": (
        '{"query": "query A { listJobs { nextToken } }", "operationName": "B"}',
        400,
        "ValidationError",
        "operationName",
    ),
    "integer-operation": (
        '{"query": "{ listJobs { nextToken } }", "operationName": 3}',
        400,
        "MalformedHttpRequestException",
        "operationName",
    ),
    "two-operations": (
        '{"query": "query A { listJobs { nextToken } } query B { listBatches { nextToken } }"}',
        400,
        "ValidationError",
        "operationName",
    ),
    "subscription-over-post": (
        '{"query": "subscription { onJobUpdated { jobId } }"}',
        400,
        "UnsupportedOperation",
        "query",
    ),
    "deeply-nested-body": (
        '{"query": "{ listJobs { nextToken } }", "variables": {"a": ' + "[" * 100_000 + "]" * 100_000 + "}}",
        400,
        "MalformedHttpRequestException",
        "body",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_bad_request_names_its_field_and_logs_no_traceback(
    server: LiveServer, tracebacks: list[str], case: str
) -> None:
    body, status, error_type, field = CASES[case]
    before = server.job_count()
    response = post_raw(server, body)
    assert response.status_code == status, response.text
    error = the_error(response)
    assert (error["errorType"], error["extensions"]["field"]) == (error_type, field)
    assert field.rsplit(".", 1)[-1] in error["message"]
    assert server.job_count() == before
    assert tracebacks == []


def test_a_full_disk_on_submit_is_service_unavailable_and_stores_nothing(
    server: LiveServer, tracebacks: list[str]
) -> None:
    db = server.runtime.ports.store._db  # type: ignore[attr-defined]
    pages = db.execute("PRAGMA page_count").fetchone()[0]
    before = server.job_count()
    db.execute(f"PRAGMA max_page_count = {pages}")  # SQLite then answers SQLITE_FULL, as on a full disk
    try:
        response = post_raw(server, submit_body(payload="1," + "2" * 100_000))
    finally:
        db.execute("PRAGMA max_page_count = 1073741823")
    error = the_error(response)
    assert (error["errorType"], error["extensions"]["field"]) == ("ServiceUnavailable", "input")
    assert "database or disk is full" in error["message"] and "nothing was stored" in error["message"]
    assert server.job_count() == before
    assert tracebacks == []


def test_a_client_token_reused_with_another_payload_is_a_conflict(
    server: LiveServer, tracebacks: list[str]
) -> None:
    first = server.gql(SUBMIT, {"input": {"payload": "1,2", "clientToken": "conflict-1"}})
    job_id = first["data"]["submitJob"]["jobId"]
    again = server.gql(SUBMIT, {"input": {"payload": "1,2", "clientToken": "conflict-1"}})
    assert again["data"]["submitJob"]["jobId"] == job_id  # a true retry is answered with the first job
    other = the_error(server.post(SUBMIT, {"input": {"payload": "3,4", "clientToken": "conflict-1"}}))
    assert (other["errorType"], other["extensions"]["field"]) == ("Conflict", "input.clientToken")
    twice = [{"payload": "1,2", "clientToken": "conflict-2"}, {"payload": "5,6", "clientToken": "conflict-2"}]
    before = server.job_count()
    error = the_error(server.post(SUBMIT_MANY, {"inputs": twice}))
    assert (error["errorType"], error["extensions"]["field"]) == ("Conflict", "inputs[1].clientToken")
    assert server.job_count() == before
    assert tracebacks == []


async def test_a_query_over_graphql_ws_is_refused_clearly(server: LiveServer, tracebacks: list[str]) -> None:
    url = f"ws://127.0.0.1:{server.port}/graphql"
    async with connect(url, subprotocols=[Subprotocol("graphql-ws")]) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {"x-api-key": server.api_key}}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        await ws.send(
            json.dumps({"id": "q", "type": "start", "payload": {"query": "{ listJobs { nextToken } }"}})
        )
        while (message := json.loads(await asyncio.wait_for(ws.recv(), 5)))["type"] == "ka":
            pass
    assert message["type"] == "error" and message["id"] == "q"
    assert message["payload"]["errorType"] == "UnsupportedOperation"
    assert "query" in message["payload"]["message"]
    assert tracebacks == []


async def test_clients_that_hang_up_mid_way_log_no_traceback(
    server: LiveServer, tracebacks: list[str]
) -> None:
    headers = {"x-api-key": server.api_key}
    for path, protocol in [
        ("/graphql/realtime", "graphql-ws"),
        ("/graphql", "graphql-transport-ws"),
        ("/graphql", "graphql-ws"),
    ]:
        ws = await connect(
            f"ws://127.0.0.1:{server.port}{path}",
            subprotocols=[Subprotocol(protocol)],
            additional_headers=headers,
        )
        await ws.send(json.dumps({"type": "connection_init", "payload": headers}))
        await ws.recv()
        ws.transport.abort()  # no close frame: the way a killed client goes
    with socket.create_connection(("127.0.0.1", server.port)) as raw:  # a body cut off half-way
        head = f"POST /graphql HTTP/1.1\r\nhost: x\r\nx-api-key: {server.api_key}\r\n"
        raw.sendall(head.encode() + b"content-type: application/json\r\ncontent-length: 1000\r\n\r\n{")
    server.gql("{ listJobs { nextToken } }")  # the server is still answering
    await asyncio.sleep(0.5)  # let the server notice the hang-ups before the log is read
    assert tracebacks == []
