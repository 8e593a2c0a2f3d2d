"""POST /graphql over real HTTP: the API key, and every bad input refused clearly with nothing stored."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from asyncml.transform_emulator.demo_model import DemoModel
from tests.e2e.conftest import LiveServer, e2e_settings, run_server

SUBMIT = "mutation ($input: SubmitJobInput!) { submitJob(input: $input) { jobId status payload metadata } }"
SUBMIT_MANY = "mutation ($inputs: [SubmitJobInput!]!) { submitJobs(inputs: $inputs) { jobId } }"
CANCEL = "mutation ($id: ID!) { cancelJob(jobId: $id) { jobId status } }"
LIMIT = 256 * 1024


def only_error(body: dict[str, Any]) -> dict[str, Any]:
    assert body.get("data") is None, body
    [error] = body["errors"]
    # AppSync puts errorType beside the message; generic GraphQL clients read extensions.
    assert error["errorType"] == error["extensions"]["errorType"]
    return dict(error)


def test_submit_job_returns_a_queued_job_with_its_metadata(server: LiveServer) -> None:
    body = server.gql(SUBMIT, {"input": {"payload": "5.1,3.5,1.4,0.2", "metadata": '{"user": "ana"}'}})
    job = body["data"]["submitJob"]
    assert job["status"] == "QUEUED"
    assert job["payload"] == "5.1,3.5,1.4,0.2"
    assert job["metadata"] == '{"user": "ana"}'  # AWSJSON is a JSON string both ways


@pytest.mark.parametrize(
    ("payload", "says"),
    [
        ("1,2\n3,4", ["input.payload", "newline"]),
        ("1,2\r3,4", ["input.payload", "carriage return"]),
        ("1,2\x003,4", ["input.payload", "NUL"]),
        ("", ["input.payload", "empty"]),
        ("   ", ["input.payload", "empty"]),
        ("x" * (LIMIT + 1), ["input.payload", str(LIMIT + 1), f"limit is {LIMIT}"]),
        ('1,"2', ["input.payload", "not a CSV record"]),
    ],
    ids=["newline", "cr", "nul", "empty", "blank", "over-256KiB", "not-csv"],
)
def test_a_bad_payload_is_refused_naming_field_and_limit_and_nothing_is_stored(
    server: LiveServer, payload: str, says: list[str]
) -> None:
    before = server.job_count()
    error = only_error(server.post(SUBMIT, {"input": {"payload": payload}}).json())
    assert error["errorType"] == "ValidationError"
    for words in says:
        assert words in error["message"]
    assert server.job_count() == before


def test_metadata_that_is_not_json_is_refused(server: LiveServer) -> None:
    before = server.job_count()
    error = only_error(server.post(SUBMIT, {"input": {"payload": "1,2", "metadata": "{not json"}}).json())
    assert error["errorType"] == "ValidationError"
    assert "input.metadata" in error["message"] and "not valid JSON" in error["message"]
    assert server.job_count() == before


def test_more_than_500_inputs_are_refused_and_none_stored(server: LiveServer) -> None:
    before = server.job_count()
    inputs = [{"payload": "1,2"}] * 501
    error = only_error(server.post(SUBMIT_MANY, {"inputs": inputs}).json())
    assert error["errorType"] == "ValidationError"
    assert "inputs has 501 items" in error["message"] and "limit is 500" in error["message"]
    assert server.job_count() == before


def test_one_bad_input_among_many_stores_none_of_them(server: LiveServer) -> None:
    before = server.job_count()
    error = only_error(server.post(SUBMIT_MANY, {"inputs": [{"payload": "1,2"}, {"payload": "a\nb"}]}).json())
    assert "inputs[1].payload" in error["message"]
    assert server.job_count() == before


def test_unknown_job_is_null_for_get_and_not_found_for_cancel(server: LiveServer) -> None:
    assert server.gql('{ getJob(jobId: "nope") { jobId } }')["data"] == {"getJob": None}
    error = only_error(server.post(CANCEL, {"id": "nope"}).json())
    assert error["errorType"] == "NotFound"
    assert "jobId 'nope' does not exist" in error["message"]


def test_cancelling_a_job_that_is_not_queued_is_a_conflict(held: LiveServer) -> None:
    server = held  # the first cancel needs the job still QUEUED
    job_id = server.gql(SUBMIT, {"input": {"payload": "1,2"}})["data"]["submitJob"]["jobId"]
    assert server.gql(CANCEL, {"id": job_id})["data"]["cancelJob"]["status"] == "CANCELLED"
    error = only_error(server.post(CANCEL, {"id": job_id}).json())
    assert error["errorType"] == "Conflict"
    assert "is CANCELLED; only a QUEUED job can be cancelled" in error["message"]


@pytest.mark.parametrize(("key", "message"), [(None, "not provided"), ("da2-wrong", "not authorized")])
def test_a_missing_or_wrong_api_key_is_unauthorized_and_nothing_is_stored(
    server: LiveServer, key: str | None, message: str
) -> None:
    before = server.job_count()
    response = server.post(SUBMIT, {"input": {"payload": "1,2"}}, key=key)
    assert response.status_code == 401
    [error] = response.json()["errors"]
    assert error["errorType"] == "UnauthorizedException"
    assert message in error["message"]
    assert server.job_count() == before


def test_an_api_key_caller_may_not_publish_updates(server: LiveServer) -> None:
    update = {
        "jobId": "j1",
        "status": "COMPLETED",
        "payload": "1,2",
        "submittedAt": "2026-01-01T00:00:00.000Z",
        "updatedAt": "2026-01-01T00:00:01.000Z",
        "attempt": 1,
    }
    query = "mutation ($u: JobUpdate!) { publishJobUpdate(update: $u) { jobId } }"
    body = server.post(query, {"u": update}).json()
    [error] = body["errors"]
    assert body["data"] == {"publishJobUpdate": None}
    assert error["errorType"] == "Unauthorized"
    assert error["message"] == "Not Authorized to access publishJobUpdate on type Mutation"


def test_an_invalid_document_is_a_validation_error_not_a_crash(server: LiveServer) -> None:
    error = only_error(server.post("{ getJob(jobId: 1) { nope } }").json())
    assert error["errorType"] == "ValidationError"
    assert "nope" in error["message"]


@pytest.fixture(scope="module")
def jsonlines_server(tmp_path_factory: pytest.TempPathFactory, demo_model: DemoModel) -> Iterator[LiveServer]:
    settings = e2e_settings(
        tmp_path_factory.mktemp("jsonl"), demo_model, content_type="application/jsonlines"
    )
    yield from run_server(settings)


@pytest.mark.parametrize("payload", ["[1, 2]", "not json", '"text"'])
def test_a_jsonlines_record_must_be_a_json_object(jsonlines_server: LiveServer, payload: str) -> None:
    error = only_error(jsonlines_server.post(SUBMIT, {"input": {"payload": payload}}).json())
    assert error["errorType"] == "ValidationError"
    assert "input.payload" in error["message"] and "JSON" in error["message"]
    assert jsonlines_server.job_count() == 0


def test_graphiql_is_served_to_a_browser_without_a_key(server: LiveServer) -> None:
    page = httpx.get(f"{server.url}/graphql", headers={"accept": "text/html"}, trust_env=False)
    assert page.status_code == 200 and "graphiql" in page.text.lower()


def test_healthz_reports_queue_depth_and_subscribers(server: LiveServer) -> None:
    health = httpx.get(f"{server.url}/healthz", trust_env=False).json()
    assert health["status"] == "ok"
    assert isinstance(health["queueDepth"], int)
    assert set(health["subscribers"]) == {"onJobUpdated", "onJobsMoved", "onBatchUpdated"}


def test_no_route_without_the_key_hands_out_the_key(server: LiveServer) -> None:
    # Any local process (another user's too) can reach 127.0.0.1: what needs no key must not be the key.
    config = httpx.get(f"{server.url}/config.json", trust_env=False)
    assert config.json() == {"graphqlUrl": f"{server.url}/graphql", "realtimeUrl": server.realtime}
    for path in ("/", "/config.json", "/healthz", "/graphql"):
        answer = httpx.get(f"{server.url}{path}", headers={"accept": "text/html"}, trust_env=False)
        assert server.api_key not in answer.text, path


@pytest.mark.parametrize("path", ["/config.json", "/healthz"])
def test_only_graphql_answers_pages_of_other_origins(server: LiveServer, path: str) -> None:
    answer = httpx.get(f"{server.url}{path}", headers={"origin": "http://localhost:5173"}, trust_env=False)
    assert "access-control-allow-origin" not in answer.headers


@pytest.mark.parametrize(
    ("origin", "allowed"), [("http://localhost:5173", True), ("https://evil.example", False)]
)
def test_browsers_on_this_machine_may_call_the_api_others_may_not(
    server: LiveServer, origin: str, allowed: bool
) -> None:
    headers = {
        "origin": origin,
        "access-control-request-method": "POST",
        "access-control-request-headers": "x-api-key",
    }
    preflight = httpx.options(f"{server.url}/graphql", headers=headers, trust_env=False)
    assert (preflight.headers.get("access-control-allow-origin") == origin) is allowed


@pytest.mark.parametrize("body", ["[]", "{nope", '{"variables": {}}'], ids=["batch", "not-json", "no-query"])
def test_a_body_that_is_not_one_json_operation_is_a_bad_request(server: LiveServer, body: str) -> None:
    headers = {"x-api-key": server.api_key, "content-type": "application/json"}
    response = httpx.post(f"{server.url}/graphql", content=body, headers=headers, trust_env=False)
    assert response.status_code == 400
    assert response.json()["errors"][0]["errorType"] == "MalformedHttpRequestException"


def test_a_subscription_posted_over_http_is_refused_with_a_graphql_error_naming_the_websockets(
    server: LiveServer,
) -> None:
    response = server.post("subscription { onJobUpdated { jobId status } }")
    assert response.status_code == 400, response.text  # a request POST cannot carry, not a 500
    error = only_error(response.json())
    assert error["errorType"] == "UnsupportedOperation"
    assert "WebSocket" in error["message"] and "/graphql/realtime" in error["message"]


def test_an_api_key_caller_may_not_publish_group_moves(server: LiveServer) -> None:
    update = {"status": "BATCHED", "jobIds": ["j1"], "updatedAt": "2026-01-01T00:00:01.000Z"}
    query = "mutation ($u: JobsMovedUpdate!) { publishJobsMoved(update: $u) { jobIds } }"
    body = server.post(query, {"u": update}).json()
    [error] = body["errors"]
    assert body["data"] == {"publishJobsMoved": None}
    assert error["errorType"] == "Unauthorized"
    assert error["message"] == "Not Authorized to access publishJobsMoved on type Mutation"
