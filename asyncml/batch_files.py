"""[3] batch file: key layout, line codec (job id first), the line rule, pairing `.out` lines (pure)."""

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


def split_lines(chunks: Iterable[bytes], *, keep_tail: bool = True) -> Iterator[bytes]:
    """The one line rule for batch files and `.out` files (the emulator's `records.py` keeps the
    same rule): a line ends at `\n`; a `\r` just before it belongs to the line end; a `\r`
    anywhere else is data. Bytes are split before decoding, so a chunk may end inside a character
    and one undecodable line spoils only itself. `keep_tail=False` drops a last line without its
    `\n`: Batch Transform ends every record with one (AssembleWith Line), so in a `.out` that is
    a line cut short, not a result."""
    rest = b""
    for chunk in chunks:
        lines = (rest + chunk).split(b"\n")
        rest = lines.pop()
        for line in lines:
            yield line.removesuffix(b"\r")
    if rest and keep_tail:
        yield rest.removesuffix(b"\r")


def line_job_id(line: str, content_type: str) -> str | None:
    """The job id a line starts with; None for a line we could not have written."""
    if content_type == "text/csv":
        return line.partition(",")[0] or None
    try:
        value = json.loads(line)
    except ValueError:
        return None
    job_id = value.get(JSON_ID_KEY) if isinstance(value, dict) else None
    return job_id if isinstance(job_id, str) and job_id else None


@dataclass(frozen=True, slots=True)
class Outcome:
    job_id: str
    result: str | None  # the model's whole output for the record
    error: str | None
    line_bytes: int = 0  # the record's batch file line, about its payload's size


MISSING_OUTPUT = "the transform returned no output line for this record"
NOT_UTF8_OUTPUT = "the output line for this record is not UTF-8"
BAD_OUTPUT = "the output line for this record cannot be parsed"


@dataclass(frozen=True, slots=True)
class _OutLine:
    job_id: str
    text: str | None  # None: not UTF-8


def pair_outputs(
    in_lines: Iterable[bytes], out_lines: Iterable[bytes], content_type: str
) -> Iterator[Outcome]:
    """Walk the batch file and its `.out` in step (Batch Transform keeps record order), so memory
    stays flat however large the files. An input record with no usable output line fails alone; an
    input line without a readable job id yields nothing (the caller fails the jobs left over)."""
    outs = iter(out_lines)
    pending: _OutLine | None = None
    for raw in in_lines:
        # The id is ASCII and comes first: a bad byte later in the line does not hide it.
        in_line = raw.decode("utf-8", "replace")
        job_id = line_job_id(in_line, content_type) if raw else None
        if job_id is None:
            continue
        if pending is None:
            pending = _next_out(outs, content_type)
        if pending is None or pending.job_id != job_id:
            yield Outcome(job_id, None, MISSING_OUTPUT, len(raw))
            continue
        out, pending = pending, None
        if out.text is None:
            yield Outcome(job_id, None, NOT_UTF8_OUTPUT, len(raw))
            continue
        result = _result(in_line, out.text, content_type)
        yield Outcome(job_id, result, None if result is not None else BAD_OUTPUT, len(raw))


def _next_out(outs: Iterator[bytes], content_type: str) -> _OutLine | None:
    for raw in outs:
        job_id = line_job_id(raw.decode("utf-8", "replace"), content_type) if raw else None
        if job_id is None:
            continue
        try:
            text: str | None = raw.decode()
        except UnicodeDecodeError:
            text = None
        return _OutLine(job_id, text)
    return None


def _result(in_line: str, out_line: str, content_type: str) -> str | None:
    """The model's output within the joined line; None when the line cannot be parsed."""
    if content_type == "text/csv":
        # CSV join is the input columns, a comma, then the output columns: strip the known input.
        if out_line.startswith(in_line + ","):
            return out_line[len(in_line) + 1 :]
        return _csv_tail(in_line, out_line)
    try:
        value = json.loads(out_line)
    except ValueError:
        return None
    if not isinstance(value, dict):
        return None
    output = value.get(JSON_OUTPUT_KEY)
    return output if isinstance(output, str) else json.dumps(output, separators=(",", ":"))


def _csv_tail(in_line: str, out_line: str) -> str | None:
    # Fallback if the join re-quoted fields: drop as many parsed columns as the input had.
    import csv
    import io

    try:
        n_in = len(next(csv.reader([in_line])))
        cols = next(csv.reader([out_line]))[n_in:]
    except csv.Error:
        return None
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow(cols)
    return buf.getvalue()
