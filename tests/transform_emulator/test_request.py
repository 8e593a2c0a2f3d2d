"""[4] transform: CreateTransformJob validation and defaults, as SageMaker applies them."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from asyncml.settings import Settings
from asyncml.transform import build_request
from asyncml.transform_emulator.errors import InvalidTransformRequest
from asyncml.transform_emulator.request import container_environment, resolve_settings, validate_request

# Exactly what asyncml's core sends for a CSV batch (the cloud sends the same dict to SageMaker).
ASYNCML_CSV: dict[str, Any] = build_request(
    Settings(),
    "asyncml-20261125-120000-ab12cd34",
    s3_uri="s3://asyncml-local/data/x.csv",
    data_type="S3Prefix",
    output_path="s3://asyncml-local/result/",
)


def request(**changes: Any) -> dict[str, Any]:
    """The asyncml request with dotted-path changes; a value of None deletes the key."""
    result = copy.deepcopy(ASYNCML_CSV)
    for dotted, value in changes.items():
        *parents, last = dotted.split("__")
        node = result
        for key in parents:
            node = node.setdefault(key, {})
        if value is None:
            node.pop(last, None)
        else:
            node[last] = value
    return result


def refused(req: Any) -> InvalidTransformRequest:
    with pytest.raises(InvalidTransformRequest) as info:
        validate_request(req)
    return info.value


def test_the_requests_asyncml_builds_are_valid() -> None:
    validate_request(ASYNCML_CSV)
    validate_request(
        request(
            TransformInput__ContentType="application/jsonlines",
            TransformOutput__Accept="application/jsonlines",
            DataProcessing={
                "InputFilter": "$.payload",
                "JoinSource": "Input",
                "OutputFilter": "$['asyncmlJobId','SageMakerOutput']",
            },
        )
    )


@pytest.mark.parametrize("missing", ["TransformJobName", "ModelName", "TransformInput", "TransformOutput"])
def test_a_missing_required_field_is_named(missing: str) -> None:
    error = refused(request(**{missing: None}))
    assert error.field == missing
    assert "is required" in error.message


def test_unknown_fields_are_refused_with_the_allowed_ones() -> None:
    error = refused(request(TransformOutput__Acept="text/csv"))
    assert error.field == "TransformOutput"
    assert "'Acept'" in error.message and "Accept" in error.message


@pytest.mark.parametrize("name", ["-abc", "abc-", "a_b", "a.b", "x" * 64, ""])
def test_job_names_follow_sagemakers_pattern(name: str) -> None:
    assert refused(request(TransformJobName=name)).field == "TransformJobName"


def test_job_names_may_hold_inner_hyphens_and_63_characters() -> None:
    validate_request(request(TransformJobName="a--b"))
    validate_request(request(TransformJobName="a" * 63))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("TransformInput__SplitType", "Lines"),
        ("BatchStrategy", "MULTI_RECORD"),
        ("TransformOutput__AssembleWith", "line"),
        ("DataProcessing__JoinSource", "Output"),
        ("TransformInput__CompressionType", "gzip"),
        ("TransformInput__DataSource__S3DataSource__S3DataType", "Prefix"),
    ],
)
def test_enums_name_the_field_and_the_allowed_values(field: str, value: str) -> None:
    error = refused(request(**{field: value}))
    assert error.field == field.replace("__", ".")
    assert "is not one of" in error.message


def test_limits_on_numbers() -> None:
    assert "allowed 0 to 100" in refused(request(MaxPayloadInMB=101)).message
    assert refused(request(MaxPayloadInMB=-1)).field == "MaxPayloadInMB"
    assert refused(request(ModelClientConfig={"InvocationsMaxRetries": 4})).field == (
        "ModelClientConfig.InvocationsMaxRetries"
    )
    assert refused(request(ModelClientConfig={"InvocationsTimeoutInSeconds": 0})).field == (
        "ModelClientConfig.InvocationsTimeoutInSeconds"
    )
    assert refused(request(TransformResources__InstanceCount=0)).field == "TransformResources.InstanceCount"
    assert refused(request(MaxPayloadInMB="6")).message.endswith("must be an integer")


def test_concurrency_times_payload_may_not_pass_100() -> None:
    validate_request(request(MaxConcurrentTransforms=16, MaxPayloadInMB=6))
    error = refused(request(MaxConcurrentTransforms=20, MaxPayloadInMB=6))
    assert error.field == "MaxConcurrentTransforms" and "120" in error.message


def test_environment_limits() -> None:
    assert refused(request(Environment={f"K{i}": "v" for i in range(17)})).field == "Environment"
    assert refused(request(Environment={"1BAD": "v"})).field == "Environment.1BAD"
    assert refused(request(Environment={"OK": "v" * 10241})).field == "Environment.OK"


def test_data_processing_needs_equal_csv_or_json_types() -> None:
    error = refused(request(TransformOutput__Accept="application/jsonlines"))
    assert "must be equal" in error.message and "text/csv" in error.message
    assert refused(request(TransformInput__ContentType="text/plain", TransformOutput__Accept="text/plain"))


def test_csv_data_processing_needs_line_split_and_assembly() -> None:
    error = refused(request(TransformOutput__AssembleWith="None"))
    assert error.field == "TransformOutput.AssembleWith" and "Line" in error.message


def test_the_format_rules_apply_only_when_data_processing_does_something() -> None:
    # Pinned choice: default filters and no join leave any content type alone.
    validate_request(
        request(
            TransformInput__ContentType="image/png",
            TransformOutput__Accept="application/json",
            TransformInput__SplitType="None",
            DataProcessing={"InputFilter": "$", "JoinSource": "None", "OutputFilter": "$"},
        )
    )


def test_filters_are_checked_for_length_and_syntax() -> None:
    assert (
        refused(request(DataProcessing__InputFilter="$" + "[1]" * 21)).field == "DataProcessing.InputFilter"
    )
    error = refused(request(DataProcessing__OutputFilter="$..x"))
    assert error.field == "DataProcessing.OutputFilter" and "supported" in error.message
    csv_names = refused(request(DataProcessing__InputFilter="$.features"))
    assert "index paths" in csv_names.message


def test_splits_that_are_not_emulated_are_refused_clearly() -> None:
    assert "not emulated" in refused(request(TransformInput__SplitType="RecordIO")).message
    assert refused(request(TransformInput__DataSource__S3DataSource__S3DataType="AugmentedManifestFile"))


def test_defaults_when_neither_request_nor_container_says() -> None:
    bare = request(
        BatchStrategy=None, MaxPayloadInMB=None, DataProcessing=None, TransformInput__SplitType=None
    )
    settings = resolve_settings(bare)
    assert (settings.max_concurrent, settings.max_payload_mb, settings.batch_strategy) == (
        1,
        6,
        "MultiRecord",
    )
    assert (settings.split_type, settings.assemble_with, settings.compression) == ("None", "Line", "None")
    assert (settings.timeout_s, settings.max_retries) == (600, 3)
    assert settings.max_payload_bytes == 6 * 2**20  # pinned: 1 MB = 2**20 bytes (unconfirmed)


def test_request_beats_container_beats_defaults() -> None:
    container = {"MaxConcurrentTransforms": 8, "BatchStrategy": "SINGLE_RECORD", "MaxPayloadInMB": 3}
    from_container = resolve_settings(request(BatchStrategy=None, MaxPayloadInMB=None), container)
    assert (from_container.max_concurrent, from_container.batch_strategy, from_container.max_payload_mb) == (
        8,
        "SingleRecord",
        3,
    )
    mine = resolve_settings(request(MaxConcurrentTransforms=2), container)
    assert (mine.max_concurrent, mine.batch_strategy, mine.max_payload_mb) == (2, "MultiRecord", 6)
    # MaxConcurrentTransforms 0 means "ask the container".
    assert resolve_settings(request(MaxConcurrentTransforms=0), container).max_concurrent == 8


def test_container_environment_sets_sagemaker_variables_only_when_requested() -> None:
    env = container_environment(request(Environment={"MODE": "fast"}))
    assert env == {
        "MODE": "fast",
        "SAGEMAKER_BATCH": "true",
        "SAGEMAKER_MAX_PAYLOAD_IN_MB": "6",
        "SAGEMAKER_BATCH_STRATEGY": "MULTI_RECORD",
    }
    assert container_environment(request(BatchStrategy=None, MaxPayloadInMB=None)) == {
        "SAGEMAKER_BATCH": "true"
    }
