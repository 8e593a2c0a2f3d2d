"""[4] transform: records/s through the Batch Transform emulator: demo model, your entry point, echo model.

Run: .venv/bin/python bench/transform_emulator.py [--records 100000]
The demo model and client_examples/own_model/inference.py (trained by its train.py) both run on the
entry-point server (`model_server`), as `asyncml serve` runs them. The echo model answers each
mini-batch with its own body at once, so that run measures the emulator's own overhead (reading,
filtering, batching, HTTP, joining, writing); "emulator CPU" counts only this process's CPU time,
i.e. what the emulator could sustain with an infinitely fast model.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from asyncml.settings import Settings
from asyncml.transform import build_request
from asyncml.transform_emulator.demo_model import start_demo_model
from asyncml.transform_emulator.entry_point import EntryPoint
from asyncml.transform_emulator.job import run_transform_job
from asyncml.transform_emulator.model_server import start_model

OWN_MODEL = Path(__file__).resolve().parents[1] / "client_examples" / "own_model"


def echo_server(port_out: Any) -> None:
    """A model server that answers instantly: the request body is the response (one line per line)."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    async def ping(_: Request) -> Response:
        return Response()

    async def invocations(request: Request) -> Response:
        return Response(await request.body(), media_type="text/csv")

    app = Starlette(routes=[Route("/ping", ping), Route("/invocations", invocations, methods=["POST"])])
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    print(f"http://127.0.0.1:{sock.getsockname()[1]}", file=port_out, flush=True)
    uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False)).run(sockets=[sock])


def request(name: str, concurrency: int, payload_mb: int, strategy: str = "MultiRecord") -> dict[str, Any]:
    """Exactly what asyncml's local runtime sends for a CSV batch file."""
    settings = Settings(max_payload_mb=payload_mb, max_concurrent_transforms=concurrency)
    req = build_request(
        settings,
        name,
        s3_uri=f"s3://asyncml-local/data/{name}.csv",
        data_type="S3Prefix",
        output_path="s3://asyncml-local/result/",
    )
    req["BatchStrategy"] = strategy
    return req


def write_batch(root: Path, name: str, records: int) -> None:
    path = root / "asyncml-local" / "data" / f"{name}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = ("5.1,3.5,1.4,0.2", "6.7,3.0,5.2,2.3", "5.9,3.0,4.2,1.5")
    lines = (f"20261125-120000-ab12cd34-{i:06d},{rows[i % 3]}\n" for i in range(records))
    path.write_text("".join(lines))


def run_once(root: Path, url: str, records: int, **kw: Any) -> tuple[float, float, str]:
    name = f"bench-{kw['concurrency']}-{kw['payload_mb']}-{kw.get('strategy', 'MultiRecord')}-{records}"
    name = name.replace("Record", "")
    write_batch(root, name, records)
    cpu, wall = time.process_time(), time.perf_counter()
    result = asyncio.run(run_transform_job(request(name, **kw), bucket_root=root, model_url=url))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    lines = (root / "asyncml-local" / "result" / f"{name}.csv.out").read_text().count("\n")
    assert result["TransformJobStatus"] == "Completed" and lines == records, result.get("FailureReason")
    return records / wall, records / cpu, result["TransformJobStatus"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--echo-server", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.echo_server:
        return echo_server(sys.stdout)
    n = args.records
    rows: list[tuple[str, float, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        with start_demo_model() as model:
            for concurrency in (1, 2, 4):
                wall, cpu = run_once(root, model.url, n, concurrency=concurrency, payload_mb=1)[:2]
                rows.append(
                    (f"demo model, MaxConcurrentTransforms {concurrency}, MaxPayloadInMB 1", wall, cpu)
                )
            wall, cpu = run_once(root, model.url, n, concurrency=2, payload_mb=6)[:2]
            rows.append(("demo model, MaxConcurrentTransforms 2, MaxPayloadInMB 6", wall, cpu))
        model_dir = root / "own-model"
        subprocess.run(
            [sys.executable, str(OWN_MODEL / "train.py"), "--model-dir", str(model_dir)], check=True
        )
        with start_model(EntryPoint(OWN_MODEL / "inference.py", model_dir)) as model:
            for concurrency in (1, 2):
                wall, cpu = run_once(root, model.url, n, concurrency=concurrency, payload_mb=1)[:2]
                rows.append(
                    (
                        f"own_model entry point, MaxConcurrentTransforms {concurrency}, MaxPayloadInMB 1",
                        wall,
                        cpu,
                    )
                )
        echo = subprocess.Popen(
            [sys.executable, __file__, "--echo-server"], stdout=subprocess.PIPE, text=True
        )
        try:
            assert echo.stdout is not None
            url = echo.stdout.readline().strip()
            for concurrency in (1, 4):
                wall, cpu = run_once(root, url, n, concurrency=concurrency, payload_mb=1)[:2]
                rows.append(
                    (f"echo model, MaxConcurrentTransforms {concurrency}, MaxPayloadInMB 1", wall, cpu)
                )
            wall, cpu = run_once(root, url, n, concurrency=1, payload_mb=6)[:2]
            rows.append(("echo model, MaxConcurrentTransforms 1, MaxPayloadInMB 6", wall, cpu))
            small = 5_000
            wall, cpu = run_once(root, url, small, concurrency=4, payload_mb=6, strategy="SingleRecord")[:2]
            rows.append(
                (f"echo model, SingleRecord ({small:,} records), MaxConcurrentTransforms 4", wall, cpu)
            )
        finally:
            echo.terminate()
            echo.wait()
    version = sys.version.split()[0]
    print(f"{n:,}-line asyncml CSV batch (InputFilter $[1:], JoinSource Input), Python {version}\n")
    print("| run | records/s (wall) | records/s of emulator CPU |")
    print("|---|---:|---:|")
    for label, wall, cpu in rows:
        print(f"| {label} | {wall:,.0f} | {cpu:,.0f} |")


if __name__ == "__main__":
    main()
