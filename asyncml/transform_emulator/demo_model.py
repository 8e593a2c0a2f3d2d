"""[4] transform: the bundled demo model, an iris classifier served on SageMaker's container contract.

Input records carry 4 numbers (sepal length, sepal width, petal length, petal width, in cm):
- `text/csv`: `5.1,3.5,1.4,0.2` per line;
- `application/jsonlines`: `[5.1, 3.5, 1.4, 0.2]` or `{"features": [5.1, 3.5, 1.4, 0.2]}` per line.
Output, one line per input line, in the Accept type (default: the input's type):
- `text/csv`: `setosa,0.97...,0.02...,0.00...` (class name, then one probability per class);
- `application/jsonlines`: `{"label": "setosa", "probabilities": {"setosa": 0.97, ...}}`.
A malformed record gets a placeholder (`ERROR`, or `{"error": "..."}` in JSON Lines) so lines stay
aligned with the input, as SageMaker advises for custom containers.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from types import TracebackType
from typing import Any, TextIO

import httpx

CSV, JSONL = "text/csv", "application/jsonlines"
# What the container prefers; a request's own values win (SageMaker's precedence).
MODULE = "asyncml.transform_emulator.demo_model"  # run as `python -m MODULE` in its own process
EXECUTION_PARAMETERS = {"MaxConcurrentTransforms": 2, "BatchStrategy": "MULTI_RECORD", "MaxPayloadInMB": 6}
_BAD = "expected 4 numeric features"


class IrisModel:
    """scikit-learn LogisticRegression trained on the iris data that ships with scikit-learn (no download)."""

    def __init__(self) -> None:
        from sklearn.datasets import load_iris
        from sklearn.linear_model import LogisticRegression

        iris = load_iris()
        self.classes: list[str] = [str(name) for name in iris.target_names]
        self._model = LogisticRegression(max_iter=1000).fit(iris.data, iris.target)

    def predict_lines(self, text: str, content_type: str, accept: str) -> str:
        lines = text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()  # the payload's final newline ends the last record
        parse = _parse_csv if content_type == CSV else _parse_json
        rows = [parse(line) for line in lines]
        good = [row for row in rows if row is not None]
        probs = iter(self._model.predict_proba(good).tolist() if good else [])
        out = []
        for row in rows:
            if row is None:
                out.append("ERROR" if accept == CSV else json.dumps({"error": _BAD}))
                continue
            p = next(probs)
            label = self.classes[max(range(len(p)), key=p.__getitem__)]
            if accept == CSV:
                out.append(label + "," + ",".join(f"{x:.6f}" for x in p))
            else:
                scores = {name: round(x, 6) for name, x in zip(self.classes, p, strict=True)}
                out.append(json.dumps({"label": label, "probabilities": scores}))
        return "".join(line + "\n" for line in out)


def _features(values: Any) -> list[float] | None:
    if not isinstance(values, list) or len(values) != 4:
        return None
    if not all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in values):
        return None
    return [float(v) for v in values]


def _parse_csv(line: str) -> list[float] | None:
    try:
        return _features([float(v) for v in line.split(",")])
    except ValueError:
        return None


def _parse_json(line: str) -> list[float] | None:
    try:
        value = json.loads(line)
    except ValueError:
        return None
    return _features(value.get("features") if isinstance(value, dict) else value)


def build_app() -> Any:
    """The Starlette app; the model is trained here, once (milliseconds on iris)."""
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import Request
    from starlette.responses import JSONResponse, PlainTextResponse, Response
    from starlette.routing import Route

    model = IrisModel()
    formats = (CSV, JSONL, "application/json")

    async def ping(_: Request) -> Response:
        return Response(status_code=200)  # SageMaker wants 200 and an empty body

    async def execution_parameters(_: Request) -> Response:
        return JSONResponse(EXECUTION_PARAMETERS)

    async def invocations(request: Request) -> Response:
        content_type = request.headers.get("content-type", CSV).split(";")[0].strip() or CSV
        accept = request.headers.get("accept", "").split(";")[0].strip()
        accept = content_type if accept in ("", "*/*") else accept
        if content_type not in formats or accept not in formats:
            return PlainTextResponse(f"supported types: {', '.join(formats)}", status_code=415)
        text = (await request.body()).decode("utf-8", "replace")
        kind = CSV if content_type == CSV else JSONL
        out_kind = CSV if accept == CSV else JSONL
        # Prediction is CPU work: a worker thread keeps /ping and other requests answering meanwhile.
        body = await run_in_threadpool(model.predict_lines, text, kind, out_kind)
        return Response(body, media_type=accept)

    return Starlette(
        routes=[
            Route("/ping", ping, methods=["GET"]),
            Route("/execution-parameters", execution_parameters, methods=["GET"]),
            Route("/invocations", invocations, methods=["POST"]),
        ]
    )


def serve_model(host: str = "127.0.0.1", port: int = 8080, *, announce: TextIO | None = None) -> None:
    """Serve until interrupted; port 0 picks a free one. The URL goes to `announce` (stderr by default)."""
    import uvicorn

    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    app = build_app()
    print(f"http://{host}:{sock.getsockname()[1]}", file=announce or sys.stderr, flush=True)
    config = uvicorn.Config(app, log_level="warning", access_log=False)
    uvicorn.Server(config).run(sockets=[sock])


class DemoModel:
    """The demo model in a subprocess, like a container: `.url`, `.stop()`, usable as a context manager."""

    def __init__(self, process: subprocess.Popen[str], url: str) -> None:
        self.process, self.url = process, url

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

    def __enter__(self) -> DemoModel:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()


def start_demo_model(
    port: int = 0, *, environment: Mapping[str, str] | None = None, timeout_s: float = 30.0
) -> DemoModel:
    """Start it, wait for /ping 200. `environment`: a container's variables (see `container_environment`)."""
    env = {**os.environ, **(environment or {}), "SAGEMAKER_BATCH": "true"}
    command = [sys.executable, "-m", MODULE, "--host", "127.0.0.1", "--port", str(port)]
    command += ["--parent-pid", str(os.getpid())]
    # Its own session: a terminal's Ctrl-C goes to the server alone, which stops the model itself
    # (a SIGINT reaching both made the model print a KeyboardInterrupt traceback on every Ctrl-C).
    process = subprocess.Popen(command, stdout=subprocess.PIPE, env=env, text=True, start_new_session=True)
    stdout = process.stdout
    assert stdout is not None
    first_line: list[str] = []  # the child prints its URL once it is bound
    reader = threading.Thread(target=lambda: first_line.append(stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout_s)
    model = DemoModel(process, first_line[0].strip() if first_line else "")
    deadline = time.monotonic() + timeout_s
    while model.url and process.poll() is None and time.monotonic() < deadline:
        try:
            if httpx.get(f"{model.url}/ping", timeout=2, trust_env=False).status_code == 200:
                return model
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    model.stop()
    raise RuntimeError(
        f"the demo model did not answer /ping within {timeout_s:g}s (exit code {process.poll()})"
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
    serve_model(args.host, args.port, announce=sys.stdout)


if __name__ == "__main__":
    main()
