"""[4] transform: call the model server on SageMaker's container contract (ping, parameters, invocations)."""

from __future__ import annotations

import asyncio
import functools
import ssl
import time
from collections.abc import Callable
from typing import Any

import httpx

PING_TIMEOUT_S = 2.0  # SageMaker gives each /ping 2 s
RETRY_BACKOFF_S = 0.1  # doubled per retry; AWS does not document its backoff
TOKEN_HEADER = "x-asyncml-model-token"  # every answer of a model server started by model_server
NOT_OURS = "carried no token of the model server asyncml started (another process on its port?)"
MODEL_DIED = "the model server stopped during the job"
DETAIL_BYTES = 300  # of an error answer's body kept in the reason (FailureReason holds 1024 in all)


class ModelNotReady(Exception):
    """/ping never answered 200 within the wait: the job fails before any invocation."""


class InvocationError(Exception):
    """An /invocations call that failed after every retry; the message mirrors SageMaker's log line,
    with what the model itself said in its last answer (the body of a 5xx), if anything."""


@functools.cache
def _tls() -> ssl.SSLContext:
    # Building a default SSL context loads the CA store (~10 ms): once per process, not per job.
    return ssl.create_default_context()


class ModelClient:
    """One HTTP client per job; the emulator bounds how many calls are in flight.

    `token`: what the model server we started answers in `x-asyncml-model-token`. With it, a server
    that answers without it (another process on the port after ours died) is never sent a payload
    and its answers are refused. `alive`: False once our model server died; no payload is sent then."""

    def __init__(
        self,
        url: str,
        *,
        content_type: str | None,
        accept: str | None,
        token: str | None = None,
        alive: Callable[[], bool] | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.token, self.alive = token, alive
        self._headers = {}
        if content_type:
            self._headers["Content-Type"] = content_type
        if accept:
            self._headers["Accept"] = accept
        # trust_env=False: a proxy from the environment must never sit between us and a local model.
        self._http = httpx.AsyncClient(
            trust_env=False,
            verify=_tls(),
            limits=httpx.Limits(max_connections=None, max_keepalive_connections=64),
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def wait_ready(self, within_s: float) -> None:
        """Poll GET /ping until it answers 200, as SageMaker does before the first invocation."""
        deadline = time.monotonic() + within_s
        last = "no answer"
        while True:
            if self.alive is not None and not self.alive():
                raise ModelNotReady(MODEL_DIED)
            try:
                response = await self._http.get(f"{self.url}/ping", timeout=PING_TIMEOUT_S)
                if response.status_code == 200 and self._ours(response):
                    return
                last = f"HTTP {response.status_code}" if self._ours(response) else NOT_OURS
            except httpx.HTTPError as exc:
                last = type(exc).__name__
            if time.monotonic() >= deadline:
                raise ModelNotReady(
                    f"model server {self.url} did not answer GET /ping with 200 within {within_s:g}s ({last})"
                )
            await asyncio.sleep(0.05)

    async def execution_parameters(self) -> dict[str, Any] | None:
        """The container's preferred settings, or None when it does not offer the endpoint (404)."""
        try:
            response = await self._http.get(f"{self.url}/execution-parameters", timeout=PING_TIMEOUT_S)
            body = response.json() if response.status_code == 200 and self._ours(response) else None
        except (httpx.HTTPError, ValueError):
            return None
        return body if isinstance(body, dict) else None

    async def invoke(self, payload: bytes, *, timeout_s: float, max_retries: int) -> bytes:
        """POST /invocations; a non-2xx answer or a timeout is retried up to `max_retries` times."""
        reason = ""
        for attempt in range(max_retries + 1):
            if attempt:
                await asyncio.sleep(RETRY_BACKOFF_S * 2 ** (attempt - 1))
            if self.alive is not None and not self.alive():
                raise InvocationError(MODEL_DIED)
            try:
                response = await self._http.post(
                    f"{self.url}/invocations", content=payload, headers=self._headers, timeout=timeout_s
                )
            except httpx.TimeoutException:
                reason = f"Unable to get response from algorithm: no answer within {timeout_s:g}s"
                continue
            except httpx.HTTPError as exc:
                reason = f"Unable to get response from algorithm: {type(exc).__name__}"
                continue
            if not self._ours(response):
                raise InvocationError(f"the answer from {self.url} {NOT_OURS}")
            if 200 <= response.status_code < 300:
                return response.content
            reason = f"Bad HTTP status received from algorithm: {response.status_code}{_detail(response)}"
        tries = f" (after {max_retries} retries)" if max_retries else ""
        raise InvocationError(reason + tries)

    def _ours(self, response: httpx.Response) -> bool:
        return self.token is None or response.headers.get(TOKEN_HEADER) == self.token


def _detail(response: httpx.Response) -> str:
    """The model's own message (an entry point's exception), so it reaches the job's error; SageMaker
    writes it to the job's CloudWatch log instead."""
    text = response.content[:DETAIL_BYTES].decode("utf-8", "replace").strip()
    return f" ({' '.join(text.split())})" if text else ""
