"""What `asyncml serve` tells the person at the terminal: its settings, a line per batch, a dead model."""

from __future__ import annotations

import logging
import sys
from typing import TextIO

import httpx

from asyncml.settings import Settings

log = logging.getLogger("asyncml")
PING_TIMEOUT_S = 2.0


def configure_logging(stream: TextIO | None = None) -> None:
    """INFO and up of the `asyncml` loggers to stderr, one short line each (uvicorn keeps its own)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s asyncml: %(message)s", "%H:%M:%S"))
    log.handlers[:] = [handler]
    log.setLevel(logging.INFO)
    log.propagate = False


def settings_line(settings: Settings, model_url: str) -> str:
    model = model_url if settings.model_url else f"{model_url} (the bundled iris demo)"
    trigger = "s3" if settings.trigger == "s3" else f"schedule every {settings.schedule_seconds:g} s"
    return (
        f"batches of up to {settings.batch_size} jobs or {settings.batch_window:g} s, trigger {trigger}, "
        f"{settings.content_type}, model {model}, data in {settings.data_dir}"
    )


def recovered_line(recovered: dict[str, int]) -> str:
    """`LocalRuntime.recovered` in words: what a restart found and did."""
    words = {
        "requeued": "queued job(s) buffered again",
        "started": "sealed batch(es) started",
        "applied": "output(s) applied",
        "resumed": "transform(s) run again",
    }
    return ", ".join(f"{n} {words.get(k, k)}" for k, n in recovered.items() if n)


async def warn_if_model_is_down(url: str, timeout_s: float = PING_TIMEOUT_S) -> bool:
    """Warn at once when --model-url does not answer /ping (else the first batch would wait the
    emulator's 60 s for it). The server starts anyway: the model may come up later. True if it answered."""
    try:
        async with httpx.AsyncClient(timeout=timeout_s, trust_env=False) as client:
            status = (await client.get(f"{url.rstrip('/')}/ping")).status_code
    except httpx.HTTPError as exc:
        why = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    else:
        if status == 200:
            return True
        why = f"HTTP {status}"
    log.warning(
        "the model at %s does not answer GET /ping (%s); batches fail after 60 s unless it comes up", url, why
    )
    return False
