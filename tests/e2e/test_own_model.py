"""Your own model: client_examples/own_model run as its README says, through a real `asyncml serve`."""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser.live_server import LiveServer

EXAMPLE = Path(__file__).resolve().parents[2] / "client_examples" / "own_model"
SUBMIT = "mutation($inputs: [SubmitJobInput!]!) { submitJobs(inputs: $inputs) { jobId } }"
GET = "query($id: ID!) { getJob(jobId: $id) { status result error } }"
_SCRIPT = Path(sys.executable).with_name("asyncml")
ASYNCML = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "asyncml.cli"]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("own") / "model"
    done = subprocess.run(
        [sys.executable, str(EXAMPLE / "train.py"), "--model-dir", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0 and (path / "model.joblib").exists(), done.stderr
    return path


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, model_dir: Path) -> Iterator[LiveServer]:
    live = LiveServer(tmp_path_factory.mktemp("serve") / "data", batch_window=0.3)
    live.args += ["--entry-point", str(EXAMPLE / "inference.py"), "--model-dir", str(model_dir)]
    with live:
        yield live


def submit(server: LiveServer, *payloads: str) -> list[str]:
    jobs = server.graphql(SUBMIT, inputs=[{"payload": p} for p in payloads])["submitJobs"]
    return [str(j["jobId"]) for j in jobs]  # type: ignore[attr-defined]


def settled(server: LiveServer, ids: list[str], timeout: float = 60) -> list[dict[str, str]]:
    """Poll until every job has ended; the deadline only guards against a hang."""
    deadline = time.monotonic() + timeout
    while True:
        jobs: list[dict[str, str]] = [server.graphql(GET, id=i)["getJob"] for i in ids]  # type: ignore[misc]
        if all(j["status"] in ("COMPLETED", "FAILED") for j in jobs):
            return jobs
        assert time.monotonic() < deadline, jobs
        time.sleep(0.1)


def test_jobs_complete_with_the_models_answer(server: LiveServer) -> None:
    ids = submit(server, "5.1,3.5,1.4,0.2", "6.7,3.0,5.2,2.3", "5.9,3.0,4.2,1.5")
    jobs = settled(server, ids)
    assert [j["status"] for j in jobs] == ["COMPLETED"] * 3, jobs
    assert [j["result"] for j in jobs] == ["setosa", "virginica", "versicolor"]


def test_a_job_whose_record_makes_predict_raise_fails_with_the_models_message(server: LiveServer) -> None:
    (job,) = settled(server, submit(server, "1.0,2.0,3.0"))
    assert job["status"] == "FAILED"
    assert "X has 3 features, but StandardScaler is expecting 4 features as input" in job["error"], job


def test_an_entry_point_without_model_fn_stops_serve_with_exit_2(tmp_path: Path, model_dir: Path) -> None:
    broken = tmp_path / "inference.py"
    broken.write_text("def predict_fn(data, model):\n    return data\n")
    cmd = [*ASYNCML, "serve", "--port", "0", "--data-dir", str(tmp_path / "data")]
    done = subprocess.run(
        [*cmd, "--entry-point", str(broken), "--model-dir", str(model_dir)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"{broken}: defines no model_fn(model_dir)" in done.stderr


def test_a_model_dir_that_does_not_exist_stops_serve_with_exit_2(tmp_path: Path) -> None:
    cmd = [*ASYNCML, "serve", "--data-dir", str(tmp_path / "data"), "--model-dir", str(tmp_path / "nope")]
    done = subprocess.run(
        [*cmd, "--entry-point", str(EXAMPLE / "inference.py")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2 and f"model dir {tmp_path / 'nope'} does not exist" in done.stderr


def test_asyncml_transform_runs_a_request_on_the_entry_point(tmp_path: Path, model_dir: Path) -> None:
    data = tmp_path / "bucket" / "my-bucket" / "in"
    data.mkdir(parents=True)
    (data / "iris.csv").write_text("5.1,3.5,1.4,0.2\n6.7,3.0,5.2,2.3\n")
    request = {
        "TransformJobName": "own-model",
        "ModelName": "own-model",
        "TransformInput": {
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://my-bucket/in/"}},
            "ContentType": "text/csv",
            "SplitType": "Line",
        },
        "TransformOutput": {
            "S3OutputPath": "s3://my-bucket/out/",
            "Accept": "text/csv",
            "AssembleWith": "Line",
        },
        "TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": 1},
    }
    (tmp_path / "request.json").write_text(json.dumps(request))
    done = subprocess.run(
        [
            *ASYNCML,
            "transform",
            str(tmp_path / "request.json"),
            "--bucket-root",
            str(tmp_path / "bucket"),
            "--entry-point",
            str(EXAMPLE / "inference.py"),
            "--model-dir",
            str(model_dir),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["TransformJobStatus"] == "Completed"
    out = tmp_path / "bucket" / "my-bucket" / "out" / "iris.csv.out"
    assert out.read_text() == "setosa\nvirginica\n"


def test_package_model_lays_out_model_tar_gz_as_the_framework_containers_expect(
    tmp_path: Path, model_dir: Path
) -> None:
    output = tmp_path / "model.tar.gz"
    cmd = [*ASYNCML, "package-model", "--entry-point", str(EXAMPLE / "inference.py")]
    done = subprocess.run(
        [*cmd, "--model-dir", str(model_dir), "--output", str(output)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    with tarfile.open(output) as archive:
        names = archive.getnames()
        code = archive.extractfile("code/inference.py")
        assert code is not None and code.read() == (EXAMPLE / "inference.py").read_bytes()
    assert sorted(names) == ["code/inference.py", "model.joblib"]
