"""[4] transform: one input file through the model: split, mini-batch, invoke in order, write `.out`."""

from __future__ import annotations

import asyncio
import zlib
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path

from asyncml.transform_emulator.data_processing import RecordProcessor, build_processor, is_identity
from asyncml.transform_emulator.files import AtomicOutput, InputObject, local_path, output_uri, read_input
from asyncml.transform_emulator.invoke import InvocationError, ModelClient
from asyncml.transform_emulator.jsonpath import DataProcessingError
from asyncml.transform_emulator.request import TransformSettings

Report = Callable[[str, int, bool], None]  # (file URI, records just written, file finished)
# An emulator option, off by default (SageMaker fails the whole file): the model's message for one
# record it failed -> the output line written in that record's place (then joined like any output).
FailedRecord = Callable[[str], str]
_ENC = ("utf-8", "surrogateescape")  # any byte survives the trip through str


class FileFailed(Exception):
    """This file gets no `.out`; the message becomes its part of the job's FailureReason."""


class _CountMismatch(FileFailed):
    """The model answered a mini-batch with too few or too many lines."""


async def transform_file(
    obj: InputObject,
    settings: TransformSettings,
    client: ModelClient,
    bucket_root: Path,
    report: Report,
    *,
    isolate: FailedRecord | None = None,
) -> None:
    try:
        data = read_input(obj, settings.compression)
    except FileNotFoundError:
        raise FileFailed("ClientError: the object does not exist") from None
    except (OSError, EOFError, zlib.error) as exc:
        raise FileFailed(f"ClientError: cannot read the object ({exc})") from None
    processor = None
    if not is_identity(settings.input_filter, settings.join_source, settings.output_filter):
        processor = build_processor(
            settings.content_type or "", settings.input_filter, settings.join_source, settings.output_filter
        )
    target = local_path(output_uri(settings.output_path, obj.relative), bucket_root)
    try:
        out = AtomicOutput(target)
    except OSError as exc:
        raise FileFailed(f"InternalServerError: cannot write {target}: {exc.strerror}") from None
    try:
        if settings.split_type == "Line":
            await _by_line(
                data,
                uri=obj.uri,
                settings=settings,
                processor=processor,
                client=client,
                out=out,
                report=report,
                isolate=isolate,
            )
        else:
            await _whole(
                data,
                uri=obj.uri,
                settings=settings,
                processor=processor,
                client=client,
                out=out,
                report=report,
            )
    except (InvocationError, DataProcessingError) as exc:
        out.discard()
        raise FileFailed(str(exc)) from None
    except OSError as exc:  # e.g. the output folder is not writable: this file fails, not the emulator
        out.discard()
        raise FileFailed(f"InternalServerError: cannot write {out.path}: {exc.strerror}") from None
    except BaseException:
        out.discard()
        raise
    out.commit()
    report(obj.uri, 0, True)


def mini_batches(records: list[str], limit: int | None, single: bool) -> Iterator[tuple[int, int]]:
    """(start, end) spans within `limit` bytes (a record counts its newline); a record is never split."""
    start, size = 0, 0
    for i, record in enumerate(records):
        n = (len(record) if record.isascii() else len(record.encode(*_ENC))) + 1
        if limit is not None and n > limit:
            raise FileFailed(f"ClientError: record {i + 1} is {n} bytes; MaxPayloadInMB allows {limit}")
        if i > start and (single or (limit is not None and size + n > limit)):
            yield start, i
            start, size = i, 0
        size += n
    if start < len(records):
        yield start, len(records)


def _split_lines(text: str) -> list[str]:
    """Lines without their `\n` or `\r\n`; a plain split unless a CR is there to strip.

    The line rule asyncml's results reader keeps too (`asyncml/batch_files.split_lines`; this
    package imports nothing of asyncml): only `\n` ends a line, a `\r` just before it belongs to the
    line end, and a `\r` anywhere else is data, so a model answering a bare CR moves no record."""
    lines = text.split("\n")
    return [line.removesuffix("\r") for line in lines] if "\r" in text else lines


