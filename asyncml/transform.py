"""[4] transform: the CreateTransformJob request for a batch or a manifest; start, schedule, re-drive."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from asyncml import batch_files, queries, results, start_claims
from asyncml.model import Batch, BatchStatus
from asyncml.ports import Ports
from asyncml.settings import Settings
from asyncml.transform_jobs import batches_of_job, job_name_for_batch, job_name_for_manifest, manifest_key

STRAY = "this batch was claimed by transform job {name} but is not in its manifest; retry its jobs"


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
    """Start one transform job for the batch file at `input_key` (trigger "s3"), named for its
    batch. None when the key is not a batch we sealed, the batch has started already, or its start
    was refused (recorded on the batch: the re-drive tries again)."""
    batch_id = batch_files.batch_id_from_key(input_key)
    batch = ports.store.get_batch(batch_id) if batch_id else None
    if batch is None or batch.status is not BatchStatus.BATCHED:
        return None
    moved = _claim_and_start(ports, job_name_for_batch(ports.settings, batch.batch_id), [batch])
    return moved[0] if moved else None


def tick(ports: Ports) -> list[str]:
    """The scheduled rule (either trigger): re-drive what is due, then, in trigger "schedule", start
    one transform over the waiting batches if they are enough. The names started, re-driven first."""
    started = redrive(ports)
    if ports.settings.trigger == "schedule" and (name := start_scheduled(ports)):
        started.append(name)
    return started


def start_scheduled(ports: Ports) -> str | None:
    """Claim every unclaimed BATCHED batch and start one transform over their manifest, once they
    hold transform_min_records records or the oldest has waited transform_max_wait seconds."""
    settings, now = ports.settings, ports.clock.now()
    # A batch whose file is not written yet (the batcher records a batch, then writes its file) waits
    # for a later tick: named in a manifest, a missing file would fail the whole transform.
    waiting = [
        b
        for b in queries.all_batches(ports, BatchStatus.BATCHED)
        if not b.transform_job_name and ports.bucket.exists(b.input_key)
    ]
    if not waiting:
        return None
    records, oldest = sum(b.job_count for b in waiting), min(b.created_at for b in waiting)
    young = now - oldest < timedelta(seconds=settings.transform_max_wait)
    if records < settings.transform_min_records and young:
        return None
    # Two invocations that saw the same batches pick the same name, so their claims agree.
    name = job_name_for_manifest(settings, [b.batch_id for b in waiting])
    return name if _claim_and_start(ports, name, waiting) else None


def redrive(ports: Ports) -> list[str]:
    """Start again what is claimed but BATCHED once due (`start_claims.is_due`): a refused start
    after its backoff, a claim whose invocation died; in trigger "s3" also a batch no S3 event
    started. Returns the names that started."""
    settings, now = ports.settings, ports.clock.now()
    groups: dict[str, list[Batch]] = {}
    for b in queries.all_batches(ports, BatchStatus.BATCHED):
        if b.transform_job_name or (settings.trigger == "s3" and ports.bucket.exists(b.input_key)):
            name = b.transform_job_name or job_name_for_batch(settings, b.batch_id)
            groups.setdefault(name, []).append(b)
    started = []
    for name, group in groups.items():
        if all(start_claims.is_due(settings, b, now) for b in group) and _claim_and_start(ports, name, group):
            started.append(name)
    return started


def _claim_and_start(ports: Ports, name: str, batches: Sequence[Batch]) -> list[Batch] | None:
    claimed = start_claims.claim(ports, batches, name)
    if not claimed:
        return None
    if not name.startswith(f"{ports.settings.name_prefix}-s-"):
        return start_claims.launch(ports, name, claimed, _batch_request(ports, name, claimed[0]))
    key = manifest_key(name)
    if ports.bucket.exists(key):
        # An earlier attempt wrote it, and SageMaker may have read it: it stays the truth. A batch
        # claimed under the name but not listed cannot join that transform any more.
        listed = {b.batch_id for b in batches_of_job(ports, name)}
        for stray in [b for b in claimed if b.batch_id not in listed]:
            results.fail_batch(ports, stray, STRAY.format(name=name))
        claimed = [b for b in claimed if b.batch_id in listed]
    else:
        data_prefix = ports.bucket.uri(batch_files.DATA_PREFIX)
        keys = [b.input_key.removeprefix(batch_files.DATA_PREFIX) for b in claimed]
        manifest = [{"prefix": data_prefix}, *keys]
        ports.bucket.put(key, json.dumps(manifest).encode())
    request = build_request(
        ports.settings, name, s3_uri=ports.bucket.uri(key), data_type="ManifestFile",
        output_path=ports.bucket.uri(batch_files.RESULT_PREFIX),
    )  # fmt: skip
    return start_claims.launch(ports, name, claimed, request) if claimed else None


def _batch_request(ports: Ports, name: str, batch: Batch) -> dict[str, Any]:
    return build_request(
        ports.settings, name, s3_uri=ports.bucket.uri(batch.input_key), data_type="S3Prefix",
        output_path=ports.bucket.uri(batch_files.output_dir(batch.input_key)),
    )  # fmt: skip
