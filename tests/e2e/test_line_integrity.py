"""Through the emulator and the results reader alike, only `\n` ends a line: a model's bare CR moves
no record onto another's line."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from asyncml.local.wiring import build_runtime
from asyncml.model import BatchStatus
from asyncml.settings import Settings
from asyncml.submit import SubmitInput, submit_jobs
from tests.e2e.test_local_pipeline import wait_terminal

PAYLOADS = ["1,1", "2,2", "3,3", "4,4", "5,5"]


class CrModel(BaseHTTPRequestHandler):
    """Answers `label-<first column>` per line; for record "3,3" the label holds a bare CR."""

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/ping" else 404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        lines = [line.split(b",")[0] for line in body.split(b"\n") if line]
        answer = b"".join(b"label-" + x + (b"\rodd" if x == b"3" else b"") + b"\n" for x in lines)
        self.send_response(200)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)


@pytest.fixture
def cr_model() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), CrModel)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


async def test_a_bare_cr_in_one_model_output_leaves_the_other_four_records_completed(
    tmp_path: Path, cr_model: str
) -> None:
    settings = Settings(data_dir=tmp_path / "data", batch_size=5, batch_window=30, model_url=cr_model)
    rt = build_runtime(settings)
    await rt.start()
    try:
        ids = [j.job_id for j in submit_jobs(rt.ports, [SubmitInput(p) for p in PAYLOADS])]  # fills a batch
        jobs = await wait_terminal(rt, ids)
        batch = rt.ports.store.get_batch(jobs[0].batch_id or "")
    finally:
        await rt.stop()
    assert [j.result for j in jobs] == ["label-1", "label-2", "label-3\rodd", "label-4", "label-5"]
    assert batch is not None and batch.status is BatchStatus.COMPLETED
    assert (batch.completed_count, batch.failed_count, batch.job_count) == (5, 0, 5)
