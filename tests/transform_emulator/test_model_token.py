"""[4] transform: payloads go only to the model server the emulator started (the token it answers with)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from asyncml.settings import Settings
from asyncml.transform import build_request
from asyncml.transform_emulator.demo_model import DemoModel, start_demo_model
from asyncml.transform_emulator.job import run_transform_job


@pytest.fixture
def impostor() -> Iterator[tuple[str, list[bytes]]]:
    """What another local user could bind on a freed port: answers /ping 200, records payloads."""
    received: list[bytes] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_POST(self) -> None:
            received.append(self.rfile.read(int(self.headers["Content-Length"])))
            body = b"ok,1\n"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", received
    httpd.shutdown()


def batch(tmp_path: Path) -> dict[str, Any]:
    data = tmp_path / "asyncml-local" / "data"
    data.mkdir(parents=True)
    (data / "b1.csv").write_text("j1,5.1,3.5,1.4,0.2\n")
    return build_request(
        Settings(),
        "asyncml-20261202-120000-ab12cd34",
        s3_uri="s3://asyncml-local/data/b1.csv",
        data_type="S3Prefix",
        output_path="s3://asyncml-local/result/",
    )


async def test_a_server_without_our_token_gets_no_payload(
    tmp_path: Path, impostor: tuple[str, list[bytes]]
) -> None:
    url, received = impostor
    result = await run_transform_job(
        batch(tmp_path), bucket_root=tmp_path, model_url=url, model_token="ours", ready_timeout_s=1
    )
    assert result["TransformJobStatus"] == "Failed"
    assert "carried no token of the model server asyncml started" in result["FailureReason"]
    assert received == []  # no record left this process
    assert not (tmp_path / "asyncml-local" / "result" / "b1.csv.out").exists()


async def test_our_own_child_is_recognised_by_its_token(tmp_path: Path) -> None:
    model: DemoModel
    with start_demo_model() as model:
        result = await run_transform_job(
            batch(tmp_path), bucket_root=tmp_path, model_url=model.url, model_token=model.token
        )
    assert result["TransformJobStatus"] == "Completed", result.get("FailureReason")
    out = (tmp_path / "asyncml-local" / "result" / "b1.csv.out").read_text()
    assert out.startswith("j1,5.1,3.5,1.4,0.2,setosa,")
