"""A WebSocket client that stops reading is cut off at a byte budget, on every protocol, with a reason."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from asyncml.transform_emulator.demo_model import DemoModel
from tests.e2e.conftest import LiveServer, e2e_settings, run_server
from tests.e2e.test_appsync_realtime import amplify_subprotocol, auth, start

BUDGET = 1024 * 1024
SUBSCRIPTIONS = 20
WATCH = "subscription { onJobUpdated { jobId payload } }"


@pytest.fixture(scope="module")
def small_budget(tmp_path_factory: pytest.TempPathFactory, demo_model: DemoModel) -> Iterator[LiveServer]:
    # A long window: the test's jobs stay QUEUED until it cancels them; their ends are all that is sent.
    settings = e2e_settings(tmp_path_factory.mktemp("limits"), demo_model, batch_window=60.0, batch_size=1000)
    yield from run_server(settings, max_queued_bytes=BUDGET)


async def open_realtime(server: LiveServer) -> ClientConnection:
    protocols = [Subprotocol("graphql-ws"), Subprotocol(amplify_subprotocol(auth(server)))]
    ws = await connect(server.realtime, subprotocols=protocols, max_queue=1)
    await ws.send(json.dumps({"type": "connection_init"}))
    for i in range(SUBSCRIPTIONS):
        await ws.send(start(f"s{i}", WATCH, {}, auth(server)))
    return ws


async def open_strawberry(server: LiveServer, protocol: str) -> ClientConnection:
    ws = await connect(
        f"ws://127.0.0.1:{server.port}/graphql", subprotocols=[Subprotocol(protocol)], max_queue=1
    )
    await ws.send(json.dumps({"type": "connection_init", "payload": {"x-api-key": server.api_key}}))
    kind = "subscribe" if protocol == "graphql-transport-ws" else "start"
    for i in range(SUBSCRIPTIONS):
        await ws.send(json.dumps({"id": f"s{i}", "type": kind, "payload": {"query": WATCH}}))
    return ws


@pytest.mark.parametrize("protocol", ["realtime", "graphql-transport-ws", "graphql-ws"])
async def test_a_client_that_stops_reading_is_closed_past_the_byte_budget(
    small_budget: LiveServer, protocol: str
) -> None:
    server = small_budget
    base = server.subscribers()["onJobUpdated"]
    ws = await (open_realtime(server) if protocol == "realtime" else open_strawberry(server, protocol))
    await server.wait_subscribers("onJobUpdated", base + SUBSCRIPTIONS)
    # 20 subscriptions x 10 ends of 100 kB (onJobUpdated carries the whole job): 20 MB the client
    # never reads, 20 times the budget.
    inputs = [{"payload": "x" * 100_000} for _ in range(10)]
    body = server.gql("mutation ($i: [SubmitJobInput!]!) { submitJobs(inputs: $i) { jobId } }", {"i": inputs})
    assert len(body["data"]["submitJobs"]) == 10
    for job in body["data"]["submitJobs"]:
        server.gql("mutation ($id: ID!) { cancelJob(jobId: $id) { jobId } }", {"id": job["jobId"]})
    # The server drops the subscriptions at once, though the client has read nothing yet.
    await server.wait_subscribers_at_most("onJobUpdated", base)
    got = 0
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            got += len(await asyncio.wait_for(ws.recv(), 10))
    assert got < 20_000_000
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4429
    assert f"over {BUDGET} bytes queued" in closed.value.rcvd.reason
