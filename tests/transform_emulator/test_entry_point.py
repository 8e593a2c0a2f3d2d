"""[4] transform: a SageMaker entry point served as the scikit-learn container and inference toolkit do."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import httpx
import joblib
import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from starlette.testclient import TestClient

from asyncml.transform_emulator.entry_point import EntryPoint, EntryPointError, load
from asyncml.transform_emulator.model_server import TOKEN_HEADER, build_app, start_model

CSV = {"content-type": "text/csv", "accept": "text/csv"}
LOAD = """
import joblib, os
def model_fn(model_dir):
    return joblib.load(os.path.join(model_dir, "model.joblib"))
"""


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real scikit-learn model that predicts class names, as `train.py` writes one."""
    iris = load_iris()
    path = tmp_path_factory.mktemp("model")
    model = LogisticRegression(max_iter=1000).fit(iris.data, iris.target_names[iris.target])
    joblib.dump(model, path / "model.joblib")
    return path


def entry(tmp_path: Path, model_dir: Path, source: str, name: str = "inference.py") -> EntryPoint:
    code = tmp_path / "code"
    code.mkdir(exist_ok=True)
    (code / name).write_text(source)
    return EntryPoint(code / name, model_dir)


def client(point: EntryPoint, env: dict[str, str] | None = None, token: str = "") -> TestClient:
    return TestClient(build_app(load(point, env or {}), token))


def test_model_fn_alone_serves_csv_one_output_line_per_input_line(tmp_path: Path, model_dir: Path) -> None:
    http = client(entry(tmp_path, model_dir, LOAD))
    body = "5.1,3.5,1.4,0.2\n6.7,3.0,5.2,2.3\n5.9,3.0,4.2,1.5\n"
    answer = http.post("/invocations", content=body, headers=CSV)
    assert answer.status_code == 200
    assert answer.text == "setosa\nvirginica\nversicolor\n"
    assert answer.headers["content-type"].startswith("text/csv")


def test_default_input_fn_turns_one_csv_line_into_a_1d_array_as_the_container_does(
    tmp_path: Path, model_dir: Path
) -> None:
    # The same request fails on SageMaker's scikit-learn container: the local run must not hide it.
    answer = client(entry(tmp_path, model_dir, LOAD)).post(
        "/invocations", content="5.1,3.5,1.4,0.2\n", headers=CSV
    )
    assert answer.status_code == 500 and "Expected 2D array" in answer.text


def test_json_and_npy_decode_to_arrays_and_encode_in_the_accept_type(tmp_path: Path, model_dir: Path) -> None:
    http = client(entry(tmp_path, model_dir, LOAD))
    rows = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]
    as_json = http.post(
        "/invocations", content=json.dumps(rows), headers={"content-type": "application/json"}
    )  # no Accept: the toolkit's default, application/json
    assert as_json.status_code == 200 and as_json.json() == ["setosa", "virginica"]
    buffer = io.BytesIO()
    np.save(buffer, np.array(rows))
    as_npy = http.post(
        "/invocations",
        content=buffer.getvalue(),
        headers={"content-type": "application/x-npy", "accept": "application/x-npy"},
    )
    assert as_npy.status_code == 200 and np.load(io.BytesIO(as_npy.content)).tolist() == [
        "setosa",
        "virginica",
    ]


def test_default_accept_follows_sagemaker_default_invocations_accept(tmp_path: Path, model_dir: Path) -> None:
    http = client(entry(tmp_path, model_dir, LOAD), {"SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": "text/csv"})
    answer = http.post("/invocations", content="[[5.1, 3.5, 1.4, 0.2]]", headers={"accept": "*/*"})
    assert answer.text == "setosa\n" and answer.headers["content-type"].startswith("text/csv")


def test_a_type_the_defaults_cannot_speak_answers_415(tmp_path: Path, model_dir: Path) -> None:
    http = client(entry(tmp_path, model_dir, LOAD))
    answer = http.post("/invocations", content="{}", headers={"content-type": "application/jsonlines"})
    assert answer.status_code == 415 and "application/jsonlines" in answer.text and "input_fn" in answer.text


