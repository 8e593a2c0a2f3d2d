"""At the defaults every job's end reaches subscribers grouped on onJobsMoved, with the jobs whole,
and onJobUpdated (the per-job end, `each_job_end`) is not published at all."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from asyncml.transform_emulator.demo_model import DemoModel
from tests.e2e.conftest import LiveServer, e2e_settings, run_server
from tests.e2e.test_appsync_realtime import auth, start, submit
from tests.e2e.test_jobs_moved import open_conn

BATCH = 3
EVERY = "subscription { onJobsMoved { status jobIds jobs { jobId status result } } }"
ENDS = "subscription { onJobUpdated { jobId status } }"


@pytest.fixture(scope="module")
def defaults(tmp_path_factory: pytest.TempPathFactory, demo_model: DemoModel) -> Iterator[LiveServer]:
    settings = e2e_settings(
        tmp_path_factory.mktemp("defaults"),
        demo_model,
        batch_size=BATCH,
        batch_window=1e6,
        each_job_end=False,
    )
    assert type(settings)().each_job_end is False  # what this fixture runs is the default
    yield from run_server(settings)


async def test_ends_come_grouped_with_the_jobs_whole_and_on_job_updated_stays_silent(
    defaults: LiveServer,
) -> None:
    server = defaults
    conn, cm = await open_conn(server, "appsync")
    try:
        base = server.subscribers()
        await conn.start("every", EVERY)
        await conn.start("ends", ENDS)
        await server.wait_subscribers("onJobsMoved", base["onJobsMoved"] + 1)
        await server.wait_subscribers("onJobUpdated", base["onJobUpdated"] + 1)
        ids = sorted(submit(server) for _ in range(BATCH))  # the third fills the batch
        got: dict[str, list[dict[str, Any]]] = {}
        ended: set[str] = set()
        while ended != set(ids):
            message = await conn.frame()
            assert message["type"] in ("data", "next"), message
            [update] = message["payload"]["data"].values()
            got.setdefault(message["id"], []).append(update)
            if update.get("status") == "COMPLETED":
                ended |= {j["jobId"] for j in update["jobs"]}
        # One more subscription, acknowledged after the ends: had onJobUpdated fired, its frames
        # (published with the ends, on this one connection) would have come before the ack.
        await conn.ws.send(start("late", EVERY, {}, auth(server)))
        while (message := await conn.frame()) != {"type": "start_ack", "id": "late"}:
            got.setdefault(message["id"], []).append(message)
    finally:
        await cm.__aexit__(None, None, None)
    assert "ends" not in got
    mine = [u for u in got["every"] if set(u["jobIds"]) & set(ids)]
    assert [u["status"] for u in mine][-1] == "COMPLETED"
    [end] = [u for u in mine if u["status"] == "COMPLETED"]
    assert sorted(end["jobIds"]) == ids and all(j["result"] for j in end["jobs"])
    assert all(u["jobs"] is None for u in mine if u["status"] != "COMPLETED")
