"""/graphql/realtime speaks AppSync's real-time protocol: gql's transport, Amplify's handshake, details."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from gql import Client, GraphQLRequest
from gql.transport.appsync_auth import AppSyncApiKeyAuthentication
from gql.transport.appsync_websockets import AppSyncWebsocketsTransport
from gql.transport.exceptions import TransportQueryError, TransportServerError
from websockets.asyncio.client import ClientConnection, connect

from tests.e2e.conftest import LiveServer

IRIS = "5.1,3.5,1.4,0.2"
JOB_FIELDS = "jobId status result error batchId"
ON_JOB = "subscription ($jobId: ID) { onJobUpdated(jobId: $jobId) { " + JOB_FIELDS + " } }"


def submit(server: LiveServer, payload: str = IRIS) -> str:
    body = server.gql("mutation ($p: String!) { submitJob(input: {payload: $p}) { jobId } }", {"p": payload})
    job_id: str = body["data"]["submitJob"]["jobId"]
    return job_id


def cancel(server: LiveServer, job_id: str) -> None:
    server.gql("mutation ($id: ID!) { cancelJob(jobId: $id) { jobId } }", {"id": job_id})


def auth(server: LiveServer, key: str | None = None) -> dict[str, str]:
    return {"host": f"127.0.0.1:{server.port}", "x-api-key": key or server.api_key}


def amplify_subprotocol(headers: dict[str, str]) -> str:
    """What Amplify JS v6 offers beside graphql-ws: base64url JSON, no padding."""
    return "header-" + base64.urlsafe_b64encode(json.dumps(headers).encode()).decode().rstrip("=")


def start(sub_id: str, query: str, variables: dict[str, Any] | None = None, authorization: Any = None) -> str:
    payload: dict[str, Any] = {"data": json.dumps({"query": query, "variables": variables or {}})}
    if authorization is not None:
        payload["extensions"] = {"authorization": authorization}
    return json.dumps({"id": sub_id, "type": "start", "payload": payload})


async def recv(ws: ClientConnection, skip_ka: bool = True) -> dict[str, Any]:
    while True:
        message: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), 5))
        if not (skip_ka and message["type"] == "ka"):
            return message


@pytest.fixture
async def amplify(held: LiveServer) -> AsyncIterator[ClientConnection]:
    """A connection opened the way Amplify JS v6 opens one: auth in a subprotocol, init without payload.
    On the held server, so a job a test cancels is still QUEUED when it does."""
    server = held
    async with connect(server.realtime, subprotocols=["graphql-ws", amplify_subprotocol(auth(server))]) as ws:
        assert ws.subprotocol == "graphql-ws"
        await ws.send(json.dumps({"type": "connection_init"}))
        assert await recv(ws) == {"type": "connection_ack", "payload": {"connectionTimeoutMs": 300000}}
        yield ws


async def test_gql_appsync_transport_receives_a_jobs_updates_until_completed(server: LiveServer) -> None:
    transport = AppSyncWebsocketsTransport(
        url=server.realtime,
        auth=AppSyncApiKeyAuthentication(host=f"127.0.0.1:{server.port}", api_key=server.api_key),
    )
    seen: list[dict[str, Any]] = []
    moved: list[dict[str, Any]] = []
    async with Client(transport=transport) as session:
        base = server.subscribers()
        ends = GraphQLRequest("subscription { onJobUpdated { " + JOB_FIELDS + " } }")
        moves = GraphQLRequest("subscription { onJobsMoved { status jobIds batchId transformJobName } }")

        async def follow() -> None:
            async for result in session.subscribe(ends):
                seen.append(result["onJobUpdated"])
                if result["onJobUpdated"]["status"] in ("COMPLETED", "FAILED"):
                    return

        async def follow_moves() -> None:
            async for result in session.subscribe(moves):
                moved.append(result["onJobsMoved"])
                if result["onJobsMoved"]["status"] in ("COMPLETED", "FAILED"):
                    return

        task, moving = asyncio.create_task(follow()), asyncio.create_task(follow_moves())
        await server.wait_subscribers("onJobUpdated", base["onJobUpdated"] + 1)
        await server.wait_subscribers("onJobsMoved", base["onJobsMoved"] + 1)
        job_id = submit(server)
        await asyncio.wait_for(asyncio.gather(task, moving), 15)
    # Its moves came in groups (JobsMoved naming it), its end too, and alone and whole on onJobUpdated
    # (each_job_end; onJobUpdated carries ends only)
    statuses = [m["status"] for m in moved if job_id in m["jobIds"]]
    assert statuses == ["QUEUED", "BATCHED", "PROCESSING", "COMPLETED"]
    assert [u["status"] for u in seen if u["jobId"] == job_id] == ["COMPLETED"]
    assert seen[-1]["result"].startswith("setosa,")


async def test_gql_sees_an_error_for_a_subscription_it_may_not_open(server: LiveServer) -> None:
    transport = AppSyncWebsocketsTransport(
        url=server.realtime, auth=AppSyncApiKeyAuthentication(host="127.0.0.1", api_key="da2-wrong")
    )
    with pytest.raises(TransportServerError, match="not authorized"):
        async with Client(transport=transport):
            pass


async def test_amplify_style_connection_gets_start_ack_then_data_then_complete(
    held: LiveServer, amplify: ClientConnection
) -> None:
    server = held
    job_id = submit(server)
    await amplify.send(start("6f1c", ON_JOB, {"jobId": job_id}, auth(server)))
    assert await recv(amplify) == {"type": "start_ack", "id": "6f1c"}
    cancel(server, job_id)
    data = await recv(amplify)
    assert data["type"] == "data" and data["id"] == "6f1c"
    assert data["payload"]["data"]["onJobUpdated"]["status"] == "CANCELLED"
    assert list(data["payload"]["data"]["onJobUpdated"]) == JOB_FIELDS.split()  # what was selected, in order
    await amplify.send(json.dumps({"type": "stop", "id": "6f1c"}))
    assert await recv(amplify) == {"type": "complete", "id": "6f1c"}


async def test_keep_alives_keep_coming(amplify: ClientConnection) -> None:
    kinds = [json.loads(await asyncio.wait_for(amplify.recv(), 2))["type"] for _ in range(3)]
    assert kinds == ["ka", "ka", "ka"]


async def test_auth_in_the_header_query_parameter_with_plus_signs_is_accepted(server: LiveServer) -> None:
    # gql's standard base64, not URL-escaped: a '+' must not turn into a space.
    headers = auth(server) | {"pad": ">>>?"}  # encodes with '+' and '/'
    encoded = base64.b64encode(json.dumps(headers, separators=(",", ":")).encode()).decode()
    assert "+" in encoded
    async with connect(f"{server.realtime}?header={encoded}&payload=e30=", subprotocols=["graphql-ws"]) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
        assert (await recv(ws))["type"] == "connection_ack"


async def test_a_wrong_key_at_connect_gets_connection_error_and_close(server: LiveServer) -> None:
    protocols = ["graphql-ws", amplify_subprotocol(auth(server, "da2-wrong"))]
    async with connect(server.realtime, subprotocols=protocols) as ws:
        await ws.send(json.dumps({"type": "connection_init"}))
        message = await recv(ws)
        assert message["type"] == "connection_error"
        assert message["payload"]["errors"][0]["errorType"] == "UnauthorizedException"
        await asyncio.wait_for(ws.wait_closed(), 5)


async def test_a_wrong_key_on_start_gets_an_error_for_that_id_only(
    held: LiveServer, amplify: ClientConnection
) -> None:
    await amplify.send(start("1", ON_JOB, authorization=auth(held, "da2-wrong")))
    error = await recv(amplify)
    assert error["type"] == "error" and error["id"] == "1"
    assert error["payload"]["errors"][0]["errorType"] == "UnauthorizedException"
    await amplify.send(start("2", ON_JOB, authorization=auth(held)))
    assert await recv(amplify) == {"type": "start_ack", "id": "2"}


@pytest.mark.parametrize(
    ("query", "error_type"),
    [
        ('{ getJob(jobId: "x") { jobId } }', "UnsupportedOperation"),
        ('mutation { cancelJob(jobId: "x") { jobId } }', "UnsupportedOperation"),
        ("subscription { onJobUpdated { nope } }", "ValidationError"),
        ("subscription {", "ValidationError"),
    ],
    ids=["query", "mutation", "unknown-field", "syntax"],
)
async def test_only_valid_subscriptions_are_accepted(
    held: LiveServer, amplify: ClientConnection, query: str, error_type: str
) -> None:
    await amplify.send(start("7", query, authorization=auth(held)))
    error = await recv(amplify)
    assert error["type"] == "error" and error["id"] == "7"
    assert error["payload"]["errors"][0]["errorType"] == error_type


async def test_a_duplicate_id_and_the_101st_subscription_are_refused(
    held: LiveServer, amplify: ClientConnection
) -> None:
    await amplify.send(start("dup", ON_JOB, authorization=auth(held)))
    assert (await recv(amplify))["type"] == "start_ack"
    await amplify.send(start("dup", ON_JOB, authorization=auth(held)))
    assert (await recv(amplify))["payload"]["errors"][0]["errorType"] == "DuplicatedOperationError"
    for i in range(99):
        await amplify.send(start(f"s{i}", ON_JOB, authorization=auth(held)))
        assert (await recv(amplify))["type"] == "start_ack"
    await amplify.send(start("one-too-many", ON_JOB, authorization=auth(held)))
    error = await recv(amplify)
    assert error["id"] == "one-too-many"
    assert error["payload"]["errors"][0]["errorType"] == "LimitExceededError"


async def test_gql_raises_for_an_error_on_one_subscription_and_keeps_the_connection(
    server: LiveServer,
) -> None:
    transport = AppSyncWebsocketsTransport(
        url=server.realtime, auth=AppSyncApiKeyAuthentication(host="127.0.0.1", api_key=server.api_key)
    )
    async with Client(transport=transport) as session:
        with pytest.raises(TransportQueryError, match="UnsupportedOperation"):
            async for _ in session.subscribe(GraphQLRequest('query { getJob(jobId: "x") { jobId } }')):
                pass


async def test_a_plain_x_api_key_upgrade_header_authorizes_the_connection_and_its_starts(
    server: LiveServer,
) -> None:
    async with connect(
        server.realtime, subprotocols=["graphql-ws"], additional_headers={"x-api-key": server.api_key}
    ) as ws:
        await ws.send(json.dumps({"type": "connection_init"}))
        assert (await recv(ws))["type"] == "connection_ack"
        await ws.send(
            start("no-auth-object", ON_JOB)
        )  # no extensions.authorization: the connection's key counts
        assert await recv(ws) == {"type": "start_ack", "id": "no-auth-object"}


async def test_a_connection_without_any_auth_is_refused(server: LiveServer) -> None:
    async with connect(server.realtime, subprotocols=["graphql-ws"]) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
        assert (await recv(ws))["type"] == "connection_error"
