"""[4] transform: run a CreateTransformJob request locally and answer like DescribeTransformJob."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from asyncml.transform_emulator.files import InputError, InputObject, list_inputs
from asyncml.transform_emulator.invoke import ModelClient, ModelNotReady
from asyncml.transform_emulator.records import FailedRecord, FileFailed, transform_file
from asyncml.transform_emulator.request import TransformSettings, resolve_settings, validate_request

ARN_PREFIX = "arn:aws:sagemaker:local:000000000000:transform-job/"
MAX_FAILURE_REASON = 1024  # DescribeTransformJob's FailureReason limit


@dataclass(frozen=True)
class ProgressEvent:
    files_total: int
    files_done: int
    records_done: int
    current: str  # URI of the file that moved


async def run_transform_job(
    request: dict[str, Any],
    *,
    bucket_root: Path,
    model_url: str,
    progress: Callable[[ProgressEvent], None] | None = None,
    ready_timeout_s: float = 60.0,
    isolate_failures: FailedRecord | None = None,
    model_token: str | None = None,
    model_alive: Callable[[], bool] | None = None,
) -> dict[str, Any]:
    """Run the job to its end. InvalidTransformRequest, before anything runs, for a request AWS refuses.

    `isolate_failures` is an emulator option (SageMaker has none): a mini-batch the model fails is
    split and retried until the failing records stand alone, and each of those gets the line
    `isolate_failures(message)` in place of its output, so the file still gets its `.out`.
    `model_token` / `model_alive`: see `ModelClient` (a model server this process supervises)."""
    validate_request(request)
    created = datetime.now(UTC)
    settings = resolve_settings(request)
    client = ModelClient(
        model_url,
        content_type=settings.content_type,
        accept=settings.accept,
        token=model_token,
        alive=model_alive,
    )
    failures: list[str] = []
    started = created
    try:
        await client.wait_ready(ready_timeout_s)
        settings = resolve_settings(request, await client.execution_parameters())
        started = datetime.now(UTC)
        objects = list_inputs(settings.data_type, settings.input_uri, bucket_root)
        await _run_instances(
            settings=settings,
            objects=objects,
            client=client,
            bucket_root=bucket_root,
            failures=failures,
            progress=progress,
            isolate=isolate_failures,
        )
    except (ModelNotReady, InputError) as exc:
        failures.append(str(exc))
    finally:
        await client.aclose()
    return _describe(request, settings, failures, created=created, started=started, ended=datetime.now(UTC))


async def _run_instances(
    *,
    settings: TransformSettings,
    objects: list[InputObject],
    client: ModelClient,
    bucket_root: Path,
    failures: list[str],
    progress: Callable[[ProgressEvent], None] | None,
    isolate: FailedRecord | None,
) -> None:
    """Files are spread over instances by key and never split; each instance works through its own share."""
    done = {"files": 0, "records": 0}

    def report(uri: str, records: int, file_done: bool) -> None:
        done["records"] += records
        done["files"] += file_done
        if progress:
            progress(ProgressEvent(len(objects), done["files"], done["records"], uri))

    async def instance(share: list[InputObject]) -> None:
        for obj in share:
            try:
                await transform_file(obj, settings, client, bucket_root, report, isolate=isolate)
            except FileFailed as exc:
                # That file gets no .out; the others go on, and the job ends Failed (SageMaker's rule).
                failures.append(f"{obj.uri}: {exc}")
                report(obj.uri, 0, True)

    count = max(1, min(settings.instance_count, len(objects)))
    await asyncio.gather(*(instance(objects[i::count]) for i in range(count)))


def _describe(
    request: dict[str, Any],
    settings: TransformSettings,
    failures: list[str],
    *,
    created: datetime,
    started: datetime,
    ended: datetime,
) -> dict[str, Any]:
    """The request's fields (Tags excepted, as in AWS) with defaults filled in, plus status and times."""
    result = {key: value for key, value in request.items() if key != "Tags"}
    result["TransformInput"] = {
        "CompressionType": settings.compression,
        "SplitType": settings.split_type,
        **request["TransformInput"],
    }
    result["TransformOutput"] = {"AssembleWith": settings.assemble_with, **request["TransformOutput"]}
    result.update(
        TransformJobArn=ARN_PREFIX + settings.name,
        TransformJobStatus="Failed" if failures else "Completed",
        MaxConcurrentTransforms=settings.max_concurrent,
        MaxPayloadInMB=settings.max_payload_mb,
        BatchStrategy=settings.batch_strategy,
        CreationTime=created,
        TransformStartTime=started,
        TransformEndTime=ended,
    )
    if failures:
        reason = "; ".join(failures)
        result["FailureReason"] = reason if len(reason) <= MAX_FAILURE_REASON else reason[:1021] + "..."
    return result


def describe_to_json(describe: dict[str, Any]) -> dict[str, Any]:
    """Datetimes as ISO-8601 strings (what boto3 prints), everything else unchanged."""
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in describe.items()}
