"""[4] transform: an entry point on SageMaker's container contract, in its own process like a container.

`GET /ping`, `GET /execution-parameters` (from `execution_parameters_fn`, else 404) and
`POST /invocations`. A handler's exception answers 500 (415 for a type the default handlers cannot
speak) with the exception's message as the body, which the emulator carries into the job's
FailureReason. The process reads its entry point from the container variables (SAGEMAKER_PROGRAM,
SAGEMAKER_SUBMIT_DIRECTORY, SM_MODEL_DIR); without them it serves the bundled demo model.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, TextIO

import httpx

from asyncml.transform_emulator.entry_point import (
    EntryPoint,
    EntryPointError,
    Handlers,
    InvocationFailed,
    load,
)
from asyncml.transform_emulator.invoke import TOKEN_HEADER

MODULE = "asyncml.transform_emulator.model_server"  # run as `python -m MODULE` in its own process
DEMO = EntryPoint(Path(__file__).with_name("demo_model.py"), Path(__file__).parent)
# Every answer carries the token its parent gave it, so the parent can tell its own child from another
# process that took the port after the child died.
TOKEN_ENV = "ASYNCML_EMULATOR_MODEL_TOKEN"
TIMEOUT_ENV, DEFAULT_TIMEOUT_S = "SAGEMAKER_MODEL_SERVER_TIMEOUT", 60.0  # the inference toolkit's default
ERROR_PREFIX = "error: "  # the child's first stdout line: its URL, or why it cannot serve


def build_app(handlers: Handlers, token: str = "", timeout_s: float = DEFAULT_TIMEOUT_S) -> Any:
    """The Starlette app serving `handlers` (already loaded: model_fn ran before the port opens).
    An invocation still running after `timeout_s` answers 500, as the containers' model server
    gives up on a worker after SAGEMAKER_MODEL_SERVER_TIMEOUT (its thread cannot be stopped)."""
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import Request
    from starlette.responses import JSONResponse, PlainTextResponse, Response
    from starlette.routing import Route

    extra = {TOKEN_HEADER: token} if token else {}

    async def ping(_: Request) -> Response:
        return Response(status_code=200, headers=extra)  # SageMaker wants 200 and an empty body

    async def execution_parameters(_: Request) -> Response:
        params = handlers.execution_parameters()
        if params is None:
            return Response(status_code=404, headers=extra)
        return JSONResponse(params, headers=extra)

    async def invocations(request: Request) -> Response:
        content_type = request.headers.get("content-type", "").split(";")[0].strip() or "application/json"
        accept = request.headers.get("accept", "").split(";")[0].strip()
        body = await request.body()
        try:
            # Prediction is CPU work: a worker thread keeps /ping and other requests answering meanwhile.
            call = run_in_threadpool(handlers.invoke, body, content_type, accept)
            answer, answer_type = await asyncio.wait_for(call, timeout_s)
        except TimeoutError:
            late = f"{handlers.program} did not answer within {timeout_s:g} s ({TIMEOUT_ENV})"
            print(late, file=sys.stderr, flush=True)
            return PlainTextResponse(late, status_code=500, headers=extra)
        except InvocationFailed as exc:
            traceback.print_exception(exc.__cause__ or exc, file=sys.stderr)  # the container's log
            return PlainTextResponse(str(exc), status_code=exc.status, headers=extra)
        return Response(answer, media_type=answer_type, headers=extra)

    return Starlette(
        routes=[
            Route("/ping", ping, methods=["GET"]),
            Route("/execution-parameters", execution_parameters, methods=["GET"]),
            Route("/invocations", invocations, methods=["POST"]),
        ]
    )


def serve(
    entry: EntryPoint | None,
    host: str = "127.0.0.1",
    port: int = 8080,
    *,
    announce: TextIO | None = None,
    env: Mapping[str, str] | None = None,
) -> None:
    """Load the entry point (the demo when None), then serve until interrupted; port 0 picks a free
    one. The URL goes to `announce` (stderr by default) once the port is open. EntryPointError first
    if it cannot load."""
    import uvicorn

    environ = os.environ if env is None else env
    entry = entry or EntryPoint.from_environment(environ) or DEMO
    os.environ.update(entry.environment())  # user code may read SM_MODEL_DIR as in the container
    handlers = load(entry, environ)
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)  # before the URL is announced: a client may connect before uvicorn runs
    timeout_s = float(environ.get(TIMEOUT_ENV) or DEFAULT_TIMEOUT_S)
    app = build_app(handlers, environ.get(TOKEN_ENV, ""), timeout_s)
    print(f"http://{host}:{sock.getsockname()[1]}", file=announce or sys.stderr, flush=True)
    config = uvicorn.Config(app, log_level="warning", access_log=False)
    uvicorn.Server(config).run(sockets=[sock])


class ModelProcess:
    """A model server in a subprocess, like a container: `.url`, `.token`, `.stop()`, a context manager."""

    def __init__(self, process: subprocess.Popen[str], url: str, token: str) -> None:
        self.process, self.url, self.token = process, url, token

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout:
            self.process.stdout.close()

    def __enter__(self) -> ModelProcess:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()


def start_model(
    entry: EntryPoint | None = None,
    *,
    port: int = 0,
    environment: Mapping[str, str] | None = None,
    timeout_s: float = 60.0,
) -> ModelProcess:
    """Start the entry point (the demo when None) in a child process and wait for /ping 200 from it.

    `environment`: a container's variables (see `request.container_environment`). EntryPointError,
    naming the file and the function, when it cannot load or does not answer within `timeout_s`."""
    entry = entry or DEMO
    token = secrets.token_urlsafe(16)
    env = {**os.environ, **(environment or {}), **entry.environment(), "SAGEMAKER_BATCH": "true"}
    env[TOKEN_ENV] = token  # in the environment, not argv: other local users can read a command line
    command = [sys.executable, "-m", MODULE, "--host", "127.0.0.1", "--port", str(port)]
    command += ["--parent-pid", str(os.getpid())]
    # Its own session: a terminal's Ctrl-C goes to the server alone, which stops the model itself
    # (a SIGINT reaching both made the model print a KeyboardInterrupt traceback on every Ctrl-C).
    process = subprocess.Popen(command, stdout=subprocess.PIPE, env=env, text=True, start_new_session=True)
    stdout = process.stdout
    assert stdout is not None
    first_line: list[str] = []  # the child prints its URL once model_fn returned and the port is open
    reader = threading.Thread(target=lambda: first_line.append(stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout_s)
    line = first_line[0].strip() if first_line else ""
    model = ModelProcess(process, "" if line.startswith(ERROR_PREFIX) else line, token)
    if line.startswith(ERROR_PREFIX):
        model.stop()
        raise EntryPointError(line.removeprefix(ERROR_PREFIX))
    deadline = time.monotonic() + timeout_s
    while model.url and model.alive() and time.monotonic() < deadline:
        try:
            answer = httpx.get(f"{model.url}/ping", timeout=2, trust_env=False)
            if answer.status_code == 200 and answer.headers.get(TOKEN_HEADER) == token:
                return model
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    model.stop()
    raise EntryPointError(
        f"{entry.program}: the model server did not answer /ping within {timeout_s:g}s of its start"
        f" (importing it and model_fn must finish by then; exit code {process.poll()})"
    )


def _exit_with_parent(pid: int) -> None:
    # A server killed with SIGKILL cannot stop its model: the model notices it was orphaned instead.
    def watch() -> None:
        while os.getppid() == pid:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch, daemon=True, name="parent-watch").start()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog=f"python -m {MODULE}", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080, help="0 picks a free port")
    parser.add_argument("--parent-pid", type=int, help="exit when this process is gone")
    args = parser.parse_args(argv)
    if args.parent_pid:
        _exit_with_parent(args.parent_pid)
    # stdout is the parent's channel (the URL line); what the entry point prints goes to stderr.
    channel, sys.stdout = sys.stdout, sys.stderr
    try:
        serve(None, args.host, args.port, announce=channel)
    except EntryPointError as exc:
        if exc.__cause__ is not None:
            traceback.print_exception(exc.__cause__, file=sys.stderr)
        print(ERROR_PREFIX + str(exc).replace("\n", " "), file=channel, flush=True)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
