"""submitJobs and submitJob answered without strawberry (local/api/fast_submit.py): strawberry's answer.

Each document goes to the same server twice: once as sent (the fast path when it applies), once with
the fast path switched off. With clientTokens both calls return the same stored jobs, so the two
bodies must be equal byte for byte, errors included."""

from __future__ import annotations

from typing import Any

import pytest

from asyncml.local.api import fast_submit
from tests.e2e.conftest import LiveServer

MANY = "mutation ($inputs: [SubmitJobInput!]!) { submitJobs(inputs: $inputs) { %s } }"
ONE = "mutation ($input: SubmitJobInput!) { submitJob(input: $input) { %s } }"  # what the clients send
INLINE = (
    "mutation ($p: String!, $t: String, $m: AWSJSON) "
    "{ submitJob(input: {payload: $p, clientToken: $t, metadata: $m}) { %s } }"
)
ALL = (
    "jobId status payload result error batchId transformJobName metadata submittedAt updatedAt "
    "completedAt attempt"
)


def both(
    held: LiveServer,
    monkeypatch: pytest.MonkeyPatch,
    query: str,
    variables: Any,
    operation_name: str | None = None,
) -> tuple[str, str]:
    fast = held.post(query, variables, operation_name=operation_name).text
    with monkeypatch.context() as m:
        m.setattr(fast_submit, "plan_of", lambda _query: None)
        slow = held.post(query, variables, operation_name=operation_name).text
    return fast, slow


def refused_alike(held: LiveServer, monkeypatch: pytest.MonkeyPatch, query: str, variables: Any) -> None:
    """Both paths give the same error, and neither stores anything."""
    before = held.job_count()
    fast, slow = both(held, monkeypatch, query, variables)
    assert fast == slow
    assert '"errors"' in fast
    assert held.job_count() == before


def tokens(prefix: str, n: int, **extra: Any) -> list[dict[str, Any]]:
    return [{"payload": f"5.1,3.5,1.4,{i}", "clientToken": f"{prefix}-{i}", **extra} for i in range(n)]


@pytest.mark.parametrize(
    ("selection", "inputs"),
    [
        ("jobId", tokens("ids", 500)),
        (ALL, tokens("all", 3, metadata='{"user": "ana"}')),
        ("__typename jobId jobId status", tokens("typename", 2)),
        ("jobId metadata", tokens("structured", 2, metadata={"user": "ana", "n": [1, 2]})),
        ("jobId metadata", tokens("null", 2, metadata=None)),
    ],
    ids=["500-ids", "every-field", "typename-and-repeats", "structured-metadata", "null-metadata"],
)
def test_accepted_inputs_get_strawberrys_answer(
    held: LiveServer, monkeypatch: pytest.MonkeyPatch, selection: str, inputs: list[dict[str, Any]]
) -> None:
    fast, slow = both(held, monkeypatch, MANY % selection, {"inputs": inputs})
    assert fast == slow
    assert '"errors"' not in fast


@pytest.mark.parametrize(
    "variables",
    [
        {"inputs": [{"payload": "1,2"}] * 501},
        {"inputs": []},
        {"inputs": [{"payload": "1,2"}, {"payload": "a\nb"}]},
        {"inputs": [{"payload": "1,2", "metadata": "{not json"}]},
        {"inputs": [{"payload": 12}]},
        {"inputs": [{"payload": "1,2", "colour": "red"}]},
        {"inputs": [{"clientToken": "t"}]},
        {"inputs": None},
        {},
        {"inputs": [{"payload": "1,2", "clientToken": "same"}, {"payload": "3,4", "clientToken": "same"}]},
    ],
    ids=[
        "501",
        "empty",
        "newline",
        "bad-json",
        "int-payload",
        "unknown-field",
        "no-payload",
        "null",
        "missing",
        "token-disagrees",
    ],
)
def test_refused_inputs_get_strawberrys_error(
    held: LiveServer, monkeypatch: pytest.MonkeyPatch, variables: dict[str, Any]
) -> None:
    refused_alike(held, monkeypatch, MANY % "jobId status", variables)


