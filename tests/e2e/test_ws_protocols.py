"""graphql-transport-ws and graphql-ws on /graphql: filters, stop and errors, as on /graphql/realtime."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from asyncml.transform_emulator.demo_model import DemoModel
from tests.e2e.conftest import LiveServer, e2e_settings, run_server
from tests.e2e.test_appsync_realtime import cancel, submit

WATCH = "subscription ($id: ID) { onJobUpdated(jobId: $id) { jobId status __typename } }"
PROTOCOLS = ["graphql-transport-ws", "graphql-ws"]
INIT_WAIT = 1.0


@pytest.fixture(scope="module")
def quiet(tmp_path_factory: pytest.TempPathFactory, demo_model: DemoModel) -> Iterator[LiveServer]:
    # A long window: a job stays QUEUED until the test cancels it, whatever the machine's speed.
    settings = e2e_settings(tmp_path_factory.mktemp("ws"), demo_model, batch_window=60.0, batch_size=1000)
    yield from run_server(settings, init_wait=INIT_WAIT)


class Client:
    def __init__(self, ws: ClientConnection, protocol: str) -> None:
        self.ws, self.protocol = ws, protocol
        self.start_type = "subscribe" if protocol == "graphql-transport-ws" else "start"
        self.stop_type = "complete" if protocol == "graphql-transport-ws" else "stop"
        self.data_type = "next" if protocol == "graphql-transport-ws" else "data"

    async def start(self, op_id: str, query: str, **variables: Any) -> None:
        payload = {"query": query, "variables": variables}
        await self.ws.send(json.dumps({"id": op_id, "type": self.start_type, "payload": payload}))

    async def stop(self, op_id: str) -> None:
        await self.ws.send(json.dumps({"id": op_id, "type": self.stop_type}))

    async def recv(self) -> dict[str, Any]:
        while True:
            message: dict[str, Any] = json.loads(await asyncio.wait_for(self.ws.recv(), 10))
            if message["type"] not in ("ka", "ping", "pong"):
                return message


@pytest.fixture(params=PROTOCOLS)
async def client(quiet: LiveServer, request: pytest.FixtureRequest) -> AsyncIterator[Client]:
    protocol: str = request.param
    async with connect(f"ws://127.0.0.1:{quiet.port}/graphql", subprotocols=[Subprotocol(protocol)]) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {"x-api-key": quiet.api_key}}))
        c = Client(ws, protocol)
        assert (await c.recv())["type"] == "connection_ack"
        yield c


async def test_a_subscription_gets_only_its_jobs_updates_until_stopped(
    quiet: LiveServer, client: Client
) -> None:
    mine, other = submit(quiet), submit(quiet)
    base = quiet.subscribers()["onJobUpdated"]
    await client.start("w", WATCH, id=mine)
    await quiet.wait_subscribers("onJobUpdated", base + 1)
    cancel(quiet, other)
    cancel(quiet, mine)
    got = await client.recv()
    assert got == {
        "type": client.data_type,
        "id": "w",
        "payload": {"data": {"onJobUpdated": {"jobId": mine, "status": "CANCELLED", "__typename": "Job"}}},
    }
    await client.stop("w")
    await quiet.wait_subscribers_at_most("onJobUpdated", base)
    if client.protocol == "graphql-ws":
        assert await client.recv() == {"type": "complete", "id": "w"}


async def test_an_aliased_selection_is_executed_and_answers_the_same(
    quiet: LiveServer, client: Client
) -> None:
    job = submit(quiet)
    base = quiet.subscribers()["onJobUpdated"]
    await client.start(
        "a", "subscription ($id: ID) { u: onJobUpdated(jobId: $id) { id: jobId status } }", id=job
    )
    await quiet.wait_subscribers("onJobUpdated", base + 1)
    cancel(quiet, job)
    got = await client.recv()
    assert got["payload"] == {"data": {"u": {"id": job, "status": "CANCELLED"}}}


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("subscription { onJobUpdated { nope } }", "Cannot query field 'nope'"),
        ('subscription { onJobUpdated(status: "DONE") { jobId } }', "JobStatus"),
    ],
    ids=["unknown-field", "bad-argument"],
)
async def test_a_bad_subscription_gets_an_error_with_its_type(client: Client, query: str, words: str) -> None:
    await client.start("bad", query)
    got = await client.recv()
    assert (got["type"], got["id"]) == ("error", "bad")
    [error] = got["payload"] if client.protocol == "graphql-transport-ws" else [got["payload"]]
    assert error["errorType"] == "ValidationError" and words in error["message"]


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_socket_that_never_sends_connection_init_is_closed(quiet: LiveServer, protocol: str) -> None:
    url = f"ws://127.0.0.1:{quiet.port}/graphql"
    async with connect(url, subprotocols=[Subprotocol(protocol)]) as ws:
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 30)  # generous: closed at all, not never
    assert closed.value.rcvd is not None
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (4408, "Connection initialisation timeout")
