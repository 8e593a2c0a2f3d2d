"""The README's walk-through, run as a reader runs it: its shell blocks, unchanged, in bash, against
a real `asyncml serve` started with the defaults in a folder laid out like the repository root."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.browser.live_server import free_port

ROOT = Path(__file__).resolve().parents[2]
BEGIN, END = "<!-- readme-walkthrough: begin", "<!-- readme-walkthrough: end -->"


def walkthrough_blocks(readme: str) -> list[str]:
    """The ```sh blocks between the walk-through markers."""
    section = readme[readme.index(BEGIN) : readme.index(END)]
    return re.findall(r"^```sh\n(.*?)^```$", section, flags=re.DOTALL | re.MULTILINE)


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, str]]]:
    """A folder with `.venv` and `client_examples/` where the README expects them, and `asyncml
    serve` running in it on a free port named only by ASYNCML_PORT; its data dir is the default
    `.asyncml` there, so the README's `cat .asyncml/api_key` reads this server's key."""
    root = tmp_path_factory.mktemp("checkout")
    (root / ".venv").symlink_to(Path(sys.prefix))
    (root / "client_examples").symlink_to(ROOT / "client_examples")
    port = free_port()
    env = {**os.environ, "ASYNCML_PORT": str(port), "PYTHONUNBUFFERED": "1", "NO_PROXY": "127.0.0.1"}
    for name in ("ASYNCML_URL", "ASYNCML_API_KEY", "ASYNCML_DATA_DIR", "ASYNCML_HOST"):
        env.pop(name, None)
    log = root / "serve.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "asyncml.cli", "serve"], cwd=root, env=env, stdout=out, stderr=out
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1, trust_env=False).is_success:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        yield root, env
    finally:
        server.terminate()
        server.wait(15)


def run_block(checkout: tuple[Path, dict[str, str]], block: str) -> subprocess.CompletedProcess[str]:
    root, env = checkout
    cmd = ["bash", "-e", "-c", block]
    return subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, timeout=180, check=False)


def test_the_walkthrough_has_the_blocks_this_test_runs() -> None:
    blocks = walkthrough_blocks((ROOT / "README.md").read_text())
    assert len(blocks) == 2, blocks
    assert "ASYNCML_PORT" in blocks[0] and "ASYNCML_URL" in blocks[0]


def test_the_curl_block_submits_a_job_and_lists_it(checkout: tuple[Path, dict[str, str]]) -> None:
    [curl, _] = walkthrough_blocks((ROOT / "README.md").read_text())
    done = run_block(checkout, curl)
    assert done.returncode == 0, done.stdout + done.stderr
    submitted = re.search(r'"submitJob":\{"jobId":"([^"]+)","status":"QUEUED"\}', done.stdout)
    assert submitted, done.stdout
    assert f'"jobId":"{submitted.group(1)}"' in done.stdout.split('"listJobs"')[1], done.stdout


def test_the_python_block_watches_a_job_and_runs_a_csv_file(checkout: tuple[Path, dict[str, str]]) -> None:
    [curl, python] = walkthrough_blocks((ROOT / "README.md").read_text())
    root, _ = checkout
    # Each block is copied into one shell: the second uses the variables the first exported.
    done = run_block(checkout, curl + python)
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"COMPLETED\s*\nresult: virginica,", done.stdout), done.stdout
    assert "wrote 300 rows to results.csv: 300 completed, 0 failed or cancelled, 0 refused" in done.stdout
    assert len((root / "results.csv").read_text().splitlines()) == 301  # header + a line per row


def test_without_asyncml_port_the_walkthrough_talks_to_port_8000(tmp_path: Path) -> None:
    [curl, _] = walkthrough_blocks((ROOT / "README.md").read_text())
    (tmp_path / ".asyncml").mkdir()
    (tmp_path / ".asyncml" / "api_key").write_text("da2-readme")
    exports = "\n".join(line for line in curl.splitlines() if line.startswith("export "))
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASYNCML_")}
    cmd = ["bash", "-e", "-c", exports + '\necho "$ASYNCML_URL $ASYNCML_API_KEY"']
    done = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=30, check=False)
    assert done.stdout.split() == ["http://127.0.0.1:8000/graphql", "da2-readme"], done.stdout + done.stderr
