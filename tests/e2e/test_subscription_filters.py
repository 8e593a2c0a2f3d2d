"""Subscriptions like AppSync: an argument given must equal the update's field, one left out matches all."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from gql import Client, GraphQLRequest
from gql.transport.exceptions import TransportError
from gql.transport.websockets import WebsocketsTransport
from websockets.asyncio.client import ClientConnection, connect

from tests.e2e.conftest import LiveServer
from tests.e2e.test_appsync_realtime import IRIS, amplify_subprotocol, auth, cancel, recv, start, submit


@contextlib.asynccontextmanager
async def realtime_connection(server: LiveServer) -> AsyncIterator[ClientConnection]:
    async with connect(
        server.realtime, subprotocols=["graphql-ws", amplify_subprotocol(auth(server))]
    ) as conn:
        await conn.send(json.dumps({"type": "connection_init"}))
        assert (await recv(conn))["type"] == "connection_ack"
        yield conn


@pytest.fixture
async def ws(held: LiveServer) -> AsyncIterator[ClientConnection]:
    """On the held server: the jobs these tests cancel are still QUEUED when they do."""
    async with realtime_connection(held) as conn:
        yield conn


async def subscribe(
    server: LiveServer, ws: ClientConnection, sub_id: str, query: str, **variables: Any
) -> None:
    await ws.send(start(sub_id, query, variables, auth(server)))
    assert await recv(ws) == {"type": "start_ack", "id": sub_id}


async def drain(ws: ClientConnection, quiet: float = 0.3) -> list[tuple[str, dict[str, Any]]]:
    """Every (subscription id, update) that arrives until the line stays quiet."""
    got: list[tuple[str, dict[str, Any]]] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + quiet
    while (left := deadline - loop.time()) > 0:
        try:
            message = json.loads(await asyncio.wait_for(ws.recv(), left))
        except TimeoutError:
            break
        if message["type"] == "data":  # keep-alives do not count as noise
            deadline = loop.time() + quiet
            [update] = message["payload"]["data"].values()
            got.append((message["id"], update))
    return got


async def test_each_subscription_gets_only_the_updates_its_arguments_match(
    held: LiveServer, ws: ClientConnection
) -> None:
    server = held
    mine, other = submit(server), submit(server)
    q = """subscription ($jobId: ID, $status: JobStatus) {
             onJobUpdated(jobId: $jobId, status: $status) { jobId status } }"""
    await subscribe(server, ws, "all", q)
    await subscribe(server, ws, "mine", q, jobId=mine)
    await subscribe(server, ws, "cancelled", q, status="CANCELLED")
    await subscribe(server, ws, "mine-completed", q, jobId=mine, status="COMPLETED")
    await subscribe(server, ws, "explicit-null", q, jobId=None)
    cancel(server, mine)
    cancel(server, other)
    got = await drain(ws)
    by_id: dict[str, list[tuple[str, str]]] = {}
    for sub_id, update in got:
        by_id.setdefault(sub_id, []).append((update["jobId"], update["status"]))
    both = [(mine, "CANCELLED"), (other, "CANCELLED")]
    assert by_id["all"] == both
    assert by_id["explicit-null"] == both  # null is "left out", as on AppSync
    assert by_id["mine"] == [(mine, "CANCELLED")]
    assert by_id["cancelled"] == both
    assert "mine-completed" not in by_id  # every argument must match


async def test_fragments_and_aliases_are_answered_the_same_through_full_execution(
    held: LiveServer, ws: ClientConnection
) -> None:
    server = held
    job_id = submit(server)
    q = """subscription ($id: ID) { watched: onJobUpdated(jobId: $id) { ...F  state: status } }
           fragment F on Job { jobId __typename }"""
    await subscribe(server, ws, "frag", q, id=job_id)
    cancel(server, job_id)
    [(sub_id, update)] = await drain(ws)
    assert sub_id == "frag"
    assert update == {"jobId": job_id, "__typename": "Job", "state": "CANCELLED"}


async def test_the_fast_path_answers_onjobsmoved_as_full_execution_does(
    held: LiveServer, ws: ClientConnection
) -> None:
    # A plain selection is projected from the update without GraphQL; a fragment sends the same
    # selection through strawberry. Both must say the same: jobs null for a move, whole for an end.
    server = held
    job_fields = "jobId status payload result error attempt metadata __typename"
    fields = "status jobIds batchId jobs { " + job_fields + " } __typename"
    await subscribe(server, ws, "fast", "subscription { onJobsMoved { " + fields + " } }")
    executed = "subscription { onJobsMoved { ...M } } fragment M on JobsMoved { " + fields + " }"
    await subscribe(server, ws, "exec", executed)
    job_id = submit(server)
    cancel(server, job_id)
    got: dict[str, list[dict[str, Any]]] = {"fast": [], "exec": []}
    while not all(any(u["status"] == "CANCELLED" for u in us) for us in got.values()):
        message = await recv(ws)
        [update] = message["payload"]["data"].values()
        if job_id in update["jobIds"]:
            got[message["id"]].append(update)
    assert got["fast"] == got["exec"]
    queued, cancelled = got["fast"]
    assert (queued["status"], queued["jobs"]) == ("QUEUED", None)
    [job] = cancelled["jobs"]
    assert job == {"jobId": job_id, "status": "CANCELLED", "payload": IRIS, "result": None, "error": None,
                   "attempt": 1, "metadata": None, "__typename": "Job"}  # fmt: skip


async def test_batch_updates_reach_batch_subscribers(server: LiveServer) -> None:
    async with realtime_connection(server) as ws:
        await subscribe(server, ws, "b", "subscription { onBatchUpdated { batchId status jobCount } }")
        submit(server)
        statuses: list[str] = []
        while "COMPLETED" not in statuses:
            message = await recv(ws)
            assert message["type"] == "data"
            statuses.append(message["payload"]["data"]["onBatchUpdated"]["status"])
    assert statuses == ["BATCHED", "PROCESSING", "COMPLETED"]


def ws_transport(server: LiveServer, key: str | None) -> WebsocketsTransport:
    return WebsocketsTransport(
        url=f"ws://127.0.0.1:{server.port}/graphql",
        subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],
        init_payload={"x-api-key": key} if key else {},
    )


async def test_graphql_transport_ws_on_graphql_streams_a_jobs_updates(held: LiveServer) -> None:
    server = held  # the job must still be QUEUED when the test cancels it
    submit_one = GraphQLRequest('mutation { submitJob(input: {payload: "1,2"}) { jobId } }')
    watch = "subscription ($id: ID) { onJobUpdated(jobId: $id) { jobId status } }"
    async with Client(transport=ws_transport(server, server.api_key)) as session:
        job_id = (await session.execute(submit_one))["submitJob"]["jobId"]  # queries ride the socket too
        base = server.subscribers()["onJobUpdated"]
        updates = session.subscribe(GraphQLRequest(watch, variable_values={"id": job_id}))
        first = asyncio.ensure_future(updates.__anext__())
        await server.wait_subscribers("onJobUpdated", base + 1)
        cancel(server, job_id)
        assert (await asyncio.wait_for(first, 5))["onJobUpdated"] == {"jobId": job_id, "status": "CANCELLED"}
        await updates.aclose()


async def test_graphql_transport_ws_without_the_key_is_rejected(server: LiveServer) -> None:
    with pytest.raises(TransportError):
        async with Client(transport=ws_transport(server, None)) as session:
            await session.execute(GraphQLRequest('{ getJob(jobId: "x") { jobId } }'))
