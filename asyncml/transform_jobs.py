"""[4] transform jobs: a job's name from its batches and back, and the move both its start and its
InProgress event make (batches and their jobs -> PROCESSING)."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence

from asyncml import batch_files, queries
from asyncml.model import Batch, BatchStatus, JobsMoved, JobStatus
from asyncml.ports import Ports
from asyncml.settings import Settings

_BATCH_ID = re.compile(r"\d{8}-\d{6}-[0-9a-f]{8}")  # what batch_files.make_batch_id makes


def job_name_for_batch(settings: Settings, batch_id: str) -> str:
    """Transform job names derive from the batch id, so a repeated event cannot start a batch twice
    (SageMaker refuses a second job of the same name, and names can never be reused)."""
    return f"{settings.name_prefix}-{batch_id}"


def job_name_for_manifest(settings: Settings, batch_ids: Sequence[str]) -> str:
    digest = hashlib.sha256(",".join(sorted(batch_ids)).encode()).hexdigest()[:16]
    return f"{settings.name_prefix}-s-{digest}"


def manifest_key(job_name: str) -> str:
    return f"{batch_files.MANIFEST_PREFIX}{job_name}.json"


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
        name, in_batch = moved.transform_job_name, batch.batch_id
        ids = ports.store.move_batch_jobs(in_batch, JobStatus.PROCESSING, now, transform_job_name=name)
        if moved_ids := tuple(ids):
            ports.publisher.publish_moves(JobsMoved(JobStatus.PROCESSING, moved_ids, now, in_batch, name))
    return moved_batches


def batches_of_job(ports: Ports, job_name: str) -> list[Batch]:
    """The batches a transform job covers: one named in the job name, or those in its manifest."""
    prefix = ports.settings.name_prefix + "-"
    rest = job_name.removeprefix(prefix) if job_name.startswith(prefix) else ""
    ids: list[str] = []
    if _BATCH_ID.fullmatch(rest):
        ids = [rest]
    elif rest.startswith("s-"):
        listed = _manifest_batch_ids(ports, manifest_key(job_name))
        if listed is None:
            # A missing or damaged manifest must not strand its batches: they carry the job's name.
            processing = queries.all_batches(ports, BatchStatus.PROCESSING)
            return [b for b in processing if b.transform_job_name == job_name]
        ids = listed
    return [b for b in (ports.store.get_batch(i) for i in ids) if b is not None]


def _manifest_batch_ids(ports: Ports, key: str) -> list[str] | None:
    """The batch ids a manifest lists; None when it is missing or not a manifest we wrote."""
    if not ports.bucket.exists(key):
        return None
    try:
        manifest = json.loads(b"".join(ports.bucket.read_chunks(key)))
    except ValueError:  # not UTF-8, not JSON, truncated
        return None
    if not isinstance(manifest, list):
        return None
    keys = (batch_files.DATA_PREFIX + k for k in manifest[1:] if isinstance(k, str))
    return [i for i in map(batch_files.batch_id_from_key, keys) if i]
