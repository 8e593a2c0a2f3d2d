"""The subscriber side of bench/fanout.py: AppSync real-time connections, counted, in client processes.

Every move, ends included (with the jobs whole in `jobs`), comes on onJobsMoved (FIELDS below)."""

from __future__ import annotations

import asyncio
import base64
import json
import multiprocessing
import time
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from multiprocessing.connection import Connection as Connection_
from typing import Any

import websockets
from local_stack import KEY
from websockets.exceptions import ConnectionClosed


@dataclass(frozen=True)
class Field:
    query: str  # $id filters on one job when given
    job_ids: Callable[[dict[str, Any]], list[str]]  # the jobs one update is about


SUBSCRIPTIONS = {
    "onJobUpdated": Field(
        "subscription ($id: ID) { onJobUpdated(jobId: $id) { jobId status updatedAt } }",
        lambda d: [d["jobId"]],
    ),
    "onJobsMoved": Field(
        "subscription ($id: ID) { onJobsMoved(jobId: $id) "
        "{ jobIds status updatedAt jobs { jobId status } } }",
        lambda d: list(d["jobIds"]),
    ),
}
# The connection that never reads asks for every field: its frames pass 16 MiB sooner.
SUBSCRIPTIONS["stall"] = Field(
    "subscription { onJobsMoved { jobIds status batchId transformJobName updatedAt jobs { jobId status "
    "payload result error batchId transformJobName metadata submittedAt updatedAt completedAt attempt } } }",
    lambda d: list(d["jobIds"]),
)
# Every move, ends included, comes on onJobsMoved; onJobUpdated is off (the server runs --no-each-job-end).
FIELDS = ["onJobsMoved"]
ENDS = {"COMPLETED", "FAILED", "CANCELLED"}


@dataclass
class Sub:
    field: str
    job_id: str | None  # None: unfiltered
    got: set[tuple[str, str]] = field(default_factory=set)  # (jobId, status)
    count: int = 0
    ends: int = 0  # jobs whose end this subscription got
    not_whole: int = 0  # jobs named in an end's jobIds but absent from its jobs


@dataclass
class Stats:
    lags: array[float] = field(default_factory=lambda: array("d"))
    deliveries: int = 0
    last: float = 0.0


def _url(host: str) -> tuple[str, dict[str, str]]:
    auth = {"host": host, "x-api-key": KEY}
    header = base64.b64encode(json.dumps(auth).encode()).decode()
    return f"ws://{host}/graphql/realtime?header={header}&payload=e30=", auth


def _start(sub_id: str, name: str, job_id: str | None, auth: dict[str, str]) -> str:
    data = json.dumps({"query": SUBSCRIPTIONS[name].query, "variables": {"id": job_id}})
    payload = {"data": data, "extensions": {"authorization": auth}}
    return json.dumps({"id": sub_id, "type": "start", "payload": payload})


_STAMPS: dict[str, float] = {}


def _stamp(text: str) -> float:
    t = _STAMPS.get(text)
    if t is None:
        t = _STAMPS[text] = datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    return t


class Connection:
    """One real-time socket carrying some subscriptions; it reads and counts until told to stop."""

    def __init__(self, host: str, subs: list[Sub], stats: Stats) -> None:
        self.host, self.subs, self.stats = host, subs, stats
        self.acked = asyncio.Event()
        self.ws: Any = None
        self.ended: str | None = None  # how the server closed it, if it did

    async def open(self, read: bool = True, max_queue: int | None = None) -> None:
        # max_queue=None: the library reads the socket however far behind this process is, so it
        # answers the server's pings (uvicorn closes a socket whose pong is 20 s late).
        url, auth = _url(self.host)
        self.ws = await websockets.connect(
            url, subprotocols=["graphql-ws"], max_size=None, max_queue=max_queue, open_timeout=120
        )  # type: ignore[list-item]
        await self.ws.send(json.dumps({"type": "connection_init"}))
        assert json.loads(await self.ws.recv())["type"] == "connection_ack"
        pending = set()
        for i, s in enumerate(self.subs):
            await self.ws.send(_start(str(i), s.field, s.job_id, auth))
            pending.add(str(i))
        while pending and read:
            msg = json.loads(await self.ws.recv())
            if msg["type"] == "start_ack":
                pending.discard(msg["id"])
            elif msg["type"] == "error":
                raise RuntimeError(f"subscription refused: {msg}")
        self.acked.set()

    async def read(self) -> None:
        try:
            await self._read()
        except ConnectionClosed as exc:
            self.ended = f"{exc.rcvd.code} {exc.rcvd.reason!r}" if exc.rcvd else "closed"
        else:
            self.ended = "closed normally"

    async def _read(self) -> None:
        stats, subs = self.stats, self.subs
        async for raw in self.ws:
            msg = json.loads(raw)
            if msg["type"] != "data":
                continue
            now = time.time()
            sub = subs[int(msg["id"])]
            update = msg["payload"]["data"][sub.field]
            status = update["status"]
            job_ids = SUBSCRIPTIONS[sub.field].job_ids(update)
            for job_id in job_ids:
                sub.got.add((job_id, status))
            sub.count += 1
            if status in ENDS:
                mine = job_ids if sub.job_id is None else [sub.job_id]
                sub.ends += len(mine)
                whole = {j["jobId"] for j in update.get("jobs") or ()}
                sub.not_whole += sum(j not in whole for j in mine)
            stats.deliveries += 1
            stats.lags.append(now - _stamp(update["updatedAt"]))
            stats.last = now


