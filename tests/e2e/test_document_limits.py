"""What one request may cost: body size, and depth, aliases, inputs and list items summed over a document."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from starlette.requests import Request

from asyncml.local.api.http_request import Refusal, body_limit, read_body
from asyncml.local.api.limits import MAX_ALIASES, MAX_ITEMS_PER_DOCUMENT
from asyncml.settings import Settings
from tests.e2e.conftest import LiveServer
from tests.e2e.test_clear_errors import the_error

TWO_SUBMITS = """mutation ($a: [SubmitJobInput!]!, $b: [SubmitJobInput!]!) {
  a: submitJobs(inputs: $a) { jobId } b: submitJobs(inputs: $b) { jobId } }"""


def test_the_body_limit_is_500_of_the_largest_inputs() -> None:
    settings = Settings()
    assert body_limit(settings) >= 500 * settings.max_payload_bytes
    assert body_limit(settings) < 600 * settings.max_payload_bytes


def test_a_body_declared_over_the_limit_is_answered_413_before_it_is_read(server: LiveServer) -> None:
    limit = body_limit(server.runtime.settings)
    head = f"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nx-api-key: {server.api_key}\r\n"
    head += f"content-type: application/json\r\ncontent-length: {limit + 1}\r\n\r\n"
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(head.encode())
        answer = sock.recv(65536)
    assert answer.startswith(b"HTTP/1.1 413")
    assert b'"errorType":"PayloadTooLargeException"' in answer and f"limit is {limit}".encode() in answer


async def test_a_streamed_body_is_refused_once_past_the_limit_without_reading_the_rest() -> None:
    chunks_read = 0

    async def receive() -> dict[str, Any]:
        nonlocal chunks_read
        chunks_read += 1
        return {"type": "http.request", "body": b"x" * 1000, "more_body": True}  # a body that never ends

    request = Request({"type": "http", "method": "POST", "headers": []}, receive)
    with pytest.raises(Refusal) as refused:
        await read_body(request, limit=10_000, within=30)
    assert (refused.value.status, refused.value.field) == (413, "body")
    assert chunks_read == 11  # the first chunk past the limit, and not one more


def test_inputs_summed_over_aliases_are_bounded_by_the_per_call_limit(server: LiveServer) -> None:
    before = server.job_count()
    batch = [{"payload": "1,2"}] * 300
    error = the_error(server.post(TWO_SUBMITS, {"a": batch, "b": batch}))
    assert (error["errorType"], error["extensions"]["field"]) == ("ValidationError", "inputs")
    assert "600 inputs" in error["message"] and "limit is 500" in error["message"]
    assert server.job_count() == before


def test_more_aliases_than_the_limit_are_refused_before_anything_runs(server: LiveServer) -> None:
    before = server.job_count()
    fields = " ".join(
        f'a{i}: submitJob(input: {{payload: "1,2"}}) {{ jobId }}' for i in range(MAX_ALIASES + 1)
    )
    error = the_error(server.post(f"mutation {{ {fields} }}"))
    assert error["errorType"] == "ValidationError"
    assert f"{MAX_ALIASES + 1} aliases found. Allowed: {MAX_ALIASES}" in error["message"]
    assert server.job_count() == before


def test_list_items_summed_over_aliases_are_bounded(server: LiveServer) -> None:
    query = "{ a: listJobs(limit: 1000) { items { payload } } b: listJobs(limit: 1) { items { payload } } }"
    error = the_error(server.post(query))
    assert (error["errorType"], error["extensions"]["field"]) == ("ValidationError", "limit")
    assert "1001 items" in error["message"] and f"limit is {MAX_ITEMS_PER_DOCUMENT}" in error["message"]


def test_a_document_deeper_than_the_limit_is_refused(server: LiveServer) -> None:
    deep = "{ listJobs { items { jobId " + "{ a " * 6 + "}" * 6 + " } } }"
    body = server.post(deep).json()
    assert body["data"] is None
    assert any("exceeds maximum operation depth of 6" in e["message"] for e in body["errors"])
    assert all(e["errorType"] == "ValidationError" for e in body["errors"])
