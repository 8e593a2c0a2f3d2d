"""[7] publish: Publisher as IAM-signed publishJobsMoved / publishBatchUpdate / publishJobUpdate mutations."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import urllib3
from aws_lambda_powertools import Logger
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from asyncml import shapes
from asyncml.model import Batch, Job, JobsMoved, ends_of

logger = Logger(child=True)

# AppSync hands a subscriber only the fields the triggering mutation selected, and filters
# subscriptions on them: select every field, always.
JOB_MUTATION = (
    "mutation Publish($update: JobUpdate!) { publishJobUpdate(update: $update) { "
    + " ".join(shapes.JOB_FIELDS)
    + " } }"
)
MOVES_MUTATION = (
    "mutation Publish($update: JobsMovedUpdate!) { publishJobsMoved(update: $update) { "
    + " ".join(shapes.MOVES_FIELDS)
    + " } }"
)
BATCH_MUTATION = (
    "mutation Publish($update: BatchUpdate!) { publishBatchUpdate(update: $update) { "
    + " ".join(shapes.BATCH_FIELDS)
    + " } }"
)
RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
RETRY_ERRORS = ("Throttl", "LimitExceeded", "TooManyRequests")
MAX_ATTEMPTS = 6


class AppSyncPublisher:
    def __init__(
        self,
        url: str,
        region: str,
        credentials: Credentials,
        *,
        workers: int = 16,
        each_job_end: bool = False,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._url, self._region, self._credentials, self._sleep = url, region, credentials, sleep
        self._each_job_end = each_job_end
        # urllib3 and botocore ship in the Lambda runtime: no HTTP client to bundle.
        self._http = urllib3.PoolManager(maxsize=workers, retries=False, timeout=urllib3.Timeout(10.0))
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="appsync")

    def publish_jobs(self, jobs: Sequence[Job]) -> None:
        # Ends go in groups of whole jobs (a few hundred a request); with each_job_end, also one
        # publishJobUpdate per job for onJobUpdated's subscribers, one request a job.
        bodies = [_body_json(MOVES_MUTATION, u) for m in ends_of(jobs) for u in shapes.moves_updates_json(m)]
        if self._each_job_end:
            bodies += [_body(JOB_MUTATION, shapes.job_update(j)) for j in jobs]
        self._send_all(bodies, "job ends")

    def publish_moves(self, moves: JobsMoved) -> None:
        # One mutation per 1,000 ids: a sealed batch of 5,000 jobs costs 5 requests, not 5,000.
        self._send_all([_body_json(MOVES_MUTATION, u) for u in shapes.moves_updates_json(moves)], "job moves")

    def _send_all(self, bodies: list[str], what: str) -> None:
        if len(bodies) <= 1:
            failed = [b for b in bodies if not self._send(b)]
        else:
            failed = [b for b, ok in zip(bodies, self._pool.map(self._send, bodies), strict=True) if not ok]
        if failed:
            # The store has moved already and a replayed event is a no-op, so raising would lose
            # the update all the same; log it loudly instead. Clients can still query the job.
            logger.error(f"{what} not published", extra={"count": len(failed), "of": len(bodies)})

    def publish_batch(self, batch: Batch) -> None:
        body = _body(BATCH_MUTATION, shapes.batch_update(batch))
        if not self._send(body):
            logger.error("batch update not published", extra={"batch_id": batch.batch_id})

    def _send(self, body: str) -> bool:
        for attempt in range(MAX_ATTEMPTS):
            request = AWSRequest(method="POST", url=self._url, data=body.encode(),
                                 headers={"Content-Type": "application/json"})  # fmt: skip
            # Signed anew on each attempt: the signature carries the time and expires. Lambda's
            # role credentials are refreshable; botocore reads fresh ones when they near expiry.
            SigV4Auth(self._credentials, "appsync", self._region).add_auth(request)
            try:
                response = self._http.request(
                    "POST", self._url, body=request.body, headers=dict(request.headers.items())
                )
            except urllib3.exceptions.HTTPError as exc:
                logger.warning("publish request failed", extra={"error": str(exc), "attempt": attempt})
            else:
                retry, ok = _judge(response.status, response.data)
                if ok or not retry:
                    return ok
            self._sleep(random.uniform(0, min(5.0, 0.1 * 2**attempt)))
        return False


def _body(query: str, update: dict[str, Any]) -> str:
    return json.dumps({"query": query, "variables": {"update": update}})


def _body_json(query: str, update: str) -> str:
    # The update is JSON already (its jobs were encoded to size it): spliced in, not encoded again.
    return '{"query": ' + json.dumps(query) + ', "variables": {"update": ' + update + "}}"


def _judge(status: int, data: bytes) -> tuple[bool, bool]:
    """(retry, ok) for one AppSync answer. Throttling comes back as HTTP 429 or, inside a 200, as
    an error whose errorType names it."""
    if status in RETRY_STATUS:
        return True, False
    try:
        doc: Any = json.loads(data)
    except ValueError:
        doc = None
    errors = doc.get("errors") if isinstance(doc, dict) else [{"message": "not JSON"}]
    if status == 200 and not errors:
        return False, True
    types = " ".join(str(e.get("errorType", "")) for e in errors or [] if isinstance(e, dict))
    logger.warning("publish refused", extra={"status": status, "errors": errors})
    return any(t in types for t in RETRY_ERRORS), False
