"""onJobsMoved on all three protocols: a watcher of one job sees its group moves (BATCHED, PROCESSING)
and, on onJobUpdated, its end; `jobId` matches only updates whose jobIds contain it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

from asyncml.transform_emulator.demo_model import DemoModel
from tests.e2e.conftest import LiveServer, e2e_settings, run_server
from tests.e2e.test_appsync_realtime import amplify_subprotocol, auth, start, submit

# A batch seals when its third job arrives and never on a window: the test decides when jobs move.
BATCH = 3
MOVES = (
    "subscription ($id: ID, $st: JobStatus) "
    "{ onJobsMoved(jobId: $id, status: $st) { status jobIds batchId } }"
)
ENDS = "subscription ($id: ID) { onJobUpdated(jobId: $id) { jobId status result } }"
PROTOCOLS = ["appsync", "graphql-transport-ws", "graphql-ws"]


@pytest.fixture(scope="module")
def trio(tmp_path_factory: pytest.TempPathFactory, demo_model: DemoModel) -> Iterator[LiveServer]:
    settings = e2e_settings(tmp_path_factory.mktemp("moved"), demo_model, batch_size=BATCH, batch_window=1e6)
    yield from run_server(settings)


class Conn:
    """One WebSocket in one of the three protocols, reduced to start / next frame."""

    def __init__(self, server: LiveServer, ws: ClientConnection, protocol: str) -> None:
        self.server, self.ws, self.protocol = server, ws, protocol

    async def start(self, op_id: str, query: str, **variables: Any) -> None:
        if self.protocol == "appsync":
            await self.ws.send(start(op_id, query, variables, auth(self.server)))
            assert await self.frame() == {"type": "start_ack", "id": op_id}
            return
        kind = "subscribe" if self.protocol == "graphql-transport-ws" else "start"
        await self.ws.send(
            json.dumps({"id": op_id, "type": kind, "payload": {"query": query, "variables": variables}})
        )

    async def frame(self) -> dict[str, Any]:
        while True:
            message: dict[str, Any] = json.loads(await asyncio.wait_for(self.ws.recv(), 30))
            if message["type"] not in ("ka", "ping", "pong"):
                return message


async def open_conn(server: LiveServer, protocol: str) -> tuple[Conn, Any]:
    if protocol == "appsync":
        cm = connect(
            server.realtime,
            subprotocols=[Subprotocol("graphql-ws"), Subprotocol(amplify_subprotocol(auth(server)))],
        )
        ws = await cm.__aenter__()
        await ws.send(json.dumps({"type": "connection_init"}))
    else:
        cm = connect(f"ws://127.0.0.1:{server.port}/graphql", subprotocols=[Subprotocol(protocol)])
        ws = await cm.__aenter__()
        await ws.send(json.dumps({"type": "connection_init", "payload": {"x-api-key": server.api_key}}))
    conn = Conn(server, ws, protocol)
    assert (await conn.frame())["type"] == "connection_ack"
    return conn, cm


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_one_job_watcher_sees_its_batch_and_processing_moves_then_its_end(
    trio: LiveServer, protocol: str
) -> None:
    server = trio
    first, second = submit(server), submit(server)  # QUEUED, waiting for the third
    conn, cm = await open_conn(server, protocol)
    try:
        moves_base, ends_base = server.subscribers()["onJobsMoved"], server.subscribers()["onJobUpdated"]
        await conn.start("mine", MOVES, id=first)
        await conn.start("all", MOVES)
        await conn.start("processing", MOVES, st="PROCESSING")
        await conn.start("end", ENDS, id=first)
        await server.wait_subscribers("onJobsMoved", moves_base + 3)
        await server.wait_subscribers("onJobUpdated", ends_base + 1)
        third = submit(server)  # the batch fills: all three move together
        got: dict[str, list[dict[str, Any]]] = {}
        # Frames leave in publish order on one connection: once the end is here, every move is too.
        while "end" not in got:
            message = await conn.frame()
            assert message["type"] in ("data", "next"), message
            [update] = message["payload"]["data"].values()
            got.setdefault(message["id"], []).append(update)
    finally:
        await cm.__aexit__(None, None, None)
    trio_ids = sorted([first, second, third])
    # The watcher of one job: its two group moves (each naming the whole batch), and not the QUEUED
    # update of the third job's submit, which does not contain it
    # update of the third job's submit, which does not contain it; then their end, one update too
    assert [(u["status"], sorted(u["jobIds"])) for u in got["mine"]] == [
        ("BATCHED", trio_ids), ("PROCESSING", trio_ids), ("COMPLETED", trio_ids)
    ]  # fmt: skip
    assert got["mine"][0]["batchId"] is not None and got["mine"][0]["batchId"] == got["mine"][1]["batchId"]
    assert [(u["status"], u["jobIds"]) for u in got["all"]] == [
        ("QUEUED", [third]), ("BATCHED", got["mine"][0]["jobIds"]), ("PROCESSING", got["mine"][1]["jobIds"]),
        ("COMPLETED", got["mine"][2]["jobIds"]),
    ]  # fmt: skip
    assert [u["status"] for u in got["processing"]] == ["PROCESSING"]
    # and its end, whole, on onJobUpdated
    assert [(u["jobId"], u["status"]) for u in got["end"]] == [(first, "COMPLETED")]
    assert got["end"][0]["result"]
