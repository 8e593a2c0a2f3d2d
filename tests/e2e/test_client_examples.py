"""The client examples run as a user runs them, against a real `asyncml serve` on 127.0.0.1."""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.browser.live_server import LiveServer

EXAMPLES = Path(__file__).resolve().parents[2] / "client_examples"
ORDER = ["QUEUED", "BATCHED", "PROCESSING", "COMPLETED"]
IRIS = ["5.1,3.5,1.4,0.2", "6.7,3.0,5.2,2.3", "5.9,3.0,4.2,1.5"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with LiveServer(tmp_path_factory.mktemp("serve") / "data", batch_window=0.3) as s:
        yield s


def run(server: LiveServer, *args: str, use_env: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    if use_env:
        env |= {"ASYNCML_URL": server.graphql_url, "ASYNCML_API_KEY": server.api_key}
    else:
        env.pop("ASYNCML_URL", None)
        env.pop("ASYNCML_API_KEY", None)
    return subprocess.run(list(args), env=env, capture_output=True, text=True, timeout=60, check=False)


def statuses(stdout: str) -> list[str]:
    """The status column of submit_and_watch's lines: `HH:MM:SS.mmm  STATUS  detail`."""
    return [parts[1] for line in stdout.splitlines() if len(parts := line.split()) > 1 and parts[1] in ORDER]


def test_submit_and_watch_prints_each_status_in_order_until_completed(server: LiveServer) -> None:
    done = run(server, sys.executable, str(EXAMPLES / "submit_and_watch.py"), "--payload", IRIS[1])
    assert done.returncode == 0, done.stdout + done.stderr
    seen = statuses(done.stdout)
    assert seen[0] == "QUEUED" and seen[-1] == "COMPLETED", done.stdout
    assert seen == sorted(seen, key=ORDER.index) and len(set(seen)) == len(seen), done.stdout
    result = done.stdout.splitlines()[-1]
    assert result.startswith("result: virginica,"), done.stdout
    assert len(result.removeprefix("result: ").split(",")) == 4  # label and three probabilities


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A batch seals when its second job arrives (the window, 300 s, outlasts the test): the test decides."""
    with LiveServer(tmp_path_factory.mktemp("pair") / "data", batch_size=2, batch_window=300) as s:
        yield s


def test_submit_and_watch_sees_its_job_batched_and_processing_live(pair: LiveServer) -> None:
    env = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "ASYNCML_URL": pair.graphql_url,
        "ASYNCML_API_KEY": pair.api_key,
    }
    cmd = [sys.executable, str(EXAMPLES / "submit_and_watch.py"), "--payload", IRIS[0]]
    with subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        # its subscription (onJobsMoved on its job id: moves and end) is in place...
        deadline = time.monotonic() + 30
        while not all(n >= 1 for n in subscribers(pair, "onJobsMoved")):
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.05)
        # ...when a second job fills the batch: every move of its job from here on arrives as an event
        body = {"query": 'mutation { submitJob(input: {payload: "6.7,3.0,5.2,2.3"}) { jobId } }'}
        httpx.post(pair.graphql_url, json=body, headers={"x-api-key": pair.api_key}, timeout=10)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, out + err
    assert statuses(out) == ORDER, out
    batched = next(line for line in out.splitlines() if " BATCHED " in line)
    assert re.search(r"batch \d{8}-\d{6}-[0-9a-f]{8}$", batched), out  # the group move names the batch
    assert out.splitlines()[-1].startswith("result: setosa,"), out


def subscribers(server: LiveServer, *fields: str) -> list[int]:
    counts = httpx.get(f"{server.base_url}/healthz", timeout=5).json()["subscribers"]
    return [counts[f] for f in fields]


def test_submit_and_watch_takes_url_and_key_as_flags(server: LiveServer) -> None:
    done = run(
        server,
        sys.executable,
        str(EXAMPLES / "submit_and_watch.py"),
        "--url",
        server.graphql_url,
        "--api-key",
        server.api_key,
        use_env=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[-1].startswith("result: setosa,")


def test_submit_and_watch_without_a_key_says_how_to_give_one(server: LiveServer) -> None:
    done = run(server, sys.executable, str(EXAMPLES / "submit_and_watch.py"), use_env=False)
    assert done.returncode == 2
    assert "ASYNCML_API_KEY" in done.stderr


def test_submit_and_watch_shows_why_a_payload_is_refused(server: LiveServer) -> None:
    done = run(server, sys.executable, str(EXAMPLES / "submit_and_watch.py"), "--payload", '"5.0,3.4')
    assert done.returncode == 2
    assert done.stderr.startswith("error: ValidationError: input.payload is not a CSV record"), done.stderr


def test_bulk_csv_writes_every_row_with_its_result_and_reports_refused_lines(
    server: LiveServer, tmp_path: Path
) -> None:
    rows = [IRIS[i % 3] for i in range(600)]  # two submitJobs calls: 500 + 100
    rows.insert(10, '"unterminated')  # line 11: not a CSV record
    rows.insert(550, " ")  # line 551: blank, skipped as no row at all
    rows.insert(560, '"a"b,1')  # line 561: not a CSV record either
    source = tmp_path / "rows.csv"
    source.write_text("\n".join(rows) + "\n")
    out = tmp_path / "results.csv"

    done = run(server, sys.executable, str(EXAMPLES / "bulk_csv.py"), str(source), "--out", str(out))

    assert done.returncode == 1, done.stdout + done.stderr  # refused rows make it exit 1
    assert "line 11: refused:" in done.stderr and "line 561: refused:" in done.stderr, done.stderr
    # client_examples/README.md shows a refused row as it is printed (line and index aside).
    shown = re.search(r"# line 42: refused: inputs\[41\](.*)", (EXAMPLES / "README.md").read_text())
    assert shown and f"line 11: refused: inputs[10]{shown.group(1)}\n" in done.stderr, done.stderr
    assert "600/600 done" in done.stderr, done.stderr
    assert f"wrote 602 rows to {out}: 600 completed, 0 failed or cancelled, 2 refused" in done.stdout
    with out.open(newline="") as f:
        written = list(csv.DictReader(f))
    assert list(written[0]) == ["line", "jobId", "input", "status", "result", "error"]
    by_line = {int(r["line"]): r for r in written}
    assert by_line[11]["status"] == "REFUSED" and "inputs[10]" in by_line[11]["error"]
    assert by_line[11]["jobId"] == ""
    assert by_line[561]["status"] == "REFUSED"
    assert 551 not in by_line
    first = by_line[1]
    assert (first["input"], first["status"], first["error"]) == (IRIS[0], "COMPLETED", "")
    assert first["result"].startswith("setosa,")
    completed = [r for r in written if r["status"] == "COMPLETED"]
    assert len(completed) == 600 and len({r["jobId"] for r in completed}) == 600


def test_bulk_csv_counts_a_row_the_demo_model_marks_error_as_failed(
    server: LiveServer, tmp_path: Path
) -> None:
    # `asyncml serve` with the demo model reads its ERROR lines as failed records (--error-prefix).
    source = tmp_path / "rows.csv"
    source.write_text(f"{IRIS[0]}\nnot,a,flower\n{IRIS[1]}\n")
    out = tmp_path / "results.csv"
    done = run(server, sys.executable, str(EXAMPLES / "bulk_csv.py"), str(source), "--out", str(out))
    assert f"wrote 3 rows to {out}: 2 completed, 1 failed or cancelled, 0 refused" in done.stdout, done.stderr
    with out.open(newline="") as f:
        by_line = {int(r["line"]): r for r in csv.DictReader(f)}
    assert (by_line[2]["status"], by_line[2]["error"], by_line[2]["result"]) == ("FAILED", "ERROR", "")
    assert by_line[3]["status"] == "COMPLETED"


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_curl_script_submits_gets_and_lists_with_the_api_key(server: LiveServer) -> None:
    done = run(server, "bash", str(EXAMPLES / "curl.sh"), IRIS[2])
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "# submitJob" in out and "# getJob" in out and "# listJobs" in out
    submitted = out.split("# getJob")[0]
    assert '"status":"QUEUED"' in submitted.replace(" ", "")
    job_id = out.split("# getJob ")[1].split()[0]
    assert f'"jobId":"{job_id}"' in out.split("# listJobs")[0].split("# getJob")[1].replace(" ", "")
    assert f'"jobId":"{job_id}"' in out.split("# listJobs")[1].replace(" ", "")


def test_curl_script_with_a_wrong_key_fails(server: LiveServer) -> None:
    env = {**os.environ, "ASYNCML_URL": server.graphql_url, "ASYNCML_API_KEY": "wrong"}
    done = subprocess.run(
        ["bash", str(EXAMPLES / "curl.sh")], env=env, capture_output=True, text=True, timeout=30, check=False
    )
    assert done.returncode != 0
