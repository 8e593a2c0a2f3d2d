"""[4] transform: `asyncml transform REQUEST.json` as a user runs it (exit codes, files, stdout)."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from asyncml.settings import Settings
from asyncml.transform import build_request
from asyncml.transform_emulator.demo_model import DemoModel, start_demo_model

# The console script a user runs (installed next to this interpreter by `pip install -e`).
_SCRIPT = Path(sys.executable).with_name("asyncml")
ASYNCML = [
    str(_SCRIPT) if _SCRIPT.exists() else sys.executable,
    *([] if _SCRIPT.exists() else ["-m", "asyncml.cli"]),
]
ASYNCML.append("transform")


def request(uri: str = "s3://asyncml-local/data/2026/11/25/", data_type: str = "S3Prefix") -> dict[str, Any]:
    return build_request(
        Settings(),
        "asyncml-20261125-120000-ab12cd34",
        s3_uri=uri,
        data_type=data_type,
        output_path="s3://asyncml-local/result/",
    )


@pytest.fixture(scope="module")
def model() -> Iterator[DemoModel]:
    with start_demo_model() as demo:
        yield demo


@pytest.fixture
def bucket(tmp_path: Path) -> Path:
    data = tmp_path / "bucket" / "asyncml-local" / "data" / "2026" / "11" / "25"
    data.mkdir(parents=True)
    (data / "b1.csv").write_text("j1,5.1,3.5,1.4,0.2\nj2,6.7,3.0,5.2,2.3\n")
    return tmp_path / "bucket"


def transform(tmp_path: Path, req: Any, *extra: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "request.json"
    path.write_text(req if isinstance(req, str) else json.dumps(req))
    command = [*ASYNCML, str(path), "--bucket-root", str(tmp_path / "bucket"), *extra]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


def test_completed_job_exits_0_prints_describe_and_writes_out(
    tmp_path: Path, bucket: Path, model: DemoModel
) -> None:
    done = transform(tmp_path, request(), "--model-url", model.url)
    assert done.returncode == 0, done.stderr
    describe = json.loads(done.stdout)
    assert describe["TransformJobStatus"] == "Completed"
    assert describe["TransformJobArn"].endswith("transform-job/asyncml-20261125-120000-ab12cd34")
    out = (bucket / "asyncml-local/result/b1.csv.out").read_text().splitlines()
    assert out[0].startswith("j1,5.1,3.5,1.4,0.2,setosa,")
    assert out[1].startswith("j2,6.7,3.0,5.2,2.3,virginica,")
    assert done.stderr == ""  # no progress bar when stderr is not a terminal


def test_a_failed_file_exits_1_and_keeps_the_other_outputs(
    tmp_path: Path, bucket: Path, model: DemoModel
) -> None:
    manifest = bucket / "asyncml-local" / "manifest.json"
    entries = [{"prefix": "s3://asyncml-local/data/"}, "2026/11/25/b1.csv", "2026/11/25/missing.csv"]
    manifest.write_text(json.dumps(entries))
    req = request("s3://asyncml-local/manifest.json", "ManifestFile")
    done = transform(tmp_path, req, "--model-url", model.url)
    assert done.returncode == 1, done.stderr
    describe = json.loads(done.stdout)
    assert describe["TransformJobStatus"] == "Failed"
    assert describe["FailureReason"].startswith("s3://asyncml-local/data/2026/11/25/missing.csv: ClientError")
    results = bucket / "asyncml-local" / "result"
    assert [p.relative_to(results).as_posix() for p in results.rglob("*") if p.is_file()] == [
        "2026/11/25/b1.csv.out"
    ]


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ("{not json", "is not valid JSON"),
        ("[1, 2]", "must hold a JSON object"),
        (json.dumps({**request(), "MaxPayloadInMB": 500}), "MaxPayloadInMB: is 500; allowed 0 to 100"),
        (json.dumps({**request(), "TransformJobName": "has_underscore"}), "TransformJobName"),
    ],
)
def test_a_bad_request_exits_2_naming_the_field(tmp_path: Path, body: str, named: str) -> None:
    done = transform(tmp_path, body)  # no --model-url: a bad request must not even start the model
    assert done.returncode == 2
    assert named in done.stderr and done.stdout == ""


def test_a_missing_request_file_exits_2(tmp_path: Path) -> None:
    done = subprocess.run(
        [*ASYNCML, str(tmp_path / "nope.json")], capture_output=True, text=True, check=False
    )
    assert done.returncode == 2 and "cannot read" in done.stderr


def test_without_model_url_the_demo_model_is_started_for_the_job(tmp_path: Path, bucket: Path) -> None:
    done = transform(tmp_path, request())
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["MaxConcurrentTransforms"] == 2  # the demo model's /execution-parameters
    assert (bucket / "asyncml-local/result/b1.csv.out").exists()


def test_a_terminal_gets_a_progress_bar_on_stderr(tmp_path: Path, bucket: Path, model: DemoModel) -> None:
    path = tmp_path / "request.json"
    path.write_text(json.dumps(request()))
    leader, follower = pty.openpty()
    command = [*ASYNCML, str(path), "--bucket-root", str(bucket), "--model-url", model.url]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=follower, text=True) as process:
        os.close(follower)
        stdout, _ = process.communicate(timeout=60)
    shown = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        shown += chunk
    os.close(leader)
    assert process.returncode == 0
    assert "files 1/1  records 2" in shown.decode()
    assert json.loads(stdout)["TransformJobStatus"] == "Completed"  # stdout stays pure JSON
