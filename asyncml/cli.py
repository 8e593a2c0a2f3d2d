"""`asyncml serve | transform | model`: parse flags, then hand off to the local runtime."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from asyncml.errors import ValidationError
from asyncml.settings import Settings
from asyncml.transform_emulator.entry_point import EntryPoint, EntryPointError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="asyncml", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the whole pipeline on this machine (no AWS)")
    serve.add_argument("--host", help="bind address (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="HTTP port (default 8000)")
    serve.add_argument("--data-dir", type=Path, help="where jobs, batch files and the API key live")
    serve.add_argument("--api-key", help="client API key (default: random, kept in the data dir)")
    serve.add_argument("--batch-size", type=int, help="seal a batch at this many jobs (default 100)")
    serve.add_argument("--batch-window", type=float, help="or after this many seconds (default 2.0)")
    serve.add_argument(
        "--trigger", choices=["s3", "schedule"], help="start a transform per batch file, or on a timer"
    )
    serve.add_argument(
        "--schedule-seconds", type=float, help="timer period for --trigger schedule (default 60)"
    )
    serve.add_argument(
        "--model-url", help="a model server on SageMaker's container contract (default: demo model)"
    )
    serve.add_argument("--content-type", choices=["text/csv", "application/jsonlines"], help="record format")
    serve.add_argument(
        "--error-prefix",
        help="a model output starting with this fails its job (default: the demo model's ERROR; '' = off)",
    )
    serve.add_argument(
        "--each-job-end",
        action=argparse.BooleanOptionalAction,
        help="also publish every job's end on onJobUpdated, one update per job (default: off; "
        "ends always come grouped on onJobsMoved)",
    )
    serve.add_argument(
        "--pipeline-process",
        action=argparse.BooleanOptionalAction,
        help="run the batcher, the transform emulator and the results in their own process beside "
        "the API's (default: on)",
    )
    _model_flags(serve)

    transform = sub.add_parser("transform", help="run one CreateTransformJob request through the emulator")
    transform.add_argument("request", type=Path, help="JSON file holding a CreateTransformJob request")
    transform.add_argument("--bucket-root", type=Path, default=Path(), help="s3://B/K is read as DIR/B/K")
    transform.add_argument("--model-url", help="model server URL (default: start the demo model)")
    _model_flags(transform)

    model = sub.add_parser(
        "model", help="serve an entry point (default: the demo model) on SageMaker's container contract"
    )
    model.add_argument("--host", default="127.0.0.1")
    model.add_argument("--port", type=int, default=8080)
    _model_flags(model)

    package = sub.add_parser(
        "package-model", help="build the model.tar.gz SageMaker's framework containers load"
    )
    _model_flags(package)
    package.add_argument("--output", type=Path, default=Path("model.tar.gz"), help="default ./model.tar.gz")
    return parser


def _model_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--entry-point", type=Path, help="your SageMaker entry point (inference.py with model_fn, ...)"
    )
    parser.add_argument("--model-dir", type=Path, help="the directory model_fn(model_dir) loads from")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return _run(args)
    except ValidationError as exc:
        print(f"asyncml: {exc.message}", file=sys.stderr)
        return 2
    except EntryPointError as exc:
        print(f"asyncml: {exc}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    model = {"entry_point": args.entry_point, "model_dir": args.model_dir}
    if args.command == "serve":
        settings = Settings.from_env(
            host=args.host,
            port=args.port,
            data_dir=args.data_dir,
            api_key=args.api_key,
            batch_size=args.batch_size,
            batch_window=args.batch_window,
            trigger=args.trigger,
            schedule_seconds=args.schedule_seconds,
            model_url=args.model_url,
            content_type=args.content_type,
            error_prefix=args.error_prefix,
            each_job_end=args.each_job_end,
            pipeline_process=args.pipeline_process,
            **model,
        )
        from asyncml.local.api.server import serve

        serve(settings)
        return 0
    settings = Settings.from_env(**model, model_url=getattr(args, "model_url", None))
    if args.command == "transform":
        from asyncml.transform_emulator.cli import run_transform_command

        return run_transform_command(
            args.request, bucket_root=args.bucket_root, model_url=args.model_url, entry_point=_entry(settings)
        )
    if args.command == "model":
        from asyncml.transform_emulator.model_server import serve as serve_model

        # Without --entry-point the process reads SAGEMAKER_PROGRAM / SM_MODEL_DIR as the container
        # does, and serves the demo model when they are not set either.
        serve_model(_entry(settings), host=args.host, port=args.port)
        return 0
    if args.command == "package-model":
        from asyncml.transform_emulator.package import package_model

        entry = _entry(settings)
        if entry is None:
            print("asyncml: package-model needs --entry-point FILE and --model-dir DIR", file=sys.stderr)
            return 2
        print(package_model(entry, args.output))
        return 0
    return 2


def _entry(settings: Settings) -> EntryPoint | None:
    if settings.entry_point is None or settings.model_dir is None:
        return None
    return EntryPoint(settings.entry_point, settings.model_dir)


if __name__ == "__main__":
    raise SystemExit(main())
