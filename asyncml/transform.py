"""[4] transform: build the CreateTransformJob request for a batch (or the schedule's manifest), start it."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator, Sequence
from typing import Any

from asyncml import batch_files
from asyncml.model import Batch, BatchStatus, JobMove, JobStatus
from asyncml.ports import Ports
from asyncml.settings import Settings

_BATCH_ID = re.compile(r"\d{8}-\d{6}-[0-9a-f]{8}")


def job_name_for_batch(settings: Settings, batch_id: str) -> str:
    """Transform job names derive from the batch id, so a repeated event cannot start a batch twice
    (SageMaker refuses a second job of the same name, and names can never be reused)."""
    return f"{settings.name_prefix}-{batch_id}"


def job_name_for_manifest(settings: Settings, batch_ids: Sequence[str]) -> str:
    digest = hashlib.sha256(",".join(sorted(batch_ids)).encode()).hexdigest()[:16]
    return f"{settings.name_prefix}-s-{digest}"


def manifest_key(job_name: str) -> str:
    return f"{batch_files.MANIFEST_PREFIX}{job_name}.json"


def build_request(
    settings: Settings, job_name: str, *, s3_uri: str, data_type: str, output_path: str
) -> dict[str, Any]:
    """The CreateTransformJob request, the same dict for SageMaker and for the local emulator.

    The id column rides along: InputFilter drops it before the model, JoinSource puts the whole
    input back beside the output so results can be matched to jobs."""
    ct = settings.content_type
    if ct == "text/csv":
        processing = {"InputFilter": "$[1:]", "JoinSource": "Input", "OutputFilter": "$"}
    else:
        processing = {
            "InputFilter": f"$.{batch_files.JSON_PAYLOAD_KEY}",
            "JoinSource": "Input",
            "OutputFilter": f"$['{batch_files.JSON_ID_KEY}','{batch_files.JSON_OUTPUT_KEY}']",
        }
    request: dict[str, Any] = {
        "TransformJobName": job_name,
        "ModelName": settings.model_name,
        "BatchStrategy": "MultiRecord",
        "MaxPayloadInMB": settings.max_payload_mb,
        "TransformInput": {
            "DataSource": {"S3DataSource": {"S3DataType": data_type, "S3Uri": s3_uri}},
            "ContentType": ct,
            "SplitType": "Line",
            "CompressionType": "None",
        },
        "TransformOutput": {"S3OutputPath": output_path, "Accept": ct, "AssembleWith": "Line"},
        "TransformResources": {
            "InstanceType": settings.instance_type,
            "InstanceCount": settings.instance_count,
        },
        "DataProcessing": processing,
    }
    if settings.max_concurrent_transforms:
        request["MaxConcurrentTransforms"] = settings.max_concurrent_transforms
    if settings.kms_key_id:
        request["TransformOutput"]["KmsKeyId"] = settings.kms_key_id
    return request


def start_batch(ports: Ports, input_key: str) -> Batch | None:
    """Start one transform job for the batch file at `input_key` (trigger "s3"). None when the key
    is not a batch we sealed, or the batch has started already."""
    batch_id = batch_files.batch_id_from_key(input_key)
    batch = ports.store.get_batch(batch_id) if batch_id else None
    if batch is None or batch.status is not BatchStatus.BATCHED:
        return None
    settings = ports.settings
    name = job_name_for_batch(settings, batch.batch_id)
    ports.runner.start(
        build_request(
            settings,
            name,
            s3_uri=ports.bucket.uri(batch.input_key),
            data_type="S3Prefix",
            output_path=ports.bucket.uri(batch_files.output_dir(batch.input_key)),
        )
    )
    moved = mark_processing(ports, [batch], name)
    return moved[0] if moved else ports.store.get_batch(batch.batch_id)


def start_scheduled(ports: Ports) -> str | None:
    """Start one transform job over a manifest of every batch not yet started (trigger "schedule")."""
    batches = list(iter_batches(ports, BatchStatus.BATCHED))
    if not batches:
        return None
    settings = ports.settings
    name = job_name_for_manifest(settings, [b.batch_id for b in batches])
    data_prefix = ports.bucket.uri(batch_files.DATA_PREFIX)
    manifest = [{"prefix": data_prefix}] + [
        b.input_key.removeprefix(batch_files.DATA_PREFIX) for b in batches
    ]
    ports.bucket.put(manifest_key(name), json.dumps(manifest).encode())
    ports.runner.start(
        build_request(
            settings,
            name,
            s3_uri=ports.bucket.uri(manifest_key(name)),
            data_type="ManifestFile",
            output_path=ports.bucket.uri(batch_files.RESULT_PREFIX),
        )
    )
    mark_processing(ports, batches, name)
    return name


def mark_processing(ports: Ports, batches: Sequence[Batch], job_name: str | None) -> list[Batch]:
    """Batches and their jobs -> PROCESSING; a batch or job already further along stays where it is."""
    now = ports.clock.now()
    moved_batches = []
    for batch in batches:
        changes = {"transform_job_name": job_name} if job_name else {}
        moved = ports.store.move_batch(batch.batch_id, BatchStatus.PROCESSING, now, **changes)
        if moved is None:
            continue
        moved_batches.append(moved)
        ports.publisher.publish_batch(moved)
        ids = list(batch_job_ids(ports, batch.batch_id))
        name, in_batch = moved.transform_job_name, batch.batch_id
        jobs = ports.store.move_jobs(
            [JobMove(i, JobStatus.PROCESSING, transform_job_name=name, in_batch=in_batch) for i in ids], now
        )
        if jobs:
            ports.publisher.publish_jobs(jobs)
    return moved_batches


def batches_of_job(ports: Ports, job_name: str) -> list[Batch]:
    """The batches a transform job covers: one named in the job name, or those in its manifest."""
    prefix = ports.settings.name_prefix + "-"
    rest = job_name.removeprefix(prefix) if job_name.startswith(prefix) else ""
    ids: list[str] = []
    if _BATCH_ID.fullmatch(rest):
        ids = [rest]
    elif rest.startswith("s-") and ports.bucket.exists(manifest_key(job_name)):
        manifest = json.loads("".join(ports.bucket.read_lines(manifest_key(job_name))))
        ids = [
            i for i in (batch_files.batch_id_from_key(batch_files.DATA_PREFIX + k) for k in manifest[1:]) if i
        ]
    return [b for b in (ports.store.get_batch(i) for i in ids) if b is not None]


def iter_batches(ports: Ports, status: BatchStatus) -> Iterator[Batch]:
    token: str | None = None
    while True:
        page = ports.store.list_batches(status=status, limit=1000, next_token=token)
        yield from page.items
        token = page.next_token
        if not token:
            return


def batch_job_ids(ports: Ports, batch_id: str) -> Iterator[str]:
    token: str | None = None
    while True:
        page = ports.store.list_jobs(status=None, batch_id=batch_id, limit=1000, next_token=token)
        yield from (j.job_id for j in page.items)
        token = page.next_token
        if not token:
            return
