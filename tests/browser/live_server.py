"""A real `asyncml serve` subprocess on 127.0.0.1 for client tests; restartable on the same port."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

import httpx

START_TIMEOUT = 30.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    """`asyncml serve` with a fixed data dir, port and API key, so a restart is the same server to clients."""

    def __init__(
        self,
        data_dir: Path,
        *,
        batch_size: int = 500,
        batch_window: float = 0.3,
        model_url: str | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.api_key = "da2-testclientexamples0000000"
        self.args = ["--batch-size", str(batch_size), "--batch-window", str(batch_window)]
        self.args += ["--model-url", model_url] if model_url else []
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = data_dir.parent / f"asyncml-serve-{self.port}.log"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def graphql_url(self) -> str:
        return f"{self.base_url}/graphql"

    def start(self) -> LiveServer:
        cmd = [sys.executable, "-m", "asyncml.cli", "serve", "--port", str(self.port)]
        cmd += ["--data-dir", str(self.data_dir), "--api-key", self.api_key, *self.args]
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                code = self.proc.returncode
                raise RuntimeError(f"asyncml serve exited with {code}:\n{self.log.read_text()}")
            try:
                if httpx.get(f"{self.base_url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.stop()
        text = self.log.read_text()
        raise RuntimeError(f"asyncml serve did not answer /healthz in {START_TIMEOUT} s:\n{text}")

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def graphql(self, query: str, **variables: object) -> dict[str, object]:
        """One HTTP GraphQL call with the API key; fails the test on GraphQL errors."""
        answer = httpx.post(
            self.graphql_url,
            json={"query": query, "variables": variables},
            headers={"x-api-key": self.api_key},
            timeout=10,
        ).json()
        assert not answer.get("errors"), answer
        data: dict[str, object] = answer["data"]
        return data

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
