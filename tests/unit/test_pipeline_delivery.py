"""The API side of the pipeline process hands the child's updates to the API's Publisher in the order
the child sent them: on the API's event loop while it runs, and on the receiving thread once that
loop is gone (a server stopping still delivers what is in flight)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from multiprocessing.connection import Connection
from typing import Any

import pytest

from asyncml.local.pipeline_process import UNDELIVERED_MAX, PipelineProcess
from asyncml.settings import Settings


class Recording:
    """A Publisher that notes what it was handed, and on which thread."""

    def __init__(self) -> None:
        self.got: list[tuple[str, Any]] = []
        self.threads: set[str] = set()

    def publish_jobs(self, jobs: Any) -> None:
        self._note("jobs", jobs)

    def publish_moves(self, moves: Any) -> None:
        self._note("moves", moves)

    def publish_batch(self, batch: Any) -> None:
        self._note("batch", batch)

    def _note(self, kind: str, arg: Any) -> None:
        self.got.append((kind, arg))
        self.threads.add(threading.current_thread().name)


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    running = asyncio.new_event_loop()
    thread = threading.Thread(target=running.run_forever, name="api-loop", daemon=True)
    thread.start()
    yield running
    if not running.is_closed():
        running.call_soon_threadsafe(running.stop)
        thread.join(10)
        running.close()


def receiving(
    publisher: Recording, loop: asyncio.AbstractEventLoop | None
) -> tuple[PipelineProcess, Connection]:
    """The API side reading one end of a socket pair; the test writes the child's end."""
    api_end, child_end = socket.socketpair()
    pipeline = PipelineProcess(Settings(), publisher)
    pipeline.loop = loop
    pipeline._stopping = True  # the line closing at the end is no crash: nothing to start again
    threading.Thread(target=pipeline._receive, args=(Connection(api_end.detach()),), daemon=True).start()
    return pipeline, Connection(child_end.detach())


def sent(n: int) -> list[tuple[str, Any]]:
    kinds = ("jobs", "moves", "batch")
    return [(kinds[i % 3], f"update-{i}") for i in range(n)]


def until(check: Any, within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, "not delivered in time"
        time.sleep(0.01)


def test_updates_reach_the_publisher_in_order_on_the_apis_loop(loop: asyncio.AbstractEventLoop) -> None:
    publisher = Recording()
    _, child = receiving(publisher, loop)
    messages = sent(3 * UNDELIVERED_MAX)  # more than may wait on the loop at once
    for message in messages:
        child.send(message)
    until(lambda: len(publisher.got) == len(messages))
    assert publisher.got == messages
    assert publisher.threads == {"api-loop"}
    child.close()


def test_a_loop_that_lags_loses_nothing_and_keeps_the_order(loop: asyncio.AbstractEventLoop) -> None:
    publisher = Recording()
    _, child = receiving(publisher, loop)
    release = threading.Event()
    loop.call_soon_threadsafe(release.wait)  # the loop is busy: nothing it was handed runs yet
    messages = sent(2 * UNDELIVERED_MAX)
    for message in messages:
        child.send(message)
    try:
        time.sleep(0.2)  # whatever the receiving thread does meanwhile, nothing may bypass the loop
        assert publisher.got == []
    finally:
        release.set()
    until(lambda: len(publisher.got) == len(messages))
    assert publisher.got == messages
    child.close()


def test_without_a_running_loop_the_receiving_thread_delivers(loop: asyncio.AbstractEventLoop) -> None:
    loop.call_soon_threadsafe(loop.stop)
    until(lambda: not loop.is_running())
    loop.close()
    publisher = Recording()
    _, child = receiving(publisher, loop)
    messages = sent(10)
    for message in messages:
        child.send(message)
    until(lambda: len(publisher.got) == len(messages))
    assert publisher.got == messages
    assert "api-loop" not in publisher.threads
    child.close()
