"""[4] transform: build the CreateTransformJob request for a batch (or the schedule's manifest), start it."""

from __future__ import annotations

import json
from typing import Any

from asyncml import batch_files, queries
from asyncml.model import Batch, BatchStatus
from asyncml.ports import Ports
from asyncml.settings import Settings
from asyncml.transform_jobs import job_name_for_batch, job_name_for_manifest, manifest_key, mark_processing


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
    batches = list(queries.all_batches(ports, BatchStatus.BATCHED))
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
