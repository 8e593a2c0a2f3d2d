"""[2]->[7] pipeline process (local): the batcher, the emulator and the results beside the API.

Python runs one thread at a time per process. In one process the API (submits, subscriptions)
and the pipeline (seal, start, apply) shared one core; here the pipeline runs in a child process of
its own, so each has a core. They share what the cloud's functions share: the store (SQLite in
WAL mode: one writer at a time, readers beside it) and the bucket (the data dir's folder). What
Kinesis and AppSync carry between the functions goes over one socket pair, as pickled messages:

- API -> pipeline: ("put", [(job id, payload)]) for the stream (the payloads spare the seal a
  read); ("ask", n) for /healthz and /metrics;
- pipeline -> API: ("ready", info) once it runs, or ("failed", exception) if it cannot start;
  ("jobs", [Job]), ("moves", JobsMoved), ("batch", Batch) for the API's Publisher to deliver, on the
  API's event loop once it runs; ("answer", (n, health)).

Nothing accepted is lost with the child: a put it misses is a QUEUED job in the store, which the
next child's start (`Triggers.recover`) puts back in its buffer. A child that dies is started
again; a child whose parent dies sees its socket close and exits. One lock file in the data dir
keeps a second pipeline from running on the same data (a killed server's child still exiting)."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import itertools
import logging
import os
import pickle
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from asyncml.local.private_files import private_file
from asyncml.model import Batch, Job, JobsMoved
from asyncml.ports import Publisher
from asyncml.settings import Settings

log = logging.getLogger(__name__)

READY_WAIT_S = 300.0  # the model's own start timeout is checked in the child; this only guards a hang
ASK_WAIT_S = 5.0
RESTART_BACKOFF_S = (0.5, 1, 2, 5, 10)
LOCK_FILE = "pipeline.lock"
UNDELIVERED_MAX = 64
DOWN = {"status": "down", "restarts": 0, "lastExit": "the pipeline process is not running"}


class RemotePublisher:
    """The child's Publisher: every update goes to the API's process, whose Publisher delivers it."""

    def __init__(self, send: Callable[[tuple[str, Any]], None]) -> None:
        self._send = send

    def publish_jobs(self, jobs: Sequence[Job]) -> None:
        self._send(("jobs", list(jobs)))

    def publish_moves(self, moves: JobsMoved) -> None:
        self._send(("moves", moves))

    def publish_batch(self, batch: Batch) -> None:
        self._send(("batch", batch))


class PipelineProcess:
    """The API side: the JobStream the resolvers put jobs on, and the child's supervisor."""

    def __init__(self, settings: Settings, publisher: Publisher | None = None) -> None:
        self.settings = settings
        self.publisher: Publisher | None = publisher  # where the child's updates go (set before start)
        self.ready: dict[str, Any] = {}
        self._conn: Connection | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._send_lock = threading.Lock()
        self._answers: dict[int, dict[str, Any] | None] = {}
        self._answered = threading.Condition()
        self._asks = itertools.count()
        self._stopping = False
        self.restarts = 0
        # Set once the API's event loop runs: the child's updates are then delivered on it, between
        # requests, instead of on the receiving thread, which took the GIL from the loop for
        # switch intervals at a time in the middle of its requests (a submitJobs waited for it).
        self.loop: asyncio.AbstractEventLoop | None = None
        # Updates handed to the loop and not yet delivered: past this the receiving thread waits,
        # and so, through the socket, does the child (memory stays bounded when the loop lags).
        self._undelivered = threading.Semaphore(UNDELIVERED_MAX)

    # -- the JobStream port
    def put(self, jobs: Sequence[Job]) -> None:
        # Never raises: the jobs are stored QUEUED already, and a child that misses them (down, or
        # starting again) finds them in the store when it starts.
        self._send(("put", [(j.job_id, j.payload) for j in jobs]))

    # -- lifecycle
    def start(self) -> dict[str, Any]:
        """Start the child and wait until it runs (its model up, what a previous run left picked up).
        Raises what stopped it from starting (an entry point that cannot load: EntryPointError)."""
        parent, child = socket.socketpair()
        cmd = [sys.executable, "-m", "asyncml.local.pipeline_process", str(child.fileno())]
        self._proc = subprocess.Popen(cmd, pass_fds=[child.fileno()])
        child.close()
        assert self.publisher is not None, "the API's Publisher is set before the child starts"
        conn = Connection(parent.detach())
        conn.send(self.settings)
        try:
            if not conn.poll(READY_WAIT_S):
                raise RuntimeError(f"the pipeline process did not start within {READY_WAIT_S:.0f} s")
            kind, answer = conn.recv()
        except (EOFError, OSError) as exc:
            answer, kind = RuntimeError(f"the pipeline process exited while starting ({exc!r})"), "failed"
        except RuntimeError as exc:
            answer, kind = exc, "failed"
        if kind != "ready":
            conn.close()
            self._kill()
            raise answer if isinstance(answer, BaseException) else RuntimeError(str(answer))
        info: dict[str, Any] = answer
        self._conn, self.ready = conn, info
        threading.Thread(target=self._receive, args=(conn,), name="pipeline-receive", daemon=True).start()
        return info

    def stop(self) -> None:
        self._stopping = True
        conn, proc = self._conn, self._proc
        if conn is not None:
            with contextlib.suppress(OSError):
                self._send(("stop", None))
        if proc is not None:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if conn is not None:
            conn.close()

    def health(self) -> dict[str, Any]:
        """The child's buffer and model, as it says now (blocking: call it off the event loop)."""
        unknown = {"queueDepth": None, "sealInSeconds": None, "model": DOWN}
        n = next(self._asks)
        deadline = time.monotonic() + ASK_WAIT_S
        with self._answered:
            self._answers[n] = None  # waited for: an answer to an ask given up on is not kept
            if not self._send(("ask", n)):
                del self._answers[n]
                return unknown
            while self._answers[n] is None and (left := deadline - time.monotonic()) > 0:
                self._answered.wait(left)
            health: dict[str, Any] | None = self._answers.pop(n)
        return health if health is not None else unknown

    def _send(self, message: tuple[str, Any]) -> bool:
        conn = self._conn
        if conn is None:
            return False
        try:
            with self._send_lock:
                conn.send(message)
        except OSError:
            return False
        return True

    def queue_depth(self) -> float:
        """For /metrics: jobs in the child's buffer (NaN while it cannot say)."""
        depth = self.health()["queueDepth"]
        return float("nan") if depth is None else float(depth)

    def _receive(self, conn: Connection) -> None:
        publisher = self.publisher
        assert publisher is not None
        try:
            deliver: dict[str, Callable[[Any], None]] = {
                "jobs": publisher.publish_jobs,
                "moves": publisher.publish_moves,
                "batch": publisher.publish_batch,
            }
            while True:
                kind, arg = conn.recv()
                if kind in deliver:
                    self._deliver(deliver[kind], arg)
                elif kind == "answer":
                    with self._answered:
                        if arg[0] in self._answers:
                            self._answers[arg[0]] = arg[1]
                            self._answered.notify_all()
        except (EOFError, OSError):
            pass
        except Exception:  # a message this side cannot handle: start a child that can talk again
            log.exception("the pipeline process sent what the API cannot read")
        if not self._stopping:
            self._restart()

    def _deliver(self, publish: Callable[[Any], None], arg: Any) -> None:
        loop = self.loop
        if loop is not None and self._room_on(loop):
            try:
                loop.call_soon_threadsafe(self._delivered, publish, arg)
                return
            except RuntimeError:  # the loop closed meanwhile (the server stopping)
                self._undelivered.release()
        publish(arg)

    def _room_on(self, loop: asyncio.AbstractEventLoop) -> bool:
        # A loop that closes once there is room refuses the call in _deliver.
        while not self._undelivered.acquire(timeout=1.0):
            if loop.is_closed() or self._stopping:
                return False
        return True

    def _delivered(self, publish: Callable[[Any], None], arg: Any) -> None:
        try:
            publish(arg)
        finally:
            self._undelivered.release()

    def _restart(self) -> None:
        """The child died (or its line broke): start another, with backoff, until the API stops."""
        self._conn = None
        self._kill()
        for attempt in itertools.count():
            if self._stopping:
                return
            time.sleep(RESTART_BACKOFF_S[min(attempt, len(RESTART_BACKOFF_S) - 1)])
            try:
                self.start()
            except Exception:
                log.exception("the pipeline process could not start again; trying again")
                continue
            self.restarts += 1
            log.warning("the pipeline process stopped; started again (%d restarts)", self.restarts)
            return

    def _kill(self) -> None:
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.kill()
        if proc is not None:
            proc.wait()


