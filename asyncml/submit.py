"""[1] submit: validate records, dedupe by clientToken, store QUEUED, put on the stream; cancel."""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass

from asyncml.errors import Conflict, NotFound, Unavailable, ValidationError
from asyncml.model import Job, JobMove, JobsMoved, JobStatus
from asyncml.ports import Ports

MAX_CLIENT_TOKEN = 128
MAX_METADATA_BYTES = 16 * 1024
# RFC 4180 fields: unquoted text without quotes, or "quoted" runs with "" for a quote inside. Python's csv
# module also takes a stray quote mid-field (1,2"3); Batch Transform's splitter does not, and one such
# record would fail every other job of its batch, so it is refused here.
_CSV_FIELD = r'(?:[^,"]*|"(?:[^"]|"")*")'
_CSV_RECORD = re.compile(f"{_CSV_FIELD}(?:,{_CSV_FIELD})*")
# Control characters that would split a record across lines in the batch file, or truncate it.
_LINE_BREAKERS = {"\n": "a newline", "\r": "a carriage return", "\x00": "a NUL byte"}


@dataclass(frozen=True, slots=True)
class SubmitInput:
    payload: str
    client_token: str | None = None
    metadata: str | None = None  # AWSJSON: a JSON document as a string


def new_job_id() -> str:
    """One UUIDv7: `new_job_ids(1)`."""
    return new_job_ids(1)[0]


def new_job_ids(n: int) -> list[str]:
    """UUIDv7s (RFC 9562; Python 3.14's uuid.uuid7 has the same layout): 48 bits of Unix time in
    milliseconds, then 74 bits that are random but for the last 12, a counter (RFC 9562 section 6.2
    allows one). So the ids of one call are in submit order and share a run (`model.run_of`) of up
    to 4,096: the cloud store keeps a run's jobs in one item, so their moves are one write, not one
    a job; SQLite's id index takes them as adjacent keys (a few pages a batch, not one a job)."""
    # The runs of one call count up from a random start (rand_b's top bit clear, so they never
    # carry into the variant): ids stay in submit order across a call's runs too.
    rand = int.from_bytes(os.urandom(10)) >> 12 << 12 & ~(1 << 61)
    base = time.time_ns() // 1_000_000 << 80 | 7 << 76 | (rand >> 68) << 64 | 2 << 62 | rand & (1 << 62) - 1
    ids: list[str] = []
    for first in range(0, n, 1 << 12):
        for count in range(min(n - first, 1 << 12)):
            h = f"{base + (first | count):032x}"
            ids.append(f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}")  # str(uuid.UUID(...))
    return ids


def submit_job(ports: Ports, inp: SubmitInput) -> Job:
    return submit_jobs(ports, [inp], field="input")[0]


def submit_jobs(ports: Ports, inputs: Sequence[SubmitInput], *, field: str = "inputs") -> list[Job]:
    """Validate every input first (all or nothing), then store and stream the new ones.

    A clientToken seen before returns the job stored then, and is not streamed again."""
    limit = ports.settings.max_inputs_per_call
    if len(inputs) > limit:
        raise ValidationError(f"{field} has {len(inputs)} items; the limit is {limit} per call", field=field)
    if not inputs:
        raise ValidationError(f"{field} is empty; send 1 to {limit} items", field=field)
    many = field == "inputs"
    names = [f"{field}[{i}]" if many else field for i in range(len(inputs))]
    for name, inp in zip(names, inputs, strict=True):
        validate_input(ports, inp, name)
    _check_tokens_agree(inputs, names)
    now = ports.clock.now()
    new = [
        Job(
            job_id=job_id,
            status=JobStatus.QUEUED,
            payload=inp.payload,
            submitted_at=now,
            updated_at=now,
            metadata=inp.metadata,
            client_token=inp.client_token,
        )
        for job_id, inp in zip(new_job_ids(len(inputs)), inputs, strict=True)
    ]
    try:
        stored = ports.store.create_jobs(new)
    except Unavailable as exc:
        raise Unavailable(f"{field}: {exc.message}", field=field) from exc
    created_ids = {j.job_id for j in new}
    fresh = [j for j in stored if j.job_id in created_ids]
    if fresh:
        ports.stream.put(fresh)
        # One update for the whole call: a job's intermediate moves are published per group.
        ports.publisher.publish_moves(JobsMoved(JobStatus.QUEUED, tuple(j.job_id for j in fresh), now))
    for name, inp, job in zip(names, inputs, stored, strict=True):
        if job.job_id not in created_ids and not _same_input(inp, job.payload, job.metadata):
            # The others of this call were stored and will run (nothing accepted is lost).
            raise Conflict(
                f"{name}.clientToken {inp.client_token!r} was first sent with a different payload or "
                f"metadata (job {job.job_id}); reuse a clientToken only to retry the very same input",
                field=f"{name}.clientToken",
            )
    return stored


