"""[4] transform (local): the TransformRunner that hands each request to the Batch Transform emulator."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from asyncml.local.model_supervisor import ModelSupervisor
from asyncml.local.private_files import private_dir, write_atomic

log = logging.getLogger(__name__)

DoneFn = Callable[[str, dict[str, Any]], Awaitable[None]]
MAX_RUNNING = 4  # transform jobs at once; more wait their turn, like an account's instance quota
MODEL_DIED_TWICE = "the model server died during this transform job, and again when it was run once more"


class UnreadableRequest(Exception):
    """A kept request file that cannot run again; the message names the file."""


class EmulatorRunner:
    """Starts each request once per name, like SageMaker: a name already started counts as started.

    Each started request is kept in `requests_dir`, so a restart can run again what a killed
    process left unfinished. The emulator runs on worker threads (its own event loop each), so a
    large file never stalls the API."""

    def __init__(self, bucket_root: Path, requests_dir: Path) -> None:
        self.bucket_root = bucket_root
        self.requests_dir = private_dir(requests_dir)
        self.on_done: DoneFn | None = None
        self.model_url = ""
        self.ready_timeout_s = 60.0  # how long a job waits for the model's /ping, as SageMaker does
        # The emulator's option to fail only the records a model fails (SageMaker fails the file):
        # the model's message -> the line written in the record's place (see record_errors).
        self.isolate_failures: Callable[[str], str] | None = None
        self._pool = ThreadPoolExecutor(MAX_RUNNING, thread_name_prefix="transform")
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self.supervisor: ModelSupervisor | None = None

    def bind(
        self,
        loop: asyncio.AbstractEventLoop,
        model_url: str,
        on_done: DoneFn,
        supervisor: ModelSupervisor | None = None,
    ) -> None:
        """Where jobs run, the model they call (`model_url`, or the supervised child's current
        endpoint), and who hears each job's end (the triggers)."""
        self._loop = loop
        self.model_url = model_url
        self.on_done = on_done
        self.supervisor = supervisor

    def start(self, request: dict[str, Any]) -> None:
        name = str(request["TransformJobName"])
        path = self.requests_dir / f"{name}.json"
        # Atomic: a full disk or a kill leaves no request file or a whole one, never an empty one.
        if write_atomic(path, json.dumps(request).encode(), exclusive=True):
            self._launch(name, request)

    def resume(self, name: str) -> bool:
        """Run again a job a previous process started but did not finish; False if unknown.
        Raises UnreadableRequest, naming the file, when the kept request cannot be read."""
        if name in self._tasks:
            return True
        path = self.requests_dir / f"{name}.json"
        if not path.exists():
            return False
        try:
            request = json.loads(path.read_bytes())
        except (OSError, ValueError) as exc:  # ValueError: not UTF-8, truncated, not JSON
            raise UnreadableRequest(f"the transform request {path} cannot be read: {exc}") from None
        if not isinstance(request, dict) or request.get("TransformJobName") != name:
            raise UnreadableRequest(f"the transform request {path} is not the request of {name}")
        self._launch(name, request)
        return True

    def _launch(self, name: str, request: dict[str, Any]) -> None:
        if self._loop is None or self.on_done is None:
            raise RuntimeError("EmulatorRunner.bind() must be called before a job starts")
        task = self._loop.create_task(self._run(name, request))
        self._tasks[name] = task
        task.add_done_callback(lambda _t: self._tasks.pop(name, None))

    async def _run(self, name: str, request: dict[str, Any]) -> None:
        describe, model_died = await self._attempt(name, request)
        if model_died:  # the job's failure may be the dead model's, not the data's: once more
            log.warning("the model server died during transform job %s; running it once more", name)
            describe, model_died = await self._attempt(name, request)
            if model_died:
                describe["FailureReason"] = f"{MODEL_DIED_TWICE}: {describe.get('FailureReason', '')}"
        assert self.on_done is not None  # _launch checked it
        await self.on_done(name, describe)

    async def _attempt(self, name: str, request: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """One run of the job; True beside its answer when the supervised model died meanwhile."""
        from asyncml.transform_emulator.job import run_transform_job

        supervisor, url, token, generation = self.supervisor, self.model_url, None, 0
        if supervisor is not None:
            endpoint = await supervisor.wait_up(self.ready_timeout_s)
            if endpoint is None:
                reason = f"the model server is down ({supervisor.last_exit}) and did not start again"
                return _failed(name, f"{reason} within {self.ready_timeout_s:g}s"), False
            url, token, generation = endpoint.url, endpoint.token, endpoint.generation

        def run_in_thread() -> dict[str, Any]:
            return asyncio.run(
                run_transform_job(
                    request,
                    bucket_root=self.bucket_root,
                    model_url=url,
                    ready_timeout_s=self.ready_timeout_s,
                    isolate_failures=self.isolate_failures,
                    model_token=token,
                    model_alive=(lambda: supervisor.is_current(generation)) if supervisor else None,
                )
            )

        try:
            describe = await asyncio.get_running_loop().run_in_executor(self._pool, run_in_thread)
        except Exception as exc:  # the emulator itself broke: the job fails, visibly
            log.exception("transform job %s crashed", name)
            return _failed(name, f"emulator: {exc}"), False
        failed = describe.get("TransformJobStatus") == "Failed"
        return describe, failed and supervisor is not None and not supervisor.is_current(generation)

    async def wait_idle(self) -> None:
        """Wait until no transform job is running (tests and shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)

    def close(self) -> None:
        for task in self._tasks.values():
            task.cancel()
        self._pool.shutdown(wait=False, cancel_futures=True)


def _failed(name: str, reason: str) -> dict[str, Any]:
    return {"TransformJobName": name, "TransformJobStatus": "Failed", "FailureReason": reason}
