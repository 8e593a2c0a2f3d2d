"""[8] subscription (local API): the ASGI app: /graphql, /graphql/realtime, /healthz, the dashboard."""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

from asyncml.local.api.api_key import load_or_create_api_key
from asyncml.local.api.auth import HEADER, MISSING_KEY, WRONG_KEY, ApiKeyAuth, unauthorized
from asyncml.local.api.connections import uvicorn_limits
from asyncml.local.api.console import (
    configure_logging,
    log,
    recovered_line,
    settings_line,
    warn_if_model_is_down,
)
from asyncml.local.api.downloads import download_routes
from asyncml.local.api.outbox import MAX_QUEUED_BYTES
from asyncml.local.api.realtime import INIT_WAIT, RealtimeEndpoint
from asyncml.local.api.realtime_session import KA_INTERVAL
from asyncml.local.api.schema import ApiContext, schema
from asyncml.local.api.view import GRAPHIQL_DIR, GraphQLView, execute_json
from asyncml.local.broadcast import Broadcast
from asyncml.local.metrics import CONTENT_TYPE, Metrics
from asyncml.ports import Ports
from asyncml.settings import Settings

DASHBOARD_DIR = Path(__file__).resolve().parents[3] / "client_examples" / "dashboard"
# Pages on this machine (the dashboard from `npx serve`, a Vite dev server) may call the API; they
# still need the API key. Anything else is refused by the browser (HTTP) or by us (WebSocket).
LOOPBACK_ORIGIN = r"https?://(localhost|127\.0\.0\.1|\[::1\])(:\d+)?"


class Runtime(Protocol):
    """What the app needs of the local stack (`wiring.LocalRuntime`; a fake in tests)."""

    @property
    def ports(self) -> Ports: ...

    @property
    def broadcast(self) -> Broadcast: ...

    @property
    def metrics(self) -> Metrics: ...

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
        subscribers = {
            "onJobUpdated": len(topics.jobs),
            "onJobsMoved": len(topics.moves),
            "onBatchUpdated": len(topics.batches),
        }
        # The buffer and the model are the pipeline's (in another process by default): asked off the loop.
        health = getattr(runtime, "pipeline_health", None)
        pipeline = await asyncio.to_thread(health) if health else {}
        model = pipeline.get("model") or {"status": "external"}
        down = model.get("status") == "down"  # jobs are still accepted; they run once it is back
        s = runtime.ports.settings  # the dashboard counts down to the next seal from these
        batching: dict[str, Any] = {"batchSize": s.batch_size, "batchWindowSeconds": s.batch_window}
        batching["sealInSeconds"] = pipeline.get("sealInSeconds")
        status = "degraded" if down else "ok"
        depth = pipeline.get("queueDepth")
        body = {"status": status, "queueDepth": depth, **batching, "subscribers": subscribers, "model": model}
        return JSONResponse(body, status_code=503 if down else 200)

    async def metrics(_: Request) -> Response:
        # No key, like /healthz: aggregate figures only (no job ids, payloads or key), and the
        # server binds 127.0.0.1 unless told otherwise. Prometheus scrapes it as it is.
        body = await asyncio.to_thread(runtime.metrics.render)  # the store's GROUP BY off the loop
        return Response(body, media_type=CONTENT_TYPE)

    # CORS on /graphql only, where every call needs the key: no other route answers another
    # origin's page, so a page elsewhere cannot even read /healthz or /config.json.
    graphql_cors = CORSMiddleware(
        _Asgi(graphql_http),
        allow_origin_regex=origin_pattern,
        allow_methods=["GET", "POST"],
        allow_headers=["content-type", "x-api-key"],
    )
    routes: list[BaseRoute] = [
        Route("/graphql", graphql_cors, methods=["GET", "POST", "OPTIONS"]),
        WebSocketRoute("/graphql", graphql),
        WebSocketRoute("/graphql/realtime", realtime.handle),
        Route("/healthz", healthz),
        Route("/metrics", metrics),
        Route("/config.json", _config),
        Mount("/graphiql", StaticFiles(directory=GRAPHIQL_DIR)),
        *download_routes(lambda: runtime.ports, auth),
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

    return Starlette(routes=routes, lifespan=lifespan)


class _Asgi:
    """Starlette routes call plain functions with a Request; an object is mounted as an ASGI app."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


async def _config(request: Request) -> Response:
    """The dashboard's URLs, as this server is reached. Never the API key: any local process could
    ask for it. The dashboard gets the key from the link `asyncml serve` prints (`#apiKey=…`, a
    fragment, which no browser sends to a server) or from the user."""
    host = request.headers.get("host") or f"{request.url.hostname}:{request.url.port}"
    urls = {"graphqlUrl": f"http://{host}/graphql", "realtimeUrl": f"ws://{host}/graphql/realtime"}
    return JSONResponse(urls, headers={"cache-control": "no-store"})


def serve(settings: Settings) -> None:
    """`asyncml serve`: the local stack on settings.host:settings.port until interrupted."""
    import uvicorn

    from asyncml.local.wiring import build_api_runtime, build_runtime

    api_key = settings.api_key or load_or_create_api_key(settings.data_dir)
    base = f"http://{settings.host}:{settings.port}"

    def banner() -> None:
        # GraphiQL takes the key from the fragment too (static/graphiql/asyncml-graphiql.js).
        graphiql = f"{base}/graphql#apiKey={quote(api_key, safe='')}"
        print(f"asyncml: GraphQL   {base}/graphql  (GraphiQL: {graphiql})", flush=True)
        print(f"asyncml: real-time ws://{settings.host}:{settings.port}/graphql/realtime", flush=True)
        # The key rides in the fragment: the browser keeps it from the server and from logs.
        print(f"asyncml: dashboard {base}/#apiKey={quote(api_key, safe='')}", flush=True)
        print(f"asyncml: API key   {api_key}  (header x-api-key)", flush=True)

    runtime = build_api_runtime(settings) if settings.pipeline_process else build_runtime(settings)
    configure_logging()

    class Server(uvicorn.Server):
        # uvicorn runs the lifespan before it binds the socket: announce the URLs only once a
        # client reading them can connect.
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets=sockets)
            if self.started:
                banner()
                log.info(settings_line(settings, runtime.model_url))
                if any(runtime.recovered.values()):
                    log.info("picked up from the last run: %s", recovered_line(runtime.recovered))
                if settings.model_url:
                    checks.add(asyncio.create_task(warn_if_model_is_down(settings.model_url)))

    checks: set[asyncio.Task[bool]] = set()  # held so the task is not collected before it runs
    runtime.start_model()  # before the API opens: an entry point that cannot load stops the start here
    app = create_app(runtime, api_key)
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
    # uvicorn shuts down cleanly on Ctrl-C and then raises the signal again for its host to see;
    # here the host is a terminal, which wants no traceback.
    with contextlib.suppress(KeyboardInterrupt):
        Server(config).run()
