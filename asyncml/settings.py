"""Settings: one dataclass, the only reader of `ASYNCML_*` environment variables and flags."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

from asyncml.errors import ValidationError

Trigger = Literal["s3", "schedule"]
ContentType = Literal["text/csv", "application/jsonlines"]


@dataclass(frozen=True)
class Settings:
    # local server
    host: str = "127.0.0.1"
    port: int = 8000
    data_dir: Path = Path(".asyncml")
    api_key: str | None = None
    model_url: str | None = None
    # your own model: a SageMaker entry point (inference.py) and the model dir its model_fn reads
    entry_point: Path | None = None
    model_dir: Path | None = None
    model_start_timeout: float = 60.0  # seconds for importing the entry point and model_fn
    request_timeout: float = 10.0  # seconds a client may take to send a request's headers, or its body
    # buffer -> batch (Kinesis BatchSize / MaximumBatchingWindowInSeconds in the cloud)
    batch_size: int = 100
    batch_window: float = 2.0
    trigger: Trigger = "s3"
    schedule_seconds: float = 60.0  # the schedule's tick (and, with either trigger, the re-drive's)
    # trigger "schedule": a tick starts one transform over the waiting batches once they hold this
    # many records, or once the oldest has waited this long (a transform costs minutes to start).
    transform_min_records: int = 5000
    transform_max_wait: float = 300.0
    # Starts SageMaker refuses (ResourceLimitExceeded, a missing model...) are tried again after
    # start_retry_seconds, doubling up to 16x, until the batch is start_give_up_seconds old; then
    # its jobs fail with the refusal. A claim never tried is taken over after start_lease_seconds
    # (the starter function's timeout: its invocation is over by then).
    start_retry_seconds: float = 60.0
    start_give_up_seconds: float = 3600.0
    start_lease_seconds: float = 300.0
    # records
    content_type: ContentType = "text/csv"
    max_payload_bytes: int = 256 * 1024
    max_inputs_per_call: int = 500
    # updates: a job's end always goes out grouped on onJobsMoved (whole jobs); with this, also on
    # onJobUpdated, one update per job (the first event model's subscription: one request a job).
    each_job_end: bool = False
    # local only: `asyncml serve` runs the batcher, the emulator and the results in a process of
    # their own beside the API's (two cores instead of one); off, all of it in the API's process.
    pipeline_process: bool = True
    # A model output starting with this marks the record FAILED (None or "": off). Locally, with the
    # bundled demo model, it defaults to the demo's marker (record_errors.DEMO_ERROR_PREFIX).
    error_prefix: str | None = None
    # transform (CreateTransformJob)
    name_prefix: str = "asyncml"  # every transform job name starts with it (the stack name in the cloud)
    model_name: str = "asyncml-demo"
    instance_type: str = "ml.m5.xlarge"
    instance_count: int = 1
    max_payload_mb: int = 6
    max_concurrent_transforms: int = 0  # 0: the container's /execution-parameters, else 1
    bucket_name: str = "asyncml-local"
    # cloud only
    table_name: str = ""
    stream_name: str = ""
    graphql_url: str = ""
    region: str = ""
    kms_key_id: str = ""
    job_ttl_days: int = 0  # DynamoDB TTL on finished jobs; 0 keeps them
    extra: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Defaults, then `ASYNCML_<FIELD>` variables, then `overrides` (flags) that are not None."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            if f.name == "extra":
                continue
            raw = env.get(f"ASYNCML_{f.name.upper()}")
            if raw is not None and raw != "":
                values[f.name] = _coerce(f.name, f.type, raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        settings = cls(**values)
        settings.check()
        return settings

    def check(self) -> None:
        """Refuse settings no runtime can honour, naming the setting and the allowed values."""
        if self.batch_size < 1 or self.batch_size > 10_000:
            raise ValidationError("batch_size must be 1..10000 (Kinesis BatchSize)", field="batch_size")
        if self.batch_window < 0 or self.batch_window > 300:
            raise ValidationError(
                "batch_window must be 0..300 seconds (MaximumBatchingWindowInSeconds)", field="batch_window"
            )
        if self.trigger not in get_args(Trigger):
            raise ValidationError(f"trigger must be one of {get_args(Trigger)}", field="trigger")
        if self.content_type not in get_args(ContentType):
            raise ValidationError(
                f"content_type must be one of {get_args(ContentType)}", field="content_type"
            )
        positive = ("schedule_seconds", "start_retry_seconds", "start_give_up_seconds", "start_lease_seconds")
        for name in positive:
            if getattr(self, name) <= 0:
                raise ValidationError(f"{name} must be > 0", field=name)
        if self.transform_min_records < 1:
            raise ValidationError("transform_min_records must be >= 1", field="transform_min_records")
        if self.transform_max_wait < 0:
            raise ValidationError("transform_max_wait must be >= 0 seconds", field="transform_max_wait")
        self._check_model()

    def _check_model(self) -> None:
        """--entry-point and --model-dir go together, name what exists, and exclude --model-url."""
        if self.model_start_timeout <= 0:
            raise ValidationError("model_start_timeout must be > 0 seconds", field="model_start_timeout")
        if self.entry_point is None and self.model_dir is None:
            return
        if self.model_url:
            raise ValidationError(
                "--model-url and --entry-point exclude each other: one model server per stack",
                field="model_url",
            )
        if self.entry_point is None or self.model_dir is None:
            missing = "--entry-point" if self.entry_point is None else "--model-dir"
            raise ValidationError(
                f"{missing} is missing: an entry point needs both --entry-point FILE and --model-dir DIR",
                field="entry_point" if self.entry_point is None else "model_dir",
            )
        if not self.entry_point.is_file():
            raise ValidationError(f"entry point {self.entry_point} does not exist", field="entry_point")
        if not self.model_dir.is_dir():
            raise ValidationError(
                f"model dir {self.model_dir} does not exist (it is what model_fn(model_dir) gets)",
                field="model_dir",
            )

    @property
    def file_extension(self) -> str:
        return "csv" if self.content_type == "text/csv" else "jsonl"


_BOOLS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


def _coerce(name: str, annotation: object, raw: str) -> Any:
    text = str(annotation)
    try:
        if text in ("int",):
            return int(raw)
        if text in ("bool",):
            return _BOOLS[raw.lower()]
        if text in ("float",):
            return float(raw)
        if text in ("Path", "Path | None"):
            return Path(raw)
    except (ValueError, KeyError) as exc:
        raise ValidationError(f"ASYNCML_{name.upper()}={raw!r} is not a valid {text}", field=name) from exc
    return raw
