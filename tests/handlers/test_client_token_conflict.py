"""A clientToken reused with another input: Conflict from the AppSync resolver, as from the local server."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from asyncml.local.api.server import create_app
from asyncml.local.wiring import build_runtime
from asyncml.settings import Settings
from resolvers import api
from tests.cloud_harness import Cloud, LambdaContext, appsync_event

pytestmark = [
    pytest.mark.filterwarnings("ignore:No application metrics"),
    pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`"),
]
CTX = LambdaContext()
KEY = "da2-conflicttest0000000000000"
SUBMIT = "mutation($input: SubmitJobInput!) { submitJob(input: $input) { jobId } }"
FIRST = {"payload": "1,2", "clientToken": "tok-c", "metadata": '{"n": 1}'}
RETRIES = {"other payload": {**FIRST, "payload": "3,4"}, "other metadata": {**FIRST, "metadata": '{"n": 2}'}}


@pytest.mark.parametrize("case", sorted(RETRIES))
def test_the_resolver_and_the_local_server_both_answer_conflict(
    aws: Cloud, tmp_path_factory: pytest.TempPathFactory, case: str
) -> None:
    submit = api.lambda_handler(appsync_event("submitJob", "Mutation", {"input": FIRST}), CTX)
    assert api.lambda_handler(appsync_event("submitJob", "Mutation", {"input": FIRST}), CTX) == submit
    answer = api.lambda_handler(appsync_event("submitJob", "Mutation", {"input": RETRIES[case]}), CTX)
    assert answer["errorType"] == "Conflict" and "clientToken 'tok-c'" in answer["errorMessage"]
    settings = Settings(data_dir=tmp_path_factory.mktemp("local"))
    with TestClient(create_app(build_runtime(settings), KEY)) as client:  # type: ignore[arg-type]
        for inp in (FIRST, RETRIES[case]):
            body = client.post("/graphql", json={"query": SUBMIT, "variables": {"input": inp}},
                               headers={"x-api-key": KEY}).json()  # fmt: skip
    [error] = body["errors"]
    assert (error["errorType"], error["extensions"]["field"]) == ("Conflict", "input.clientToken")