def test_one_object_for_the_list_is_coerced_to_a_list_of_one(
    held: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast, slow = both(held, monkeypatch, MANY % "jobId", {"inputs": {"payload": "1,2", "clientToken": "one"}})
    assert fast == slow
    assert '"errors"' not in fast


def test_a_token_reused_with_another_payload_is_the_same_conflict(
    held: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    held.post(MANY % "jobId", {"inputs": [{"payload": "1,2", "clientToken": "reused"}]})
    fast, slow = both(
        held, monkeypatch, MANY % "jobId", {"inputs": [{"payload": "9,9", "clientToken": "reused"}]}
    )
    assert fast == slow
    assert "clientToken 'reused' was first sent with a different payload" in fast


@pytest.mark.parametrize(
    "query",
    [
        "mutation ($i: [SubmitJobInput!]!) { a: submitJobs(inputs: $i) { jobId } }",
        "mutation ($i: [SubmitJobInput!]!) { submitJobs(inputs: $i) { id: jobId } }",
        "mutation ($i: [SubmitJobInput!]!) { submitJobs(inputs: $i) { ...J } } fragment J on Job { jobId }",
        "mutation ($i: [SubmitJobInput]!) { submitJobs(inputs: $i) { jobId } }",
        "mutation ($i: [SubmitJobInput!]!) { submitJobs(inputs: $i) { jobId nope } }",
        "mutation ($i: [SubmitJobInput!]!) { submitJobs(inputs: $i) }",
        "query ($i: [SubmitJobInput!]!) { submitJobs(inputs: $i) { jobId } }",
    ],
    ids=["alias", "field-alias", "fragment", "nullable-items", "unknown-field", "no-selection", "query"],
)
def test_other_documents_go_to_strawberry(query: str) -> None:
    assert fast_submit.plan_of(query) is None


def test_the_bench_document_takes_the_fast_path() -> None:
    plan = fast_submit.plan_of(MANY % "jobId")
    assert plan is not None and plan.fields == ("jobId",)


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        (ONE % ALL, {"input": {"payload": "1,2", "clientToken": "one-all", "metadata": '{"u": 1}'}}),
        (
            ONE % "jobId metadata",
            {"input": {"payload": "1,2", "clientToken": "one-st", "metadata": {"u": [1]}}},
        ),
        (INLINE % ALL, {"p": "1,2", "t": "inline-all", "m": {"u": 1}}),
        (INLINE % "jobId status", {"p": "1,2", "t": "inline-null", "m": None}),
        (
            'mutation ($p: String!) { submitJob(input: {payload: $p, clientToken: "lit"}) { jobId } }',
            {"p": "3,4"},
        ),
    ],
    ids=[
        "variable-every-field",
        "variable-structured-metadata",
        "inline-every-field",
        "inline-null",
        "literal",
    ],
)
def test_one_accepted_input_gets_strawberrys_answer(
    held: LiveServer, monkeypatch: pytest.MonkeyPatch, query: str, variables: dict[str, Any]
) -> None:
    assert fast_submit.plan_of(query) is not None
    fast, slow = both(held, monkeypatch, query, variables)
    assert fast == slow
    assert '"errors"' not in fast and '"submitJob"' in fast


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        (ONE, {"input": {"payload": "a\nb"}}),
        (ONE, {"input": {"payload": "1,2", "metadata": "{not json"}}),
        (ONE, {"input": {"payload": 12}}),
        (ONE, {"input": {"payload": "1,2", "colour": "red"}}),
        (ONE, {"input": None}),
        (ONE, {}),
        (ONE, {"input": [{"payload": "1,2"}]}),
        (ONE, {"input": {"payload": "x" * 300_000}}),
        (INLINE, {"p": None}),
        (INLINE, {}),
        (INLINE, {"p": 5}),
        (INLINE, {"p": "1,2", "t": 7}),
        (INLINE, {"p": "a\nb"}),
    ],
    ids=[
        "newline",
        "bad-json",
        "int-payload",
        "unknown-field",
        "null",
        "missing",
        "a-list",
        "too-large",
        "inline-null-payload",
        "inline-missing",
        "inline-int",
        "inline-int-token",
        "inline-newline",
    ],
)
def test_one_refused_input_gets_strawberrys_error(
    held: LiveServer, monkeypatch: pytest.MonkeyPatch, query: str, variables: dict[str, Any]
) -> None:
    refused_alike(held, monkeypatch, query % "jobId status", variables)


def test_the_bench_single_submit_takes_the_fast_path_and_is_queued(held: LiveServer) -> None:
    query = "mutation($p: String!) { submitJob(input: {payload: $p}) { jobId status } }"
    assert fast_submit.plan_of(query) is not None
    answer = held.post(query, {"p": "5.1,3.5,1.4,0.2"}).json()
    assert answer["data"]["submitJob"]["status"] == "QUEUED"
    stored = held.gql(
        "query ($id: ID!) { getJob(jobId: $id) { payload } }", {"id": answer["data"]["submitJob"]["jobId"]}
    )
    assert stored == {"data": {"getJob": {"payload": "5.1,3.5,1.4,0.2"}}}


@pytest.mark.parametrize("name", [None, "Submit", "Other"])
def test_an_operation_name_is_checked_as_strawberry_checks_it(
    held: LiveServer, monkeypatch: pytest.MonkeyPatch, name: str | None
) -> None:
    query = "mutation Submit ($input: SubmitJobInput!) { submitJob(input: $input) { jobId } }"
    variables = {"input": {"payload": "1,2", "clientToken": f"named-{name}"}}
    fast, slow = both(held, monkeypatch, query, variables, operation_name=name)
    assert fast == slow
    assert ('"errors"' in fast) == (name == "Other")


@pytest.mark.parametrize(
    "query",
    [
        "mutation ($p: String) { submitJob(input: {payload: $p}) { jobId } }",
        "mutation ($p: String!, $q: String) { submitJob(input: {payload: $p}) { jobId } }",
        "mutation ($p: String!) { submitJob(input: {payload: $p, clientToken: $p}) { jobId } }",
        "mutation ($p: String!, $p: String!) { submitJob(input: {payload: $p}) { jobId } }",
        "mutation { submitJob(input: {payload: 5}) { jobId } }",
        "mutation ($t: String) { submitJob(input: {clientToken: $t}) { jobId } }",
        "mutation ($p: String!, $m: String) { submitJob(input: {payload: $p, metadata: $m}) { jobId } }",
        'mutation ($p: String! = "1") { submitJob(input: {payload: $p}) { jobId } }',
        "mutation ($i: SubmitJobInput) { submitJob(input: $i) { jobId } }",
        "mutation ($i: [SubmitJobInput!]!) { submitJob(input: $i) { jobId } }",
        "mutation ($i: SubmitJobInput!) { submitJobs(inputs: $i) { jobId } }",
        "mutation ($i: SubmitJobInput!) { one: submitJob(input: $i) { jobId } }",
    ],
    ids=[
        "nullable-payload",
        "unused-variable",
        "variable-twice",
        "declared-twice",
        "int-literal",
        "no-payload",
        "string-metadata",
        "default",
        "nullable-input",
        "list-input",
        "one-for-many",
        "alias",
    ],
)
def test_other_single_submits_go_to_strawberry(query: str) -> None:
    assert fast_submit.plan_of(query) is None
