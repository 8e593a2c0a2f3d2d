"""[4] transform: `asyncml transform REQUEST.json`: one CreateTransformJob request through the emulator."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any, TextIO

from asyncml.transform_emulator.entry_point import EntryPoint, EntryPointError
from asyncml.transform_emulator.errors import InvalidTransformRequest
from asyncml.transform_emulator.job import ProgressEvent, describe_to_json, run_transform_job
from asyncml.transform_emulator.model_server import start_model
from asyncml.transform_emulator.request import container_environment, validate_request

EXIT_COMPLETED, EXIT_FAILED, EXIT_BAD_REQUEST = 0, 1, 2


def run_transform_command(
    request_path: Path, *, bucket_root: Path, model_url: str | None, entry_point: EntryPoint | None = None
) -> int:
    """Print the DescribeTransformJob-shaped result on stdout; exit 0 Completed, 1 Failed, 2 bad request
    or an entry point that cannot load. Without `model_url` the entry point (default: the demo) is
    started for the job, with the request's Environment, and stopped after it."""
    try:
        request = _load(request_path)
        validate_request(request)  # before starting a model, so a bad request fails fast
    except InvalidTransformRequest as exc:
        print(f"asyncml transform: invalid request: {exc.message}", file=sys.stderr)
        return EXIT_BAD_REQUEST
    progress = ProgressBar(sys.stderr) if sys.stderr.isatty() else None
    model = None
    if model_url is None:
        try:
            model = start_model(entry_point, environment=container_environment(request))
        except EntryPointError as exc:
            print(f"asyncml transform: {exc}", file=sys.stderr)
            return EXIT_BAD_REQUEST
        model_url = model.url
    try:
        result = asyncio.run(
            run_transform_job(request, bucket_root=bucket_root, model_url=model_url, progress=progress)
        )
    finally:
        if progress:
            progress.close()
        if model:
            model.stop()
    print(json.dumps(describe_to_json(result), indent=2))
    return EXIT_COMPLETED if result["TransformJobStatus"] == "Completed" else EXIT_FAILED


def _load(path: Path) -> dict[str, Any]:
    try:
        request = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidTransformRequest(f"cannot read {path}: {exc.strerror}", field="request") from None
    except ValueError as exc:
        raise InvalidTransformRequest(f"{path} is not valid JSON: {exc}", field="request") from None
    if not isinstance(request, dict):
        raise InvalidTransformRequest(
            f"{path} must hold a JSON object (a CreateTransformJob request)", field="request"
        )
    return request


class ProgressBar:
    """A one-line text bar on a terminal: files and records done (no dependency for a progress bar)."""

    WIDTH = 30

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self._shown = False

    def __call__(self, event: ProgressEvent) -> None:
        filled = self.WIDTH * event.files_done // max(event.files_total, 1)
        bar = "#" * filled + "." * (self.WIDTH - filled)
        self.stream.write(
            f"\r[{bar}] files {event.files_done}/{event.files_total}  records {event.records_done:,}"
        )
        self.stream.flush()
        self._shown = True

    def close(self) -> None:
        if self._shown:
            self.stream.write("\n")
            self.stream.flush()
