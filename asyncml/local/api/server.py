"""[8] subscription (local API): the ASGI app: /graphql, /graphql/realtime, /healthz, the dashboard."""

from __future__ import annotations

import contextlib
import re
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

from asyncml.local.api.api_key import load_or_create_api_key
from asyncml.local.api.auth import HEADER, MISSING_KEY, WRONG_KEY, ApiKeyAuth, unauthorized
from asyncml.local.api.connections import uvicorn_limits
from asyncml.local.api.outbox import MAX_QUEUED_BYTES
from asyncml.local.api.realtime import INIT_WAIT, RealtimeEndpoint
from asyncml.local.api.realtime_session import KA_INTERVAL
from asyncml.local.api.schema import ApiContext, schema
from asyncml.local.api.view import GraphQLView, execute_json
from asyncml.local.broadcast import Broadcast
from asyncml.ports import Ports
from asyncml.settings import Settings

DASHBOARD_DIR = Path(__file__).resolve().parents[3] / "client_examples" / "dashboard"
# Pages on this machine (the dashboard from `npx serve`, a Vite dev server) may call the API; they
# still need the API key. Anything else is refused by the browser (HTTP) or by us (WebSocket).
LOOPBACK_ORIGIN = r"https?://(localhost|127\.0\.0\.1|\[::1\])(:\d+)?"
_LOOPBACK_HOST = re.compile(r"(localhost|127\.0\.0\.1|\[::1\])(:\d+)?")


class Runtime(Protocol):
    """What the app needs of the local stack (`wiring.LocalRuntime`; a fake in tests)."""

    @property
    def ports(self) -> Ports: ...

    @property
    def broadcast(self) -> Broadcast: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


def create_app(
    runtime: Runtime,
    api_key: str,
    *,
    ka_interval: float = KA_INTERVAL,
    dashboard_dir: Path | None = DASHBOARD_DIR,
    allowed_origins: Sequence[str] = (),
    on_ready: Callable[[], None] | None = None,
    max_queued_bytes: int = MAX_QUEUED_BYTES,
    init_wait: float = INIT_WAIT,
) -> Starlette:
    """The whole HTTP face. `allowed_origins` adds exact origins (beyond loopback ones) that may call
    the API from a browser; every caller still needs the API key. `max_queued_bytes`: how far one
    WebSocket connection may fall behind before it is closed; `init_wait`: how long a WebSocket may
    wait before its connection_init (tests lower both)."""
    auth = ApiKeyAuth(api_key)
    topics = runtime.broadcast
    origin_pattern = "|".join([LOOPBACK_ORIGIN, *map(re.escape, allowed_origins)])
    origin_re = re.compile(origin_pattern)

    def origin_ok(origin: str | None) -> bool:
        return origin is None or origin_re.fullmatch(origin) is not None

    def context() -> ApiContext:
        return ApiContext(ports=runtime.ports, topics=topics)

    graphql = GraphQLView(
        schema,
        context=context,
        auth=auth,
        origin_ok=origin_ok,
        max_queued_bytes=max_queued_bytes,
        init_wait=init_wait,
    )

    async def graphql_http(scope: Scope, receive: Receive, send: Send) -> None:
        # Every operation needs the key; a GET only serves GraphiQL (queries via GET are off).
        if scope["method"] == "POST":
            given = Headers(scope=scope).get(HEADER)
            if not auth.key_ok(given):
                refused = JSONResponse({"errors": [unauthorized(WRONG_KEY if given else MISSING_KEY)]}, 401)
                await refused(scope, receive, send)
                return
            answer = await execute_json(Request(scope, receive), context())
            await answer(scope, receive, send)
            return
        await graphql(scope, receive, send)

    realtime = RealtimeEndpoint(
        context=context,
        auth=auth,
        ka_interval=ka_interval,
        origin_ok=lambda ws: origin_ok(ws.headers.get("origin")),
        max_queued_bytes=max_queued_bytes,
        init_wait=init_wait,
    )

    async def healthz(_: Request) -> JSONResponse:
        stream: Any = runtime.ports.stream
        depth = len(stream) if hasattr(stream, "__len__") else None
        subscribers = {"onJobUpdated": len(topics.jobs), "onBatchUpdated": len(topics.batches)}
        return JSONResponse({"status": "ok", "queueDepth": depth, "subscribers": subscribers})

    async def config(request: Request) -> Response:
        return _config(request, api_key)

    routes: list[BaseRoute] = [
        Route("/graphql", _Asgi(graphql_http), methods=["GET", "POST"]),
        WebSocketRoute("/graphql", graphql),
        WebSocketRoute("/graphql/realtime", realtime.handle),
        Route("/healthz", healthz),
        Route("/config.json", config),
    ]
    if dashboard_dir is not None and (dashboard_dir / "index.html").is_file():
        routes.append(Mount("/", StaticFiles(directory=dashboard_dir, html=True)))

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        await runtime.start()
        if on_ready is not None:
            on_ready()
        try:
            yield
        finally:
            await runtime.stop()

    cors = Middleware(
        CORSMiddleware,
        allow_origin_regex=origin_pattern,
        allow_methods=["GET", "POST"],
        allow_headers=["content-type", "x-api-key"],
    )
    return Starlette(routes=routes, middleware=[cors], lifespan=lifespan)


class _Asgi:
    """Starlette routes call plain functions with a Request; an object is mounted as an ASGI app."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


def _config(request: Request, api_key: str) -> Response:
    """The dashboard's settings, API key included, for a page served by this very server only.

    Host must be loopback (a DNS-rebinding page arrives with its own host name), the caller must be
    on this machine, and a browser must say the request is same-origin (no CORS header is ever sent
    here, so another origin could not read the answer anyway)."""
    host = request.headers.get("host", "")
    client = request.client.host if request.client else ""
    site = request.headers.get("sec-fetch-site", "same-origin")
    if (
        not _LOOPBACK_HOST.fullmatch(host)
        or client not in ("127.0.0.1", "::1")
        or site not in ("same-origin", "none")
    ):
        return JSONResponse({"errors": [{"errorType": "Forbidden", "message": "only for this machine"}]}, 403)
    urls = {"graphqlUrl": f"http://{host}/graphql", "realtimeUrl": f"ws://{host}/graphql/realtime"}
    return JSONResponse({**urls, "apiKey": api_key}, headers={"cache-control": "no-store"})


def serve(settings: Settings) -> None:
    """`asyncml serve`: the local stack on settings.host:settings.port until interrupted."""
    import uvicorn

    from asyncml.local.wiring import build_runtime

    api_key = settings.api_key or load_or_create_api_key(settings.data_dir)
    base = f"http://{settings.host}:{settings.port}"

    def banner() -> None:
        print(f"asyncml: GraphQL   {base}/graphql  (GraphiQL in a browser)", flush=True)
        print(f"asyncml: real-time ws://{settings.host}:{settings.port}/graphql/realtime", flush=True)
        print(f"asyncml: dashboard {base}/", flush=True)
        print(f"asyncml: API key   {api_key}  (header x-api-key)", flush=True)

    class Server(uvicorn.Server):
        # uvicorn runs the lifespan before it binds the socket: announce the URLs only once a
        # client reading them can connect.
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets=sockets)
            if self.started:
                banner()

    app = create_app(build_runtime(settings), api_key)
    # permessage-deflate would spend a tenth of the server's CPU compressing small updates for a
    # loopback link; AppSync's endpoint does not offer it either.
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level="warning",
        ws_per_message_deflate=False,
        **uvicorn_limits(settings.request_timeout),
    )
    Server(config).run()
