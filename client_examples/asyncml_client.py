"""What the client examples share: endpoints, the API key, HTTP GraphQL, and AppSync subscriptions.

The same code talks to `asyncml serve` and to a deployed AppSync API; only the URL and key change.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
from typing import Any
from urllib.parse import urlsplit

from gql import Client, GraphQLRequest
from gql.transport.aiohttp import AIOHTTPTransport
from gql.transport.appsync_auth import AppSyncApiKeyAuthentication
from gql.transport.appsync_websockets import AppSyncWebsocketsTransport
from gql.transport.exceptions import TransportQueryError

DEFAULT_URL = "http://127.0.0.1:8000/graphql"
JOB_FIELDS = "jobId status payload result error batchId transformJobName submittedAt updatedAt completedAt"
TERMINAL = frozenset({"COMPLETED", "FAILED", "CANCELLED"})
# Events arrive at least once and out of order: only a move forward is news.
RANK = {"QUEUED": 0, "BATCHED": 1, "PROCESSING": 2, "COMPLETED": 3, "FAILED": 3, "CANCELLED": 3}
APPSYNC_HOST = re.compile(r"[a-z0-9]+\.appsync-api\.[a-z0-9-]+\.amazonaws\.com(\.cn)?", re.IGNORECASE)


def add_connection_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--url",
        default=os.environ.get("ASYNCML_URL", DEFAULT_URL),
        help=f"GraphQL URL (env ASYNCML_URL; default {DEFAULT_URL})",
    )
    parser.add_argument(
        "--api-key",
        default=os.environ.get("ASYNCML_API_KEY"),
        help="API key (env ASYNCML_API_KEY; `asyncml serve` prints it)",
    )


def require_api_key(parser: argparse.ArgumentParser, args: argparse.Namespace) -> str:
    if not args.api_key:
        parser.error("no API key: pass --api-key or set ASYNCML_API_KEY")
    return str(args.api_key)


def realtime_url(graphql_url: str) -> str:
    """Where AppSync's real-time endpoint is for a GraphQL URL.

    AppSync: https://X.appsync-api.R.amazonaws.com/graphql -> wss://X.appsync-realtime-api.R.amazonaws.com/graphql
    (gql makes the same two replacements itself). A custom domain or the local server: <url>/realtime,
    wss for https and ws for http."""
    parts = urlsplit(graphql_url)
    if APPSYNC_HOST.fullmatch(parts.hostname or ""):
        return f"wss://{parts.netloc.replace('.appsync-api.', '.appsync-realtime-api.')}/graphql"
    scheme = "wss" if parts.scheme == "https" else "ws"
    return f"{scheme}://{parts.netloc}{parts.path.rstrip('/')}/realtime"


def http_client(graphql_url: str, api_key: str) -> Client:
    """Queries and mutations go over HTTP: AppSync's socket carries subscriptions only."""
    return Client(transport=AIOHTTPTransport(url=graphql_url, headers={"x-api-key": api_key}))


class StartAckTransport(AppSyncWebsocketsTransport):
    """gql's AppSync transport, plus a count of `start_ack`s.

    gql ignores AppSync's start_ack, but it is the only moment a client knows the server has its
    subscription: anything read over HTTP after it cannot miss a move, since later moves arrive as
    events. (This overrides a private hook of gql 4.x; without it, wait a second instead.)"""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.acks = 0
        self._ack = asyncio.Event()

    def _parse_answer(self, answer: str) -> Any:
        parsed = super()._parse_answer(answer)
        if parsed[0] == "start_ack":
            self.acks += 1
            self._ack.set()
        return parsed

    async def wait_started(self, count: int = 1) -> None:
        """Until `count` subscriptions of this connection are registered by the server."""
        while self.acks < count:
            self._ack.clear()
            await self._ack.wait()


def realtime_client(graphql_url: str, api_key: str) -> tuple[Client, StartAckTransport]:
    # The auth object names the API host (appsync-api or the custom domain), never the realtime host.
    auth = AppSyncApiKeyAuthentication(host=urlsplit(graphql_url).netloc, api_key=api_key)
    transport = StartAckTransport(url=realtime_url(graphql_url), auth=auth)
    return Client(transport=transport), transport


def request(query: str, **variables: Any) -> GraphQLRequest:
    return GraphQLRequest(query, variable_values=variables or None)


def explain(exc: BaseException) -> str:
    """One line for a user: the API's own error (errorType: message) when there is one."""
    if isinstance(exc, TransportQueryError) and exc.errors:
        first = exc.errors[0]
        kind = first.get("errorType") or (first.get("extensions") or {}).get("errorType")
        return f"{kind}: {first.get('message')}" if kind else str(first.get("message"))
    return f"{type(exc).__name__}: {exc}"
