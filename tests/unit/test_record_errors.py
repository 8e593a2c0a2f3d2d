"""[5] results: a record the model marks as failed (the error prefix) ends FAILED with the model's line."""

from __future__ import annotations

import json

import pytest

from asyncml import batch_files, record_errors
from asyncml.model import JobStatus

JSONL = "application/jsonlines"


def outcome_of(out_line: str, content_type: str = "text/csv") -> batch_files.Outcome:
    in_line = "j1,5,1" if content_type == "text/csv" else '{"asyncmlJobId": "j1", "payload": [5, 1]}'
    (outcome,) = batch_files.pair_outputs([in_line.encode()], [out_line.encode()], content_type)
    return outcome


def test_a_line_starting_with_the_prefix_fails_with_that_line_and_others_complete() -> None:
    failed = record_errors.job_move(outcome_of("j1,5,1,ERROR: bad record"), "ERROR")
    assert (failed.status, failed.error, failed.result) == (JobStatus.FAILED, "ERROR: bad record", None)
    ok = record_errors.job_move(outcome_of("j1,5,1,setosa,0.9"), "ERROR")
    assert (ok.status, ok.result) == (JobStatus.COMPLETED, "setosa,0.9")


@pytest.mark.parametrize("prefix", [None, ""])
def test_without_a_prefix_an_error_line_is_a_result(prefix: str | None) -> None:
    move = record_errors.job_move(outcome_of("j1,5,1,ERROR"), prefix)
    assert (move.status, move.result) == (JobStatus.COMPLETED, "ERROR")


def test_a_missing_output_line_fails_whatever_the_prefix() -> None:
    (outcome,) = batch_files.pair_outputs([b"j1,5,1"], [], "text/csv")
    assert record_errors.job_move(outcome, None).error == batch_files.MISSING_OUTPUT


@pytest.mark.parametrize(
    ("prefix", "written", "error"),
    [
        ('{"error"', {"error": "model said no"}, '{"error":"model said no"}'),
        ("ERR", "ERR: model said no", "ERR: model said no"),
    ],
)
def test_json_failure_lines_stay_json_and_read_back_as_failed(
    prefix: str, written: object, error: str
) -> None:
    output = record_errors.failure_output(JSONL, prefix, "model said no")
    assert json.loads(output) == written
    joined = json.dumps({"asyncmlJobId": "j1", "SageMakerOutput": json.loads(output)}, separators=(",", ":"))
    move = record_errors.job_move(outcome_of(joined, JSONL), prefix)
    assert (move.status, move.error) == (JobStatus.FAILED, error)


def test_csv_failure_line_keeps_the_message_commas_and_all() -> None:
    output = record_errors.failure_output("text/csv", "ERROR", "500, after 3 retries")
    move = record_errors.job_move(outcome_of("j1,5,1," + output), "ERROR")
    assert move.error == "ERROR: 500, after 3 retries"
