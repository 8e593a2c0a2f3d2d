"""[3] batch file: key layout, the line codec (job id first) and parsing `.out` lines (pure)."""

from __future__ import annotations

import hashlib
import json
import posixpath
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

DATA_PREFIX = "data/"
RESULT_PREFIX = "result/"
MANIFEST_PREFIX = "manifests/"
JSON_ID_KEY = "asyncmlJobId"
JSON_PAYLOAD_KEY = "payload"
JSON_OUTPUT_KEY = "SageMakerOutput"


def make_batch_id(first_seen: datetime, seed: str) -> str:
    """A time-sortable id, deterministic in its inputs so a replayed stream batch gets the same id.

    Only letters, digits and hyphens: the transform job name derives from it and SageMaker allows
    nothing else."""
    digest = hashlib.sha256(seed.encode()).hexdigest()[:8]
    return f"{first_seen:%Y%m%d-%H%M%S}-{digest}"


def input_key(batch_id: str, ext: str) -> str:
    """`data/yyyy/mm/dd/<batchId>.<ext>`; the date comes from the batch id."""
    return f"{DATA_PREFIX}{_date_path(batch_id)}/{batch_id}.{ext}"


def output_key(in_key: str) -> str:
    """Where Batch Transform writes the output of `in_key`: same relative path, `.out` appended."""
    return RESULT_PREFIX + in_key.removeprefix(DATA_PREFIX) + ".out"


def output_dir(in_key: str) -> str:
    return posixpath.dirname(output_key(in_key)) + "/"


def batch_id_from_key(key: str) -> str | None:
    """The batch id in a batch file or `.out` key; None for a key we did not write."""
    name = posixpath.basename(key)
    if key.startswith(RESULT_PREFIX):
        name = name.removesuffix(".out")
    elif not key.startswith(DATA_PREFIX):
        return None
    stem, dot, ext = name.rpartition(".")
    if not dot or ext not in ("csv", "jsonl") or len(stem) != 24:
        return None
    return stem


def in_key_from_output(out_key: str) -> str:
    return DATA_PREFIX + out_key.removeprefix(RESULT_PREFIX).removesuffix(".out")


def _date_path(batch_id: str) -> str:
    return f"{batch_id[0:4]}/{batch_id[4:6]}/{batch_id[6:8]}"


@dataclass(frozen=True, slots=True)
class Record:
    job_id: str
    payload: str


def encode_lines(records: Iterable[Record], content_type: str) -> bytes:
    """One line a record, the job id first, so `JoinSource: Input` keeps it beside the prediction."""
    if content_type == "text/csv":
        lines = [f"{r.job_id},{r.payload}" for r in records]
    else:
        lines = [
            f'{{"{JSON_ID_KEY}": {json.dumps(r.job_id)}, "{JSON_PAYLOAD_KEY}": {r.payload}}}' for r in records
        ]
    return ("\n".join(lines) + "\n").encode() if lines else b""


def line_job_id(line: str, content_type: str) -> str:
    if content_type == "text/csv":
        return line.partition(",")[0]
    value = json.loads(line)
    return str(value[JSON_ID_KEY]) if isinstance(value, dict) else ""


@dataclass(frozen=True, slots=True)
class Outcome:
    job_id: str
    result: str | None  # the model's whole output for the record
    error: str | None


MISSING_OUTPUT = "the transform returned no output line for this record"


def pair_outputs(in_lines: Iterable[str], out_lines: Iterable[str], content_type: str) -> Iterator[Outcome]:
    """Walk the batch file and its `.out` in step (Batch Transform keeps record order), so memory
    stays flat however large the files. An input record with no matching output line fails alone."""
    outs = iter(out_lines)
    pending: tuple[str, str] | None = None
    for in_line in in_lines:
        if not in_line:
            continue
        job_id = line_job_id(in_line, content_type)
        if pending is None:
            pending = _next_out(outs, content_type)
        if pending is not None and pending[0] == job_id:
            yield Outcome(job_id, _result(in_line, pending[1], content_type), None)
            pending = None
        else:
            yield Outcome(job_id, None, MISSING_OUTPUT)


def _next_out(outs: Iterator[str], content_type: str) -> tuple[str, str] | None:
    for line in outs:
        if line:
            try:
                return line_job_id(line, content_type), line
            except (ValueError, KeyError):
                continue
    return None


def _result(in_line: str, out_line: str, content_type: str) -> str:
    if content_type == "text/csv":
        # CSV join is the input columns, a comma, then the output columns: strip the known input.
        if out_line.startswith(in_line + ","):
            return out_line[len(in_line) + 1 :]
        return _csv_tail(in_line, out_line)
    value = json.loads(out_line)
    output = value.get(JSON_OUTPUT_KEY)
    return output if isinstance(output, str) else json.dumps(output, separators=(",", ":"))


def _csv_tail(in_line: str, out_line: str) -> str:
    # Fallback if the join re-quoted fields: drop as many parsed columns as the input had.
    import csv
    import io

    n_in = len(next(csv.reader([in_line])))
    cols = next(csv.reader([out_line]))[n_in:]
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow(cols)
    return buf.getvalue()
