"""[3][5] batch files (local API): a batch's input, its model output and its failed jobs, for download;
and a job's result kept in the bucket because it was too large for the job (`Job.resultKey`).

`GET /batches/<batchId>/input|output|errors` and `GET /jobs/<jobId>/result` with the `x-api-key`
header. The path names the file by id only: the key comes from the stored batch or job and the
bucket refuses any key outside it, so nothing outside the data dir can be served."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from asyncml import batch_files, queries
from asyncml.local.api.auth import HEADER, MISSING_KEY, WRONG_KEY, ApiKeyAuth, unauthorized
from asyncml.model import Batch, JobStatus
from asyncml.ports import Ports

_BATCH_ID = re.compile(r"[0-9]{8}-[0-9]{6}-[0-9a-f]{8}")
_JOB_ID = re.compile(r"[0-9A-Za-z-]{1,64}")
KINDS = ("input", "output", "errors")


def download_routes(ports_of: Callable[[], Ports], auth: ApiKeyAuth) -> list[Route]:
    async def download(request: Request) -> Response:
        ports = ports_of()
        given = request.headers.get(HEADER)
        if not auth.key_ok(given):
            return JSONResponse({"errors": [unauthorized(WRONG_KEY if given else MISSING_KEY)]}, 401)
        batch_id, kind = request.path_params["batch_id"], request.path_params["kind"]
        batch = queries.get_batch(ports, batch_id) if _BATCH_ID.fullmatch(batch_id) else None
        if batch is None or kind not in KINDS:
            return _missing(f"no batch {batch_id!r} (or no file {kind!r}; ask for one of {', '.join(KINDS)})")
        if kind == "errors":
            return _attachment(_failed_rows(ports, batch_id), f"{batch_id}.errors.csv", "text/csv")
        key = batch.input_key if kind == "input" else batch_files.output_key(batch.input_key)
        if not ports.bucket.exists(key):
            return _missing(f"batch {batch_id} has no {kind} file yet (status {batch.status.value})")
        name = key.rsplit("/", 1)[-1]
        return _attachment(ports.bucket.read_chunks(key), name, _type(batch))

    async def result(request: Request) -> Response:
        ports = ports_of()
        given = request.headers.get(HEADER)
        if not auth.key_ok(given):
            return JSONResponse({"errors": [unauthorized(WRONG_KEY if given else MISSING_KEY)]}, 401)
        job_id = request.path_params["job_id"]
        job = queries.get_job(ports, job_id) if _JOB_ID.fullmatch(job_id) else None
        if job is None:
            return _missing(f"no job {job_id!r}")
        media = "application/json" if ports.settings.content_type != "text/csv" else "text/csv"
        if job.result_key is None:
            if job.result is None:
                return _missing(f"job {job_id} has no result (status {job.status.value})")
            return Response(job.result, media_type=media, headers={"cache-control": "no-store"})
        return _attachment(ports.bucket.read_chunks(job.result_key), f"{job_id}.result", media)

    return [
        Route("/batches/{batch_id}/{kind}", download, methods=["GET"]),
        Route("/jobs/{job_id}/result", result, methods=["GET"]),
    ]


def _failed_rows(ports: Ports, batch_id: str) -> Iterator[str]:
    """`jobId,error` for every FAILED job of the batch, page by page (memory stays flat)."""
    yield "jobId,error\n"
    for job in queries.all_jobs(ports, status=JobStatus.FAILED, batch_id=batch_id):
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerow([job.job_id, job.error or ""])
        yield out.getvalue()


def _type(batch: Batch) -> str:
    return "application/jsonl" if batch.input_key.endswith(".jsonl") else "text/csv"


def _attachment(lines: Iterator[str] | Iterator[bytes], filename: str, media_type: str) -> Response:
    headers = {"content-disposition": f'attachment; filename="{filename}"', "cache-control": "no-store"}
    return StreamingResponse(lines, media_type=media_type, headers=headers)


def _missing(message: str) -> Response:
    return JSONResponse({"errors": [{"errorType": "NotFound", "message": message}]}, 404)
