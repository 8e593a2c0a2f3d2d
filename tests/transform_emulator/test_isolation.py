"""[4] transform: the isolate_failures option: a failing mini-batch is split until bad records stand alone."""

from __future__ import annotations

from pathlib import Path

from tests.transform_emulator.model_fakes import Script, job, model_url, outputs, per_line, put, run, script

__all__ = ["model_url", "script"]  # fixtures, imported for pytest

NO_RETRIES = {"InvocationsMaxRetries": 0}


def mark(message: str) -> str:
    return "ERROR: " + message


async def test_without_the_option_a_failing_mini_batch_fails_its_file_as_on_sagemaker(
    tmp_path: Path, script: Script, model_url: str
) -> None:
    script.fail_when = b"bad"
    put(tmp_path, "in/a.csv", "1\nbad\n3\n")
    result = await run(job(ModelClientConfig=NO_RETRIES), tmp_path, model_url)
    assert result["TransformJobStatus"] == "Failed"
    assert outputs(tmp_path) == {}


async def test_a_5xx_record_is_isolated_and_only_it_gets_the_failure_line(
    tmp_path: Path, script: Script, model_url: str
) -> None:
    script.fail_when = b"bad"
    script.respond = per_line(lambda line: "ok-" + line)
    put(tmp_path, "in/a.csv", "".join(f"{i}\n" for i in range(1, 8)) + "bad\n" + "9\n")
    result = await run(job(ModelClientConfig=NO_RETRIES), tmp_path, model_url, isolate_failures=mark)
    assert result["TransformJobStatus"] == "Completed"
    lines = outputs(tmp_path)["a.csv.out"].splitlines()
    assert lines[:7] == [f"ok-{i}" for i in range(1, 8)] and lines[8] == "ok-9"
    # SageMaker's log line for the failure, then what the model said in its 500 answer.
    assert lines[7] == "ERROR: Bad HTTP status received from algorithm: 500 (boom)"
    # Halving: 9 -> 4+5 -> 2+3 -> 1+2 -> 1+1, so the one bad record costs a few calls, not one per record.
    assert script.bodies.count(b"bad\n") == 1 and len(script.bodies) <= 9


async def test_isolated_failures_are_retried_like_any_call(
    tmp_path: Path, script: Script, model_url: str
) -> None:
    script.fail_when = b"bad"
    put(tmp_path, "in/a.csv", "1\nbad\n")
    config = {"InvocationsMaxRetries": 1}
    result = await run(job(ModelClientConfig=config), tmp_path, model_url, isolate_failures=mark)
    assert result["TransformJobStatus"] == "Completed"
    assert (
        outputs(tmp_path)["a.csv.out"]
        == "1\nERROR: Bad HTTP status received from algorithm: 500 (boom) (after 1 retries)\n"
    )
    assert script.bodies.count(b"bad\n") == 2  # the lone record: one try, one retry


async def test_too_few_lines_for_a_mini_batch_isolate_the_record_the_model_drops(
    tmp_path: Path, script: Script, model_url: str
) -> None:
    # The model silently drops "skip": a 3-record batch answers 2 lines, so no line can be trusted.
    script.respond = lambda body: b"".join(
        b"out-" + line + b"\n" for line in body.splitlines() if line != b"skip"
    )
    put(tmp_path, "in/a.csv", "1\nskip\n3\n")
    result = await run(job(), tmp_path, model_url, isolate_failures=mark)
    assert result["TransformJobStatus"] == "Completed"
    assert outputs(tmp_path)["a.csv.out"] == (
        "out-1\nERROR: the model returned 0 records for a mini-batch of 1 (records 2-2)\nout-3\n"
    )


async def test_too_many_lines_are_isolated_too(tmp_path: Path, script: Script, model_url: str) -> None:
    script.respond = per_line(lambda line: "a\nb" if line == "twice" else "out-" + line)
    put(tmp_path, "in/a.csv", "1\ntwice\n")
    await run(job(), tmp_path, model_url, isolate_failures=mark)
    assert outputs(tmp_path)["a.csv.out"].splitlines() == [
        "out-1",
        "ERROR: the model returned 2 records for a mini-batch of 1 (records 2-2)",
    ]


async def test_isolated_records_are_joined_with_their_input_like_any_output(
    tmp_path: Path, script: Script, model_url: str
) -> None:
    # What asyncml sends: the id column dropped before the model, the whole input joined back after.
    script.fail_when = b"bad"
    script.respond = per_line(lambda line: "p-" + line)
    put(tmp_path, "in/a.csv", "j1,1\nj2,bad\nj3,3\n")
    processing = {"InputFilter": "$[1:]", "JoinSource": "Input", "OutputFilter": "$"}
    request = job(DataProcessing=processing, ModelClientConfig=NO_RETRIES)
    await run(request, tmp_path, model_url, isolate_failures=mark)
    assert outputs(tmp_path)["a.csv.out"].splitlines() == [
        "j1,1,p-1",
        "j2,bad,ERROR: Bad HTTP status received from algorithm: 500 (boom)",
        "j3,3,p-3",
    ]


async def test_a_failure_line_never_spans_two_lines(tmp_path: Path, script: Script, model_url: str) -> None:
    script.fail_when = b"bad"
    put(tmp_path, "in/a.csv", "bad\n2\n")
    await run(job(ModelClientConfig=NO_RETRIES), tmp_path, model_url, isolate_failures=lambda m: "E\n" + m)
    assert outputs(tmp_path)["a.csv.out"].splitlines()[1] == "2"


async def test_single_record_strategy_isolates_without_splitting(
    tmp_path: Path, script: Script, model_url: str
) -> None:
    script.fail_when = b"bad"
    put(tmp_path, "in/a.csv", "1\nbad\n3\n")
    request = job(BatchStrategy="SingleRecord", ModelClientConfig=NO_RETRIES)
    await run(request, tmp_path, model_url, isolate_failures=mark)
    assert outputs(tmp_path)["a.csv.out"].splitlines()[::2] == ["1", "3"]
    assert len(script.bodies) == 3