# -- the child
def main(fd: int) -> None:
    from asyncml.local.api.console import configure_logging

    # Ctrl-C reaches the whole process group: the API stops this process itself, in order.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    configure_logging()
    conn = Connection(fd)
    settings: Settings = conn.recv()
    asyncio.run(_run(settings, conn))


async def _run(settings: Settings, conn: Connection) -> None:
    from asyncml.local.wiring import build_runtime

    send_lock = threading.Lock()

    def send(message: tuple[str, Any]) -> None:
        with send_lock:
            conn.send(message)

    try:
        # Only one pipeline per data dir: a killed server's child may still be on its way out.
        lock = await asyncio.to_thread(_lock, settings)
        runtime = build_runtime(settings, publisher=RemotePublisher(send))
        await asyncio.to_thread(runtime.start_model)
        await runtime.start()
    except Exception as exc:
        try:
            pickle.dumps(exc)
        except Exception:  # the API re-raises what it gets: give it something it can unpickle
            exc = RuntimeError(f"the pipeline process could not start: {type(exc).__name__}: {exc}")
        send(("failed", exc))
        return
    send(("ready", {"model_url": runtime.model_url, "recovered": runtime.recovered}))
    loop = asyncio.get_running_loop()
    done = asyncio.Event()

    def handle(kind: str, arg: Any) -> None:
        if kind == "put":
            runtime.buffer.put_records(arg)
        elif kind == "ask":
            send(("answer", (arg, runtime.pipeline_health())))
        else:
            done.set()

    def receive() -> None:
        try:
            while True:
                kind, arg = conn.recv()
                loop.call_soon_threadsafe(handle, kind, arg)
        except (EOFError, OSError):
            # The API's process is gone (a kill does not let it say stop): stop at once. Whatever
            # was in flight is what a killed server leaves, and the next start recovers it.
            model = runtime.model
            if model is not None:
                with contextlib.suppress(Exception):
                    model.stop()
            os._exit(0)

    threading.Thread(target=receive, name="pipeline-commands", daemon=True).start()
    await done.wait()
    await runtime.stop()
    lock.close()


def _lock(settings: Settings) -> Any:
    path = Path(settings.data_dir) / LOCK_FILE
    private_file(path)
    handle = path.open("a")
    fcntl.flock(handle, fcntl.LOCK_EX)  # released by the kernel when the holder exits, however
    return handle


if __name__ == "__main__":
    main(int(sys.argv[1]))