def test_own_input_predict_output_fn_and_a_body_content_type_tuple(tmp_path: Path, model_dir: Path) -> None:
    source = LOAD + textwrap.dedent("""
    import json
    def input_fn(body, content_type):
        return [json.loads(line)["x"] for line in body.splitlines()]
    def predict_fn(data, model):
        return model.predict_proba(data).max(axis=1)
    def output_fn(prediction, accept):
        lines = "".join(json.dumps({"p": round(float(p), 2)}) + "\\n" for p in prediction)
        return lines, "application/jsonlines"
    """)
    http = client(entry(tmp_path, model_dir, source))
    body = '{"x": [5.1, 3.5, 1.4, 0.2]}\n{"x": [6.7, 3.0, 5.2, 2.3]}\n'
    answer = http.post("/invocations", content=body, headers={"content-type": "application/json"})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/jsonlines")
    assert [json.loads(line)["p"] > 0.5 for line in answer.text.splitlines()] == [True, True]


def test_transform_fn_replaces_the_three_and_a_handler_may_take_context(
    tmp_path: Path, model_dir: Path
) -> None:
    source = LOAD + textwrap.dedent("""
    def transform_fn(model, body, content_type, accept, context):
        assert context is None
        return f"{type(body).__name__} {content_type} {accept}"
    """)
    answer = client(entry(tmp_path, model_dir, source)).post("/invocations", content="1,2", headers=CSV)
    assert answer.text == "str text/csv text/csv"


def test_an_exception_in_predict_fn_answers_500_with_its_message(tmp_path: Path, model_dir: Path) -> None:
    source = LOAD + textwrap.dedent("""
    def predict_fn(data, model):
        raise ValueError("feature 3 must be positive")
    """)
    answer = client(entry(tmp_path, model_dir, source)).post(
        "/invocations", content="1,2\n3,4\n", headers=CSV
    )
    assert answer.status_code == 500
    assert answer.text == "ValueError: feature 3 must be positive"


def test_execution_parameters_fn_answers_execution_parameters(tmp_path: Path, model_dir: Path) -> None:
    source = LOAD + textwrap.dedent("""
    def execution_parameters_fn():
        return '{"MaxPayloadInMB": 1, "BatchStrategy": "MULTI_RECORD"}'
    """)
    http = client(entry(tmp_path, model_dir, source))
    assert http.get("/execution-parameters").json() == {"MaxPayloadInMB": 1, "BatchStrategy": "MULTI_RECORD"}
    assert client(entry(tmp_path, model_dir, LOAD)).get("/execution-parameters").status_code == 404


def test_every_answer_carries_the_token_its_parent_gave(tmp_path: Path, model_dir: Path) -> None:
    http = client(entry(tmp_path, model_dir, LOAD), token="t0k3n")
    assert http.get("/ping").headers[TOKEN_HEADER] == "t0k3n"
    assert http.post("/invocations", content="5.1,3.5,1.4,0.2\n1,1,1,1\n", headers=CSV).headers[TOKEN_HEADER]


@pytest.mark.parametrize(
    ("source", "named"),
    [
        ("def predict_fn(data, model):\n    return data\n", "defines no model_fn(model_dir)"),
        ("import not_a_module_anywhere\n", "line 1: importing it raised ModuleNotFoundError"),
        ("def model_fn(model_dir)\n    pass\n", "line 1: importing it raised SyntaxError"),
        (
            "def model_fn(model_dir):\n    return open(model_dir + '/missing.bin')\n",
            "line 2: model_fn(",
        ),
        (
            LOAD + "def transform_fn(m, b, c, a):\n    pass\ndef input_fn(b, c):\n    pass\n",
            "transform_fn cannot be used with input_fn",
        ),
    ],
    ids=["no-model_fn", "import-error", "syntax-error", "model_fn-raises", "transform_fn-and-input_fn"],
)
def test_an_entry_point_that_cannot_serve_names_the_file_and_function(
    tmp_path: Path, model_dir: Path, source: str, named: str
) -> None:
    point = entry(tmp_path, model_dir, source)
    with pytest.raises(EntryPointError) as error:
        load(point, {})
    assert str(error.value).startswith(str(point.program)) and named in str(error.value)


