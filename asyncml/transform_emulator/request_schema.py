"""[4] transform: CreateTransformJob's request shape (botocore's model: types, lengths, patterns, enums)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from asyncml.transform_emulator.errors import InvalidTransformRequest

# SageMaker's S3Uri pattern is `(https|s3)://([^/]+)/?(.*)`; the emulator also reads file:// URIs.
_URI = r"(https|s3)://([^/]+)/?(.*)|file://.*"


@dataclass(frozen=True)
class Str:
    max_len: int
    min_len: int = 0
    pattern: str | None = None
    hint: str = ""


@dataclass(frozen=True)
class Int:
    low: int
    high: int | None = None


@dataclass(frozen=True)
class Enum:
    values: tuple[str, ...]


@dataclass(frozen=True)
class Bool:
    pass


@dataclass(frozen=True)
class Struct:
    fields: dict[str, Spec]
    required: tuple[str, ...] = ()


@dataclass(frozen=True)
class Map:
    key: Str
    value: Str
    max_items: int


@dataclass(frozen=True)
class List:
    item: Spec
    max_items: int


Spec = Str | Int | Enum | Bool | Struct | Map | List

_NAME = Str(
    63, 1, r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}", "letters, digits and hyphens, not starting or ending with '-'"
)
_S3_URI = Str(1024, 0, _URI, "s3://BUCKET/KEY")
REQUEST = Struct(
    {
        "TransformJobName": _NAME,
        "ModelName": Str(
            63, 0, r"[a-zA-Z0-9]([\-a-zA-Z0-9]*[a-zA-Z0-9])?", "letters, digits and inner hyphens"
        ),
        "MaxConcurrentTransforms": Int(0),
        "ModelClientConfig": Struct(
            {"InvocationsTimeoutInSeconds": Int(1, 3600), "InvocationsMaxRetries": Int(0, 3)}
        ),
        "MaxPayloadInMB": Int(0, 100),
        "BatchStrategy": Enum(("MultiRecord", "SingleRecord")),
        "Environment": Map(
            Str(1024, 0, r"[a-zA-Z_][a-zA-Z0-9_]{0,1023}", "[a-zA-Z_][a-zA-Z0-9_]*"), Str(10240), 16
        ),
        "TransformInput": Struct(
            {
                "DataSource": Struct(
                    {
                        "S3DataSource": Struct(
                            {
                                "S3DataType": Enum(
                                    ("ManifestFile", "S3Prefix", "AugmentedManifestFile", "Converse")
                                ),
                                "S3Uri": _S3_URI,
                            },
                            ("S3DataType", "S3Uri"),
                        )
                    },
                    ("S3DataSource",),
                ),
                "ContentType": Str(256, 0, r".*"),
                "CompressionType": Enum(("None", "Gzip")),
                "SplitType": Enum(("None", "Line", "RecordIO", "TFRecord")),
            },
            ("DataSource",),
        ),
        "TransformOutput": Struct(
            {
                "S3OutputPath": _S3_URI,
                "Accept": Str(256, 0, r".*"),
                "AssembleWith": Enum(("None", "Line")),
                "KmsKeyId": Str(2048, 0, r"[a-zA-Z0-9:/_-]*"),
            },
            ("S3OutputPath",),
        ),
        "DataCaptureConfig": Struct(
            {"DestinationS3Uri": Str(512, 0, _URI), "KmsKeyId": Str(2048), "GenerateInferenceId": Bool()},
            ("DestinationS3Uri",),
        ),
        "TransformResources": Struct(
            {
                "InstanceType": Str(
                    64, 1, r"ml\.[a-z0-9]+\.[a-z0-9]+", "an ml.* instance type such as ml.m5.xlarge"
                ),
                "InstanceCount": Int(1, 100),
                "VolumeKmsKeyId": Str(2048),
                "TransformAmiVersion": Str(63, 1),
            },
            ("InstanceType", "InstanceCount"),
        ),
        "DataProcessing": Struct(
            {
                "InputFilter": Str(63),
                "OutputFilter": Str(63),
                "JoinSource": Enum(("Input", "None")),
            }
        ),
        "Tags": List(Struct({"Key": Str(128, 1), "Value": Str(256)}, ("Key", "Value")), 50),
        "ExperimentConfig": Struct(
            {
                "ExperimentName": Str(120),
                "TrialName": Str(120),
                "TrialComponentDisplayName": Str(120),
                "RunName": Str(120),
            }
        ),
    },
    ("TransformJobName", "ModelName", "TransformInput", "TransformOutput", "TransformResources"),
)


def _fail(path: str, message: str) -> InvalidTransformRequest:
    return InvalidTransformRequest(f"{path or 'request'}: {message}", field=path or None)


def check(spec: Spec, value: Any, path: str) -> None:
    """Raise InvalidTransformRequest for the first field (dotted path) that breaks `spec`."""
    if isinstance(spec, Struct):
        if not isinstance(value, dict):
            raise _fail(path, "must be an object")
        for key in spec.required:
            if key not in value:
                raise _fail(f"{path}.{key}".lstrip("."), "is required")
        for key, item in value.items():
            if key not in spec.fields:
                raise _fail(path, f"unknown field {key!r}; allowed: {', '.join(spec.fields)}")
            check(spec.fields[key], item, f"{path}.{key}".lstrip("."))
    elif isinstance(spec, Str):
        if not isinstance(value, str):
            raise _fail(path, "must be a string")
        if not spec.min_len <= len(value) <= spec.max_len:
            raise _fail(path, f"is {len(value)} characters; allowed {spec.min_len} to {spec.max_len}")
        if spec.pattern and not re.fullmatch(spec.pattern, value):
            raise _fail(path, f"{value!r} must match {spec.pattern} ({spec.hint or 'see the API reference'})")
    elif isinstance(spec, Int):
        if not isinstance(value, int) or isinstance(value, bool):
            raise _fail(path, "must be an integer")
        if value < spec.low or (spec.high is not None and value > spec.high):
            high = "" if spec.high is None else f" to {spec.high}"
            raise _fail(path, f"is {value}; allowed {spec.low}{high or ' or more'}")
    elif isinstance(spec, Enum):
        if value not in spec.values:
            raise _fail(path, f"{value!r} is not one of {', '.join(spec.values)}")
    elif isinstance(spec, Bool):
        if not isinstance(value, bool):
            raise _fail(path, "must be true or false")
    elif isinstance(spec, Map):
        if not isinstance(value, dict):
            raise _fail(path, "must be an object of strings")
        if len(value) > spec.max_items:
            raise _fail(path, f"has {len(value)} entries; the limit is {spec.max_items}")
        for key, item in value.items():
            check(spec.key, key, f"{path}.{key}")
            check(spec.value, item, f"{path}.{key}")
    else:
        if not isinstance(value, list):
            raise _fail(path, "must be a list")
        if len(value) > spec.max_items:
            raise _fail(path, f"has {len(value)} items; the limit is {spec.max_items}")
        for i, item in enumerate(value):
            check(spec.item, item, f"{path}[{i}]")
