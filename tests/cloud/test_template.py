"""template.yaml, checked offline by AWS's own tools, then built and imported as Lambda would."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.moto_stack import ROOT, template

SAM = ROOT / ".venv-sam" / "bin" / "sam"
PARAMS = ["ApiKeyExpiresOn=1800000000", "ModelName=asyncml-demo"]
# Your own model instead of a ModelName: the stack creates the SageMaker model from the archive.
MODEL_DATA = "s3://my-models/iris/model.tar.gz"
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
OWN_MODEL_PARAMS = ["ApiKeyExpiresOn=1800000000", f"ModelDataUrl={MODEL_DATA}", f"ModelImage={IMAGE}"]
# What the Lambda Python runtime ships besides the standard library (boto3 and its dependencies).
RUNTIME_PACKAGES = ("boto3", "botocore", "s3transfer", "urllib3", "dateutil", "six", "jmespath")


def _need_sam() -> None:
    if not SAM.exists():
        if os.environ.get("CI"):
            pytest.fail("SAM CLI is missing: `make sam-deps` installs it into .venv-sam")
        pytest.skip("SAM CLI not installed; run `make sam-deps`")


def _python_for(runtime: str) -> tuple[str, dict[str, str]]:
    """An interpreter of the functions' runtime: `sam build` insists on one on PATH. With pyenv,
    putting its version beside the current one in PYENV_VERSION does that."""
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0"}
    wanted = runtime.removeprefix("python")
    plain = shutil.which(f"python{wanted}")
    if plain and "/shims/" not in plain:
        return plain, env
    versions = _run(["pyenv", "versions", "--bare"]).stdout.split() if shutil.which("pyenv") else []
    found = [v for v in versions if v.startswith(wanted + ".")]
    if not found:
        pytest.skip(f"no {runtime} interpreter on this machine for sam build")
    env["PYENV_VERSION"] = f"{_run(['pyenv', 'version-name']).stdout.strip()}:{found[-1]}"
    prefix = _run(["pyenv", "prefix", found[-1]]).stdout.strip()
    return f"{prefix}/bin/python{wanted}", env


def _run(cmd: list[str], **kw: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, check=False, **kw)


@pytest.mark.parametrize(
    "params", [[], PARAMS, OWN_MODEL_PARAMS], ids=["defaults", "ModelName", "ModelDataUrl"]
)
def test_cfn_lint_is_clean(params: list[str]) -> None:
    extra = ["--parameters", *params] if params else []
    run = _run([str(Path(sys.executable).parent / "cfn-lint"), "template.yaml", *extra], cwd=ROOT)
    assert run.returncode == 0, run.stdout + run.stderr


def test_sam_validate_lint_is_clean() -> None:
    _need_sam()
    run = _run([str(SAM), "validate", "--lint"], cwd=ROOT, env={**os.environ, "SAM_CLI_TELEMETRY": "0"})
    assert run.returncode == 0 and "is a valid SAM Template" in run.stdout, run.stdout + run.stderr


@pytest.fixture(scope="module")
def sam_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One build cache for this module's builds: the second parameter set reuses the functions and
    the layer built for the first (their sources are the same), so it checks the template, not pip."""
    return tmp_path_factory.mktemp("sam-cache")


def _sam_build(out: Path, cache: Path, params: list[str]) -> subprocess.CompletedProcess[str]:
    _need_sam()
    _, env = _python_for(template()["Globals"]["Function"]["Runtime"])
    cmd = [str(SAM), "build", "--build-dir", str(out), "--cached", "--cache-dir", str(cache)]
    return _run([*cmd, "--parameter-overrides", *params], cwd=ROOT, env=env)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, sam_cache: Path) -> Iterator[Path]:
    out = tmp_path_factory.mktemp("sam") / "build"
    run = _sam_build(out, sam_cache, PARAMS)
    assert run.returncode == 0, run.stdout + run.stderr
    yield out


def test_sam_build_is_clean_with_model_data_url(built: Path, sam_cache: Path, tmp_path: Path) -> None:
    out = tmp_path / "build"
    run = _sam_build(out, sam_cache, OWN_MODEL_PARAMS)
    assert run.returncode == 0, run.stdout + run.stderr
    doc = yaml.load((out / "template.yaml").read_text(), Loader=yaml.BaseLoader)
    assert doc["Resources"]["Model"]["Condition"] == "CreateModel"


def _functions(build: Path) -> dict[str, dict[str, Any]]:
    doc = yaml.load((build / "template.yaml").read_text(), Loader=yaml.BaseLoader)
    return {
        k: r["Properties"] for k, r in doc["Resources"].items() if r["Type"] == "AWS::Serverless::Function"
    }


def test_every_handler_imports_from_the_build_alone(built: Path, tmp_path: Path) -> None:
    # GIVEN only the built function, the built layer and what the Lambda runtime ships
    runtime = tmp_path / "runtime"
    runtime.mkdir()
    for name in RUNTIME_PACKAGES:
        source = Path(str(__import__(name).__file__))
        if source.name == "__init__.py":
            (runtime / name).symlink_to(source.parent)
        else:  # a one-file module (six)
            (runtime / source.name).symlink_to(source)
    python, _ = _python_for(template()["Globals"]["Function"]["Runtime"])
    functions = _functions(built)
    names = "ApiFunction BatcherFunction StreamRedriveFunction TransformStarterFunction ResultsFunction"
    assert set(functions) == {*names.split(), "TransformEventsFunction"}
    for name, props in functions.items():
        for handler in _handlers(props["Handler"]):
            module, func = handler.rsplit(".", 1)
            path = [str(built / props["CodeUri"]), str(built / "CoreLayer" / "python"), str(runtime)]
            code = (f"import sys; sys.path[:0] = {path!r}; import importlib; "
                    f"m = importlib.import_module({module!r}); assert callable(m.{func}); "
                    "assert 'moto' not in sys.modules and 'yaml' not in sys.modules")  # fmt: skip
            # WHEN a clean interpreter (-I: no site-packages, no user paths) imports the handler
            run = _run([python, "-I", "-c", code], cwd=tmp_path)
            # THEN it loads: a missing package or a wrong Handler fails here, not at deploy
            assert run.returncode == 0, f"{name} ({handler}): {run.stderr}"