def _same_input(inp: SubmitInput, payload: str, metadata: str | None) -> bool:
    if inp.payload != payload:
        return False
    if inp.metadata == metadata:
        return True
    # The same JSON written differently (spacing, key order) is the same metadata.
    if inp.metadata is None or metadata is None:
        return False
    return bool(json.loads(inp.metadata) == json.loads(metadata))


def _check_tokens_agree(inputs: Sequence[SubmitInput], names: Sequence[str]) -> None:
    """Within one call, a clientToken given twice must come with the same input both times."""
    first: dict[str, SubmitInput] = {}
    for name, inp in zip(names, inputs, strict=True):
        if inp.client_token is None:
            continue
        seen = first.setdefault(inp.client_token, inp)
        if seen is not inp and not _same_input(inp, seen.payload, seen.metadata):
            raise Conflict(
                f"{name}.clientToken {inp.client_token!r} is given twice in this call with different "
                "payloads or metadata; nothing was stored",
                field=f"{name}.clientToken",
            )


def validate_input(ports: Ports, inp: SubmitInput, field: str) -> None:
    texts = {"payload": inp.payload, "clientToken": inp.client_token, "metadata": inp.metadata}
    for part, text in texts.items():
        _check_unicode(text, f"{field}.{part}")
    validate_payload(
        inp.payload, ports.settings.content_type, ports.settings.max_payload_bytes, f"{field}.payload"
    )
    if inp.client_token is not None and not 1 <= len(inp.client_token) <= MAX_CLIENT_TOKEN:
        raise ValidationError(
            f"{field}.clientToken is {len(inp.client_token)} characters; it must be 1 to {MAX_CLIENT_TOKEN}",
            field=f"{field}.clientToken",
        )
    if inp.metadata is not None:
        name = f"{field}.metadata"
        size = len(inp.metadata.encode())
        if size > MAX_METADATA_BYTES:
            raise ValidationError(f"{name} is {size} bytes; the limit is {MAX_METADATA_BYTES}", field=name)
        try:
            json.loads(inp.metadata)
        except ValueError as exc:
            raise ValidationError(f"{name} is not valid JSON ({exc})", field=name) from exc
        except RecursionError as exc:
            raise ValidationError(f"{name} nests too deeply to be read as JSON", field=name) from exc


def _check_unicode(text: str | None, field: str) -> None:
    """JSON can carry a lone surrogate (\\ud800) that no UTF-8 store or file can hold."""
    if text is None:
        return
    try:
        text.encode()
    except UnicodeEncodeError as exc:
        raise ValidationError(
            f"{field} holds a lone surrogate at position {exc.start}; text must be valid Unicode", field=field
        ) from exc


def validate_payload(payload: str, content_type: str, max_bytes: int, field: str) -> None:
    """Refuse what would break line splitting, not parse, or exceed the size limit."""
    if not payload.strip():
        raise ValidationError(f"{field} is empty; send one record", field=field)
    for char, name in _LINE_BREAKERS.items():
        if char in payload:
            raise ValidationError(
                f"{field} contains {name} at position {payload.index(char)}; a record must be one line",
                field=field,
            )
    size = len(payload.encode())
    if size > max_bytes:
        raise ValidationError(f"{field} is {size} bytes; the limit is {max_bytes}", field=field)
    if content_type == "text/csv":
        if not _CSV_RECORD.fullmatch(payload):
            raise ValidationError(
                f'{field} is not a CSV record: a quote must open and close a whole field ("" inside it)',
                field=field,
            )
    else:
        try:
            value = json.loads(payload)
        except ValueError as exc:
            raise ValidationError(f"{field} is not JSON ({exc})", field=field) from exc
        except RecursionError as exc:
            raise ValidationError(f"{field} nests too deeply to be read as JSON", field=field) from exc
        if not isinstance(value, dict):
            raise ValidationError(
                f"{field} is a JSON {type(value).__name__}; "
                "application/jsonlines records must be JSON objects",
                field=field,
            )


def cancel_job(ports: Ports, job_id: str) -> Job:
    """Cancel a QUEUED job; the batcher never batches a cancelled job."""
    moved = ports.store.move_jobs([JobMove(job_id, JobStatus.CANCELLED)], ports.clock.now())
    if moved:
        ports.publisher.publish_jobs(moved)
        return moved[0]
    current = ports.store.get_jobs([job_id])
    if not current:
        raise NotFound(f"jobId {job_id!r} does not exist", field="jobId")
    raise Conflict(
        f"jobId {job_id!r} is {current[0].status.value}; only a QUEUED job can be cancelled", field="jobId"
    )