async def open_all(conns: list[Connection], at_once: int = 16) -> None:
    """A few handshakes at a time: hundreds at once time out on a loaded machine."""
    gate = asyncio.Semaphore(at_once)

    async def one(c: Connection) -> None:
        async with gate:
            await c.open()

    await asyncio.gather(*(one(c) for c in conns))


def worker_main(pipe: Connection_, host: str, per_connection: int) -> None:
    """One client process: its share of the subscriptions, opened and read on its own event loop."""
    asyncio.run(_worker(pipe, host, per_connection))


async def _worker(pipe: Connection_, host: str, per_connection: int) -> None:
    loop = asyncio.get_running_loop()
    stats, subs, conns, readers = Stats(), list[Sub](), list[Connection](), list[asyncio.Task[None]]()
    while True:
        command, arg = await loop.run_in_executor(None, pipe.recv)
        if command == "open":
            new = [Sub(name, job_id) for name, job_id in arg]
            opened = [Connection(host, new[i : i + per_connection], stats)
                      for i in range(0, len(new), per_connection)]  # fmt: skip
            await open_all(opened)
            readers += [asyncio.create_task(c.read()) for c in opened]
            subs += new
            conns += opened
            pipe.send("ok")
        elif command == "wait":
            jobs, timeout = arg
            ending = subs
            for _ in range(int(timeout / 0.2)):  # the readers bump the counters this polls
                if all(s.ends >= (1 if s.job_id else jobs) for s in ending) or any(c.ended for c in conns):
                    break
                await asyncio.sleep(0.2)
            await asyncio.sleep(0.5)  # what else is on its way
            for r in readers:
                r.cancel()
            unions = {
                n: set().union(*(s.got for s in subs if s.field == n and s.job_id is None)) for n in FIELDS
            }
            pipe.send({
                "unions": unions,
                "unfiltered": [(s.field, len(s.got)) for s in subs if s.job_id is None],
                "filtered": [(s.field, s.job_id, s.got) for s in subs if s.job_id is not None],
                "lags": stats.lags.tobytes(), "deliveries": stats.deliveries, "last": stats.last,
                "ended": [c.ended for c in conns if c.ended],
                "not_whole": sum(s.not_whole for s in subs),
            })  # fmt: skip
            return


class Clients:
    """The subscriber processes, driven from the benchmark's event loop."""

    def __init__(self, host: str, n: int, per_connection: int) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.pipes = []
        self.procs = []
        for _ in range(n):
            mine, theirs = ctx.Pipe()
            proc = ctx.Process(target=worker_main, args=(theirs, host, per_connection), daemon=True)
            proc.start()
            self.pipes.append(mine)
            self.procs.append(proc)

    async def ask(self, messages: list[tuple[str, Any]]) -> list[Any]:
        loop = asyncio.get_running_loop()
        for pipe, message in zip(self.pipes, messages, strict=True):
            pipe.send(message)
        return await asyncio.gather(*(loop.run_in_executor(None, p.recv) for p in self.pipes))

    async def open(self, specs: list[tuple[str, str | None]]) -> None:
        n = len(self.pipes)
        answers = await self.ask([("open", specs[k::n]) for k in range(n)])
        if any(a != "ok" for a in answers):
            raise RuntimeError(answers)