def _handlers(value: Any) -> list[str]:
    """Every handler a Handler property can name: itself, or each branch of an Fn::If."""
    if isinstance(value, dict) and set(value) == {"Fn::If"}:
        _condition, *branches = value["Fn::If"]
        return [h for b in branches for h in _handlers(b)]
    assert isinstance(value, str), value
    return [value]


def test_the_layer_carries_the_core_and_powertools_only(built: Path) -> None:
    layer = built / "CoreLayer" / "python"
    assert (layer / "asyncml" / "aws" / "wiring.py").exists() and (layer / "aws_lambda_powertools").is_dir()
    assert not (layer / "asyncml" / "local").exists()  # the local runtime needs strawberry, sklearn...
    assert not (layer / "asyncml" / "transform_emulator").exists()  # so does the emulator (httpx, sklearn)
    assert not any(layer.glob("tests")) and not any(layer.rglob(".venv*"))
    size = sum(f.stat().st_size for f in layer.rglob("*") if f.is_file())
    assert size < 20 * 1024 * 1024
    for props in _functions(built).values():
        files = (built / props["CodeUri"]).iterdir()
        assert {p.suffix for p in files if p.name != "__pycache__"} == {".py"}


def test_model_data_url_makes_the_model_with_the_entry_point_and_a_role_scoped_to_that_object() -> None:
    resources = template()["Resources"]
    model = resources["Model"]
    assert model["Condition"] == "CreateModel"
    container = model["Properties"]["PrimaryContainer"]
    assert container["ModelDataUrl"] == "ModelDataUrl" and container["Image"] == "ModelImage"  # the !Refs
    env = container["Environment"]
    assert env["SAGEMAKER_PROGRAM"] == "ModelEntryPoint"
    assert env["SAGEMAKER_SUBMIT_DIRECTORY"] == "/opt/ml/model/code"  # where package-model puts the code
    assert template()["Globals"]["Function"]["Environment"]["Variables"]["ASYNCML_MODEL_NAME"] == [
        "CreateModel",
        "Model.ModelName",  # !GetAtt
        "ModelName",
    ]
    (policy,) = resources["SageMakerExecutionRole"]["Properties"]["Policies"]
    (conditional,) = [s for s in policy["PolicyDocument"]["Statement"] if isinstance(s, list)]
    condition, allowed, otherwise = conditional
    assert (condition, otherwise) == ("CreateModel", "AWS::NoValue")
    assert allowed["Action"] == ["s3:GetObject"]
    arn, names = allowed["Resource"]
    index, (separator, (joiner, parts)) = names["Object"]

    def object_for(url: str) -> str:  # !Select [index, !Split [separator, !Join [joiner, parts]]]
        return joiner.join(url if p == "ModelDataUrl" else p for p in parts).split(separator)[index]

    assert arn == "arn:${AWS::Partition}:s3:::${Object}"
    assert object_for(MODEL_DATA) == "my-models/iris/model.tar.gz"  # that one object, no wildcard
    assert object_for("") == ""  # and still in range when ModelName is used instead


def _appsync_fields(function: dict[str, Any]) -> tuple[set[str], set[str]]:
    """The publish mutations a function may call: always, and only where EachJobEnd holds."""
    always: set[str] = set()
    each_end: set[str] = set()
    for policy in function["Properties"]["Policies"]:
        for statement in policy["Statement"]:
            if statement["Action"] != ["appsync:GraphQL"]:
                continue
            for resource in statement["Resource"]:
                if isinstance(resource, list):  # !If [condition, allowed, otherwise]
                    condition, allowed, otherwise = resource
                    assert (condition, otherwise) == ("EachJobEnd", "AWS::NoValue")
                    each_end.add(allowed.rsplit("/", 1)[-1])
                else:
                    always.add(resource.rsplit("/", 1)[-1])
    return always, each_end


def test_only_a_stack_that_publishes_each_job_end_may_call_publish_job_update() -> None:
    resources = template()["Resources"]
    assert template()["Conditions"]["EachJobEnd"] == ["PublishEachJobEnd", "true"]  # !Equals [!Ref, "true"]
    # Every function that ends jobs (cancelJob, the results, a transform's end, a start given up) publishes
    # the ends grouped, and publishJobUpdate per job only where PublishEachJobEnd is "true".
    enders = ("ApiFunction", "ResultsFunction", "TransformEventsFunction", "TransformStarterFunction")
    for name in (*enders, "StreamRedriveFunction"):
        always, each_end = _appsync_fields(resources[name])
        assert "publishJobsMoved" in always, name
        assert "publishJobUpdate" not in always and each_end == {"publishJobUpdate"}, name
    always, each_end = _appsync_fields(resources["BatcherFunction"])
    assert always == {"publishJobsMoved", "publishBatchUpdate"} and each_end == set()
