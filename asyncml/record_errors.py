"""[5] results: what a failed record looks like in the model's output (the deployment's error prefix)."""

from __future__ import annotations

import json

from asyncml.batch_files import Outcome
from asyncml.model import JobMove, JobStatus

# What the bundled demo model writes for a record it cannot score, per content type (compact JSON
# for JSON Lines, as the results step sees it): the local runtime's default error prefix with it.
DEMO_ERROR_PREFIX = {"text/csv": "ERROR", "application/jsonlines": '{"error"'}


# A job's end is published whole, and AppSync drops a subscription message over 240 KB (the
# publish still answers 200); DynamoDB refuses an item over 400 KB. A result is kept in the job
# only while its JSON text and the record's line stay within INLINE_BYTES, which leaves room for
# the metadata (16 KiB, twice that escaped) and the other fields; a larger one goes to the bucket
# (`model.result_key`). An error is a message, so a longer one is cut.
INLINE_BYTES = 200_000
MAX_ERROR_CHARS = 8192


def job_move(outcome: Outcome, error_prefix: str | None, batch_id: str | None = None) -> JobMove:
    """COMPLETED with the model's output, or FAILED: no output line, or a line the model marked as
    failed (it starts with the error prefix; that line, cut to MAX_ERROR_CHARS, becomes the error)."""
    job, b = outcome.job_id, batch_id
    if outcome.error is not None:
        return JobMove(job, JobStatus.FAILED, error=outcome.error, in_batch=b)
    if error_prefix and outcome.result is not None and outcome.result.startswith(error_prefix):
        return JobMove(job, JobStatus.FAILED, error=_cut(outcome.result), in_batch=b)
    return JobMove(job, JobStatus.COMPLETED, result=outcome.result, in_batch=b)


def fits_in_job(outcome: Outcome, result: str) -> bool:
    """Whether `result` may be kept in the job itself (INLINE_BYTES)."""
    if outcome.line_bytes + 6 * len(result) <= INLINE_BYTES:  # JSON escapes a character to <= 6 bytes
        return True
    return outcome.line_bytes + len(json.dumps(result, ensure_ascii=False).encode()) <= INLINE_BYTES


def _cut(error: str) -> str:
    if len(error) <= MAX_ERROR_CHARS:
        return error
    return f"{error[:MAX_ERROR_CHARS]}... (cut: the line is {len(error)} characters)"


def failure_output(content_type: str, error_prefix: str, message: str) -> str:
    """The output line written for a record the model failed (the local emulator's isolate_failures),
    such that `job_move` fails that record with `message` in its error.

    CSV: `ERROR: message`. JSON Lines: the output must stay JSON for the join, so an object prefix
    such as `{"error"` is completed into `{"error": "message"}`; any other prefix becomes a string."""
    if content_type == "text/csv":
        return f"{error_prefix}: {message}"
    as_object = f"{error_prefix}: {json.dumps(message)}}}"
    try:
        json.loads(as_object)
    except ValueError:
        return json.dumps(f"{error_prefix}: {message}")
    return as_object