async def _by_line(
    data: bytes,
    *,
    uri: str,
    settings: TransformSettings,
    processor: RecordProcessor | None,
    client: ModelClient,
    out: AtomicOutput,
    report: Report,
    isolate: FailedRecord | None,
) -> None:
    lines = [
        line for line in _split_lines(data.decode(*_ENC)) if line
    ]  # blank lines are not records (unconfirmed on AWS)
    sent = processor.filter_inputs(lines) if processor else lines
    # Outputs are counted when they are reassembled as lines or joined to their inputs.
    as_lines = settings.assemble_with == "Line" or processor is not None

    async def answer(start: int, end: int) -> bytes:
        """One /invocations call; the caller holds a slot, released as soon as the model answered."""
        try:
            payload = ("\n".join(sent[start:end]) + "\n").encode(*_ENC)
            return await client.invoke(
                payload, timeout_s=settings.timeout_s, max_retries=settings.max_retries
            )
        finally:
            slots.release()

    async def answer_lines(start: int, end: int) -> list[str]:
        text = (await answer(start, end)).decode(*_ENC)
        outputs = _split_lines(text.removesuffix("\n")) if text else []  # an empty answer holds no record
        if len(outputs) != end - start:
            raise _CountMismatch(
                f"the model returned {len(outputs)} records for a mini-batch of {end - start}"
                f" (records {start + 1}-{end})"
            )
        return outputs

    async def settle(start: int, end: int) -> list[str]:
        """The outputs of records start..end; with `isolate`, a failing mini-batch is halved until
        each failing record stands alone, and only those get the failure line."""
        try:
            return await answer_lines(start, end)
        except (InvocationError, _CountMismatch) as exc:
            if isolate is None:
                raise
            if end - start == 1:
                return [" ".join(isolate(str(exc)).splitlines())]
        mid = (start + end) // 2
        outputs: list[str] = []
        for half in ((start, mid), (mid, end)):
            await slots.acquire()
            outputs += await settle(*half)
        return outputs

    async def call(start: int, end: int) -> bytes:
        if not as_lines:
            return await answer(start, end)  # AssembleWith None: response bodies concatenated as they are
        outputs = await settle(start, end)
        if processor:
            outputs = processor.join_outputs(lines[start:end], outputs)
        # AssembleWith Line: one newline after each record, never doubled.
        return ("\n".join(outputs) + "\n").encode(*_ENC)

    slots = asyncio.Semaphore(settings.max_concurrent)
    pending: deque[tuple[int, asyncio.Task[bytes]]] = deque()

    async def flush_head() -> None:
        count, task = pending.popleft()
        out.write(await task)
        report(uri, count, False)

    spans = mini_batches(sent, settings.max_payload_bytes, settings.batch_strategy == "SingleRecord")
    try:
        for start, end in spans:
            await slots.acquire()
            pending.append((end - start, asyncio.create_task(call(start, end))))
            # Write finished heads at once, so order holds and memory stays bounded.
            while pending and (pending[0][1].done() or len(pending) > 4 * settings.max_concurrent):
                await flush_head()
        while pending:
            await flush_head()
    finally:
        for _, task in pending:
            task.cancel()
        await asyncio.gather(*(task for _, task in pending), return_exceptions=True)


async def _whole(
    data: bytes,
    *,
    uri: str,
    settings: TransformSettings,
    processor: RecordProcessor | None,
    client: ModelClient,
    out: AtomicOutput,
    report: Report,
) -> None:
    """SplitType None: the whole object is one request, and it must fit MaxPayloadInMB."""
    limit = settings.max_payload_bytes
    if limit is not None and len(data) > limit:
        raise FileFailed(f"ClientError: the object is {len(data)} bytes; MaxPayloadInMB allows {limit}")
    text = data.decode(*_ENC)
    payload = processor.filter_inputs([text])[0].encode(*_ENC) if processor else data
    body = await client.invoke(payload, timeout_s=settings.timeout_s, max_retries=settings.max_retries)
    if processor:
        body = processor.join_outputs([text], [body.decode(*_ENC)])[0].encode(*_ENC)
    if settings.assemble_with == "Line" and not body.endswith(b"\n"):
        body += b"\n"
    out.write(body)
    report(uri, 1, False)
