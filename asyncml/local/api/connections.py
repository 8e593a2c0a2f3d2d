"""[8] subscription (local API): uvicorn's connection limits: header and idle timeouts, a connection cap.

uvicorn times out an idle keep-alive connection, but not one that never finishes its request line
and headers: a socket that sends "GET / HTTP/1.1\\r\\n" and stalls (slowloris) would hold a file
descriptor forever, and a few hundred of them exhaust the process's file limit."""

from __future__ import annotations

import asyncio
import resource
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

KEEP_ALIVE_TIMEOUT = 5  # seconds an idle keep-alive connection stays open (uvicorn's default)
MAX_HEADER_BYTES = 16 * 1024  # request line and headers; h11 answers 400 past it
MAX_CONNECTIONS = 1000
FILES_IN_RESERVE = 64  # descriptors kept for SQLite, the batch files and the model child


def connection_cap() -> int:
    """At most MAX_CONNECTIONS, and always fewer than the file descriptors the process may open."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return MAX_CONNECTIONS
    return max(1, min(MAX_CONNECTIONS, soft - FILES_IN_RESERVE))


class HeaderTimeoutH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, closing a connection whose request headers take over `header_timeout`."""

    header_timeout = 10.0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._header_timer: asyncio.TimerHandle | None = None
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is h11.IDLE:
            if self._header_timer is None:  # the start of a request: its headers are on a clock now
                self._arm()
        elif self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def connection_lost(self, exc: Exception | None) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._header_timer = self.loop.call_later(self.header_timeout, self._too_slow)

    def _too_slow(self) -> None:
        self._header_timer = None
        # IDLE: no request under way (a request being answered is DONE on their side).
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.close()


def uvicorn_limits(header_timeout: float) -> dict[str, Any]:
    """The uvicorn.Config arguments that bound what one client can hold."""
    protocol = type("H11Protocol", (HeaderTimeoutH11Protocol,), {"header_timeout": header_timeout})
    return {
        "http": protocol,
        "timeout_keep_alive": KEEP_ALIVE_TIMEOUT,
        "h11_max_incomplete_event_size": MAX_HEADER_BYTES,
        "limit_concurrency": connection_cap(),
    }
