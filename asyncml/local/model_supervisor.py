"""[4] transform (local): the model server's child process, supervised: restarted when it dies.

A dead child is reaped at once (no zombie), reported as down (`/healthz` answers 503), and started
again after a backoff that doubles while it keeps dying (0.5 s up to 30 s) and resets once a child
has lived a minute. Each start is a new generation with a new port and token: a transform job
remembers the generation it started on, so the runner can tell that the model died under it, and
the emulator sends nothing to a server that does not answer with the current token.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

log = logging.getLogger(__name__)

FIRST_BACKOFF_S, MAX_BACKOFF_S = 0.5, 30.0
STABLE_S = 60.0  # a child that lived this long resets the backoff
WATCH_S = 0.2


class Child(Protocol):
    """What the supervisor needs of a started model server (`model_server.ModelProcess`)."""

    url: str
    token: str

    def alive(self) -> bool: ...

    def stop(self) -> None: ...


@dataclass(frozen=True)
class Endpoint:
    """Where to send a job, and how to know the server is still the one the job started on."""

    url: str
    token: str | None
    generation: int


class ModelSupervisor:
    """Owns the model child. `start()` once (its EntryPointError stops `asyncml serve`), then `watch()`."""

    def __init__(self, start: Callable[[], Child]) -> None:
        self._start = start
        self._child: Child | None = None
        self._lock = threading.Lock()  # the runner reads from worker threads
        self._up = threading.Event()
        self.generation = 0
        self.restarts = 0
        self.last_exit = ""
        self._started_at = 0.0

    def start(self) -> None:
        self._adopt(self._start())

    def _adopt(self, child: Child) -> None:
        with self._lock:
            self._child = child
            self.generation += 1
            self._started_at = time.monotonic()
        self._up.set()

    @property
    def up(self) -> bool:
        return self._up.is_set()

    def endpoint(self) -> Endpoint | None:
        """The live child's endpoint, None while down. A death the watch loop has not noticed yet
        counts as down: a job must not be handed a dead server's URL."""
        with self._lock:
            child = self._child
            if child is not None and not child.alive():
                self._up.clear()
            if child is None or not self._up.is_set():
                return None
            return Endpoint(child.url, child.token, self.generation)

    def is_current(self, generation: int) -> bool:
        """True while the server of `generation` is the live one (the emulator asks before each call).
        It looks at the process itself: the watch loop may not have noticed a death yet."""
        child = self._child
        return self._up.is_set() and self.generation == generation and child is not None and child.alive()

    async def wait_up(self, timeout_s: float) -> Endpoint | None:
        """The current endpoint, waiting up to `timeout_s` for a restart; None if still down."""
        if self.endpoint() is None:
            await asyncio.to_thread(self._up.wait, timeout_s)
        return self.endpoint()

    def health(self) -> dict[str, object]:
        state = "up" if self.up else "down"
        return {"status": state, "restarts": self.restarts, "lastExit": self.last_exit or None}

    async def watch(self) -> None:
        """Until cancelled: notice a dead child, reap it, start another with backoff."""
        backoff = FIRST_BACKOFF_S
        while True:
            await asyncio.sleep(WATCH_S)
            child = self._child
            if child is None or child.alive():
                continue
            lived = time.monotonic() - self._started_at
            self._up.clear()
            code = getattr(getattr(child, "process", None), "returncode", None)
            self.last_exit = f"the model server exited with code {code}"
            await asyncio.to_thread(child.stop)  # waits on it: the dead child is reaped, no zombie
            backoff = FIRST_BACKOFF_S if lived >= STABLE_S else backoff
            log.warning("%s after %.0f s; starting it again in %.1f s", self.last_exit, lived, backoff)
            while True:
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_S)
                try:
                    fresh = await asyncio.to_thread(self._start)
                except Exception as exc:  # e.g. the entry point was edited into one that does not load
                    self.last_exit = f"the model server could not start again: {exc}"
                    log.warning("%s; next try in %.1f s", self.last_exit, backoff)
                    continue
                self.restarts += 1
                self._adopt(fresh)
                break

    def stop(self) -> None:
        self._up.clear()
        with self._lock:
            child, self._child = self._child, None
        if child is not None:
            child.stop()
