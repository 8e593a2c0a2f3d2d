"""Local wiring: builds the local adapters once and runs what the cloud's event sources would."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from asyncml import record_errors
from asyncml.local.broadcast import Broadcast
from asyncml.local.buffer import Buffer
from asyncml.local.emulator_runner import EmulatorRunner
from asyncml.local.folder_bucket import FolderBucket
from asyncml.local.metrics import MeteredPublisher, Metrics
from asyncml.local.model_supervisor import ModelSupervisor
from asyncml.local.pipeline_process import PipelineProcess
from asyncml.local.private_files import DIR_MODE, narrow, private_dir
from asyncml.local.sqlite_store import SqliteJobStore
from asyncml.local.triggers import Triggers
from asyncml.ports import Clock, Ports, Publisher, SystemClock
from asyncml.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class LocalRuntime:
    """The local stack minus its HTTP face: ports, the broadcast, and the background triggers."""

    settings: Settings
    ports: Ports
    broadcast: Broadcast
    buffer: Buffer
    runner: EmulatorRunner
    triggers: Triggers
    store: SqliteJobStore
    metrics: Metrics
    model_url: str = ""
    recovered: dict[str, int] = field(default_factory=dict)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    model: ModelSupervisor | None = None  # the model child; None with --model-url

    def start_model(self) -> None:
        """Start the model server: the entry point (default: the demo model), unless --model-url.
        `asyncml serve` calls it before the API opens, so an entry point that cannot load stops the
        start with EntryPointError (exit 2), naming the file and the function."""
        if self.settings.model_url or self.model is not None:
            return
        from asyncml.transform_emulator.entry_point import EntryPoint
        from asyncml.transform_emulator.model_server import start_model

        settings = self.settings
        entry = None
        if settings.entry_point is not None and settings.model_dir is not None:
            entry = EntryPoint(settings.entry_point, settings.model_dir)
        supervisor = ModelSupervisor(lambda: start_model(entry, timeout_s=settings.model_start_timeout))
        supervisor.start()
        self.model = supervisor

    def model_health(self) -> dict[str, object]:
        """For /healthz: the supervised child's state; an external --model-url is not watched."""
        return self.model.health() if self.model is not None else {"status": "external"}

    def pipeline_health(self) -> dict[str, Any]:
        """For /healthz and /metrics: what waits in the buffer, when it seals, and the model."""
        return {
            "queueDepth": len(self.buffer),
            "sealInSeconds": self.buffer.seal_in(),
            "model": self.model_health(),
        }

    async def start(self) -> None:
        """Start the model server (unless started or --model-url), recover what a previous run left
        (QUEUED jobs, unstarted batches, unapplied outputs), then the buffer's window and the timer."""
        await asyncio.to_thread(self.start_model)
        endpoint = self.model.endpoint() if self.model is not None else None
        self.model_url = self.settings.model_url or (endpoint.url if endpoint else "")
        loop = asyncio.get_running_loop()
        self.runner.bind(loop, self.model_url, self.triggers.transform_done, self.model)
        if self.model is not None:
            self._tasks.append(asyncio.create_task(self.model.watch(), name="model-supervisor"))
        self.recovered = self.triggers.recover(self.buffer.put)
        self._tasks.append(asyncio.create_task(self.buffer.run(self.triggers.seal), name="buffer"))
        self._tasks.append(asyncio.create_task(self.triggers.schedule_loop(), name="schedule"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        self.runner.close()
        if self.model is not None:
            await asyncio.to_thread(self.model.stop)
            self.model = None
        self.store.close()


def build_runtime(
    settings: Settings, clock: Clock | None = None, publisher: Publisher | None = None
) -> LocalRuntime:
    """The whole local stack in this process; with `publisher`, updates go there instead of to
    this process's broadcast (the pipeline process hands them to the API's)."""
    clock = clock or SystemClock()
    settings, data_dir, store, broadcast = _open(settings)
    bucket = FolderBucket(data_dir / "bucket", settings.bucket_name)
    buffer = Buffer(settings.batch_size, settings.batch_window, clock)
    runner = EmulatorRunner(data_dir / "bucket", data_dir / "transforms")
    if settings.error_prefix:
        # Locally a mini-batch the model fails is split until the bad records stand alone; each
        # gets a line the results step reads as FAILED with the model's message (docs/transform.md).
        runner.isolate_failures = functools.partial(
            record_errors.failure_output, settings.content_type, settings.error_prefix
        )
    metrics = Metrics(store, buffer.__len__, broadcast)
    ports = Ports(
        settings=settings,
        store=store,
        stream=buffer,
        bucket=bucket,
        runner=runner,
        publisher=publisher or MeteredPublisher(broadcast, metrics),
        clock=clock,
    )
    triggers = Triggers(ports, runner)
    return LocalRuntime(settings, ports, broadcast, buffer, runner, triggers, store, metrics)


@dataclass
class ApiRuntime:
    """The local stack's API side, its pipeline in a process of its own (`pipeline_process.py`):
    what `asyncml serve` runs by default. The resolvers' stream is that process; its updates come
    back to this process's broadcast, counted on the way as the in-process runtime counts them."""

    settings: Settings
    ports: Ports
    broadcast: Broadcast
    metrics: Metrics
    store: SqliteJobStore
    pipeline: PipelineProcess
    model_url: str = ""
    recovered: dict[str, int] = field(default_factory=dict)

    def start_model(self) -> None:
        """Start the pipeline process (its model, then its recovery) unless it runs; raises what
        stops it (EntryPointError for an entry point that cannot load), so `serve` exits with it."""
        if self.pipeline.ready:
            return
        info = self.pipeline.start()
        self.model_url, self.recovered = info["model_url"], info["recovered"]

    async def start(self) -> None:
        self.pipeline.loop = asyncio.get_running_loop()
        await asyncio.to_thread(self.start_model)

    async def stop(self) -> None:
        await asyncio.to_thread(self.pipeline.stop)
        self.pipeline.loop = None
        self.store.close()

    def pipeline_health(self) -> dict[str, Any]:
        return self.pipeline.health()


class _StartsElsewhere:
    """The API process starts no transform: the pipeline process has the emulator."""

    def start(self, request: dict[str, Any]) -> None:
        raise RuntimeError("transforms start in the pipeline process")


def build_api_runtime(settings: Settings) -> ApiRuntime:
    # The store is opened (its schema made or migrated) before the child opens it too.
    settings, data_dir, store, broadcast = _open(settings)
    pipeline = PipelineProcess(settings)
    metrics = Metrics(store, pipeline.queue_depth, broadcast)
    pipeline.publisher = publisher = MeteredPublisher(broadcast, metrics)
    ports = Ports(
        settings=settings,
        store=store,
        stream=pipeline,
        bucket=FolderBucket(data_dir / "bucket", settings.bucket_name),
        runner=_StartsElsewhere(),
        publisher=publisher,
        clock=SystemClock(),
    )
    return ApiRuntime(settings, ports, broadcast, metrics, store, pipeline)


def _open(settings: Settings) -> tuple[Settings, Path, SqliteJobStore, Broadcast]:
    """What both runtimes open first: the settings as the local stack reads them, the private data
    dir, the store, and the broadcast (the Publisher, and the topics the API subscribes on)."""
    if settings.error_prefix is None and not settings.model_url and not settings.entry_point:
        # The bundled demo model marks a record it cannot score: those count as failed.
        settings = replace(settings, error_prefix=record_errors.DEMO_ERROR_PREFIX[settings.content_type])
    data_dir = private_dir(settings.data_dir)
    narrow(data_dir, DIR_MODE)  # made by hand or by an older version: nothing in it is for others
    store = SqliteJobStore(data_dir / "asyncml.db")
    return settings, data_dir, store, Broadcast(each_job_end=settings.each_job_end)