def test_a_model_dir_that_does_not_exist_is_named(tmp_path: Path) -> None:
    point = entry(tmp_path, tmp_path / "nope", LOAD)
    with pytest.raises(EntryPointError, match=r"model dir .*nope does not exist"):
        load(point, {})


def test_the_container_variables_locate_the_entry_point_and_model_dir() -> None:
    found: Any = EntryPoint.from_environment(
        {"SAGEMAKER_PROGRAM": "serve.py", "SM_MODEL_DIR": "/m", "SAGEMAKER_SUBMIT_DIRECTORY": "/src"}
    )
    assert found == EntryPoint(Path("/src/serve.py"), Path("/m"))
    # The containers' defaults: the code under the model dir, the model dir at /opt/ml/model.
    assert EntryPoint.from_environment({"SAGEMAKER_PROGRAM": "inference.py"}) == EntryPoint(
        Path("/opt/ml/model/code/inference.py"), Path("/opt/ml/model")
    )
    assert EntryPoint.from_environment({}) is None


def asyncml_model(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    script = Path(sys.executable).with_name("asyncml")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "asyncml.cli"]
    return subprocess.Popen(
        [*command, "model", "--port", "0", *args],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )


def test_asyncml_model_reads_sagemaker_program_and_sm_model_dir_as_the_container(
    tmp_path: Path, model_dir: Path
) -> None:
    source = """
    import os
    def model_fn(model_dir):
        return model_dir
    def transform_fn(model, body, content_type, accept):
        return f"{model} {os.environ['SM_MODEL_DIR']}"
    """
    point = entry(tmp_path, model_dir, textwrap.dedent(source), name="serve.py")
    env = {
        "SAGEMAKER_PROGRAM": "serve.py",
        "SAGEMAKER_SUBMIT_DIRECTORY": str(point.program.parent),
        "SM_MODEL_DIR": str(model_dir),
    }
    process = asyncml_model(env=env)
    try:
        assert process.stderr is not None
        url = process.stderr.readline().strip()  # printed once the port is open
        answer = httpx.post(f"{url}/invocations", content=b"1", headers=CSV, timeout=10, trust_env=False)
        assert answer.text == f"{model_dir} {model_dir}"
    finally:
        process.terminate()
        process.wait(10)


def test_asyncml_model_exits_2_naming_the_file_when_model_fn_is_missing(
    tmp_path: Path, model_dir: Path
) -> None:
    point = entry(tmp_path, model_dir, "def predict_fn(data, model):\n    return data\n")
    process = asyncml_model("--entry-point", str(point.program), "--model-dir", str(model_dir))
    _, err = process.communicate(timeout=60)
    assert process.returncode == 2
    assert f"{point.program}: defines no model_fn(model_dir)" in err


def test_an_entry_point_that_never_finishes_loading_fails_the_start_instead_of_hanging(
    tmp_path: Path, model_dir: Path
) -> None:
    point = entry(tmp_path, model_dir, "import time\ndef model_fn(model_dir):\n    time.sleep(60)\n")
    with pytest.raises(EntryPointError, match=r"did not answer /ping within 1s"):
        start_model(point, timeout_s=1)


def test_a_predict_fn_that_never_returns_answers_500_after_the_model_server_timeout(
    tmp_path: Path, model_dir: Path
) -> None:
    source = LOAD + "import threading\ndef predict_fn(data, model):\n    threading.Event().wait(30)\n"
    http = TestClient(build_app(load(entry(tmp_path, model_dir, source), {}), timeout_s=0.5))
    answer = http.post("/invocations", content="1,2\n3,4\n", headers=CSV)
    assert answer.status_code == 500
    assert answer.text == "inference.py did not answer within 0.5 s (SAGEMAKER_MODEL_SERVER_TIMEOUT)"


def test_a_csv_body_that_is_not_utf8_answers_500_saying_so(tmp_path: Path, model_dir: Path) -> None:
    answer = client(entry(tmp_path, model_dir, LOAD)).post("/invocations", content=b"5.1,\xff\n", headers=CSV)
    assert answer.status_code == 500 and answer.text.startswith("UnicodeDecodeError: 'utf-8' codec")
