"""[4] transform emulator: what a job ends with (refusals, describe, failures, demo model)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from asyncml.transform_emulator.demo_model import DemoModel, start_demo_model
from asyncml.transform_emulator.errors import InvalidTransformRequest
from asyncml.transform_emulator.job import ProgressEvent, describe_to_json
from asyncml.transform_emulator.request import container_environment
from tests.transform_emulator.model_fakes import (
    Script,
    job,
    outputs,
    put,
    run,
)


async def test_a_bad_request_is_refused_before_the_model_is_called(
    tmp_path: Path, script: Script, model_url: str
) -> None:
    with pytest.raises(InvalidTransformRequest) as info:
        await run(job(TransformJobName="bad_name"), tmp_path, model_url)
    assert info.value.field == "TransformJobName"
    assert script.pings == 0


async def test_no_input_objects_fails_the_job(tmp_path: Path, script: Script, model_url: str) -> None:
    result = await run(job(), tmp_path, model_url)
    assert result["TransformJobStatus"] == "Failed"
    assert result["FailureReason"] == "ClientError: no objects found under s3://b/in/"


async def test_the_result_is_shaped_like_describe_transform_job(
    tmp_path: Path, script: Script, model_url: str
) -> None:
    put(tmp_path, "in/a.csv", "1\n")
    result = await run(job(Tags=[{"Key": "k", "Value": "v"}]), tmp_path, model_url)
    assert result["TransformJobArn"] == "arn:aws:sagemaker:local:000000000000:transform-job/t-1"
    assert "FailureReason" not in result and "Tags" not in result
    times = [result[k] for k in ("CreationTime", "TransformStartTime", "TransformEndTime")]
    assert all(isinstance(t, datetime) and t.tzinfo is not None for t in times) and times == sorted(times)
    assert result["TransformInput"]["CompressionType"] == "None"
    as_json = json.loads(json.dumps(describe_to_json(result)))
    assert datetime.fromisoformat(as_json["TransformEndTime"]) == result["TransformEndTime"]


async def test_failure_reason_is_cut_to_1024_characters(
    tmp_path: Path, script: Script, model_url: str
) -> None:
    script.fail_when = b"x"
    for i in range(30):
        put(tmp_path, f"in/{'long-name-' * 4}{i}.csv", "x\n")
    result = await run(job(ModelClientConfig={"InvocationsMaxRetries": 0}), tmp_path, model_url)
    assert len(result["FailureReason"]) == 1024 and result["FailureReason"].endswith("...")


async def test_progress_reports_files_and_records(tmp_path: Path, script: Script, model_url: str) -> None:
    put(tmp_path, "in/a.csv", "1\n2\n3\n")
    put(tmp_path, "in/b.csv", "4\n")
    events: list[ProgressEvent] = []
    await run(job(BatchStrategy="SingleRecord"), tmp_path, model_url, progress=events.append)
    assert (events[-1].files_done, events[-1].files_total, events[-1].records_done) == (2, 2, 4)


async def test_demo_model_scores_asyncml_csv_batches(tmp_path: Path, demo_model: DemoModel) -> None:
    put(tmp_path, "in/batch.csv", "j1,5.1,3.5,1.4,0.2\nj2,not,a,flower\nj3,6.7,3.0,5.2,2.3\n")
    request = job(DataProcessing={"InputFilter": "$[1:]", "JoinSource": "Input", "OutputFilter": "$"})
    result = await run(request, tmp_path, demo_model.url)
    assert result["TransformJobStatus"] == "Completed"
    assert result["MaxConcurrentTransforms"] == 2  # from the demo model's /execution-parameters
    lines = outputs(tmp_path)["batch.csv.out"].splitlines()
    assert lines[0].startswith("j1,5.1,3.5,1.4,0.2,setosa,")
    assert lines[1] == "j2,not,a,flower,ERROR"  # placeholder keeps the lines aligned
    assert lines[2].startswith("j3,6.7,3.0,5.2,2.3,virginica,") and len(lines[2].split(",")) == 9


async def test_demo_model_scores_asyncml_json_lines(tmp_path: Path, demo_model: DemoModel) -> None:
    put(tmp_path, "in/batch.jsonl", '{"asyncmlJobId": "j1", "payload": {"features": [5.1, 3.5, 1.4, 0.2]}}\n')
    request = job(
        TransformInput={"ContentType": "application/jsonlines"},
        TransformOutput={"Accept": "application/jsonlines"},
        DataProcessing={
            "InputFilter": "$.payload",
            "JoinSource": "Input",
            "OutputFilter": "$['asyncmlJobId','SageMakerOutput']",
        },
    )
    result = await run(request, tmp_path, demo_model.url)
    assert result["TransformJobStatus"] == "Completed"
    line = json.loads(outputs(tmp_path)["batch.jsonl.out"])
    assert line["asyncmlJobId"] == "j1" and line["SageMakerOutput"]["label"] == "setosa"
    assert set(line) == {"asyncmlJobId", "SageMakerOutput"}


def test_the_demo_model_subprocess_gets_a_containers_environment() -> None:
    env = container_environment(job(BatchStrategy="SingleRecord", Environment={"MODE": "x"}))
    with start_demo_model(environment=env) as model:
        seen = dict(
            item.split("=", 1)
            for item in Path(f"/proc/{model.process.pid}/environ").read_text().split("\0")
            if "=" in item
        )
    assert seen["SAGEMAKER_BATCH"] == "true" and seen["MODE"] == "x"
    assert seen["SAGEMAKER_BATCH_STRATEGY"] == "SINGLE_RECORD"
    assert "SAGEMAKER_MAX_PAYLOAD_IN_MB" not in seen  # only what the request set
