"""[4] transform emulator: how it calls the model (ping, parameters, concurrency, retries)."""

from __future__ import annotations

from pathlib import Path

from tests.transform_emulator.model_fakes import (
    Script,
    job,
    outputs,
    put,
    run,
)


async def test_at_most_max_concurrent_transforms_in_flight_and_order_is_kept(
    tmp_path: Path, script: Script, model_url: str
) -> None:
    # Later records answer sooner, so a naive writer would reverse them.
    script.sleep_s = lambda body: 0.02 * (12 - int(body))
    put(tmp_path, "in/a.csv", "".join(f"{i}\n" for i in range(12)))
    request = job(MaxConcurrentTransforms=3, BatchStrategy="SingleRecord")
    result = await run(request, tmp_path, model_url)
    assert result["TransformJobStatus"] == "Completed"
    assert script.max_in_flight == 3
    assert outputs(tmp_path)["a.csv.out"] == "".join(f"{i}\n" for i in range(12))


async def test_a_failing_invocation_is_retried(tmp_path: Path, script: Script, model_url: str) -> None:
    script.fail_first = 2
    put(tmp_path, "in/a.csv", "1\n")
    result = await run(job(ModelClientConfig={"InvocationsMaxRetries": 2}), tmp_path, model_url)
    assert result["TransformJobStatus"] == "Completed"
    assert len(script.bodies) == 3


async def test_a_file_failing_after_retries_gets_no_out_but_the_others_do(
    tmp_path: Path, script: Script, model_url: str
) -> None:
    script.fail_when = b"boom"
    put(tmp_path, "in/a_good.csv", "1\n")
    put(tmp_path, "in/b_bad.csv", "2\nboom\n")
    put(tmp_path, "in/c_good.csv", "3\n")
    result = await run(
        job(BatchStrategy="SingleRecord", ModelClientConfig={"InvocationsMaxRetries": 1}), tmp_path, model_url
    )
    assert result["TransformJobStatus"] == "Failed"
    assert result["FailureReason"].startswith(
        "s3://b/in/b_bad.csv: Bad HTTP status received from algorithm: 500"
    )
    assert script.bodies.count(b"boom\n") == 2  # one try and one retry
    assert outputs(tmp_path) == {"a_good.csv.out": "1\n", "c_good.csv.out": "3\n"}  # no partial file either


async def test_a_timeout_counts_as_a_failure_and_is_retried(
    tmp_path: Path, script: Script, model_url: str
) -> None:
    script.sleep_s = lambda body: 1.5 if len(script.bodies) == 1 else 0.0
    put(tmp_path, "in/a.csv", "1\n")
    config = {"InvocationsTimeoutInSeconds": 1, "InvocationsMaxRetries": 1}
    result = await run(job(ModelClientConfig=config), tmp_path, model_url)
    assert result["TransformJobStatus"] == "Completed"
    assert len(script.bodies) == 2


async def test_a_wrong_record_count_fails_the_file(tmp_path: Path, script: Script, model_url: str) -> None:
    script.respond = lambda body: b"only-one\n"
    put(tmp_path, "in/a.csv", "1\n2\n3\n")
    result = await run(job(), tmp_path, model_url)
    assert result["TransformJobStatus"] == "Failed"
    assert "s3://b/in/a.csv: the model returned 1 records for a mini-batch of 3" in result["FailureReason"]
    assert outputs(tmp_path) == {}


async def test_the_model_must_answer_ping_first(tmp_path: Path, script: Script, model_url: str) -> None:
    script.ping_failures = 3
    put(tmp_path, "in/a.csv", "1\n")
    assert (await run(job(), tmp_path, model_url))["TransformJobStatus"] == "Completed"
    assert script.pings == 4
    script.ping_failures = -1
    result = await run(job(TransformJobName="t-2"), tmp_path, model_url, ready_timeout_s=0.3)
    assert result["TransformJobStatus"] == "Failed"
    assert "did not answer GET /ping with 200" in result["FailureReason"]


async def test_execution_parameters_fill_what_the_request_leaves_out(
    tmp_path: Path, script: Script, model_url: str
) -> None:
    script.execution_parameters = {
        "MaxConcurrentTransforms": 3,
        "BatchStrategy": "SINGLE_RECORD",
        "MaxPayloadInMB": 2,
    }
    put(tmp_path, "in/a.csv", "1\n2\n")
    result = await run(job(), tmp_path, model_url)
    assert (result["MaxConcurrentTransforms"], result["BatchStrategy"], result["MaxPayloadInMB"]) == (
        3,
        "SingleRecord",
        2,
    )
    # Three concurrent requests may reach the model in either order.
    assert sorted(script.bodies) == [b"1\n", b"2\n"]
    script.execution_parameters = None  # 404: SageMaker's defaults
    result = await run(job(TransformJobName="t-2"), tmp_path, model_url)
    assert (result["MaxConcurrentTransforms"], result["BatchStrategy"], result["MaxPayloadInMB"]) == (
        1,
        "MultiRecord",
        6,
    )
