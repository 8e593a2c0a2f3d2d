"""[4] transform: validate a CreateTransformJob request as SageMaker would, then resolve its defaults."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from asyncml.transform_emulator.data_processing import CSV, JSON_TYPES
from asyncml.transform_emulator.errors import InvalidTransformRequest
from asyncml.transform_emulator.jsonpath import FilterSyntaxError, is_index_only, parse_path
from asyncml.transform_emulator.request_schema import REQUEST, check

MB = 1 << 20  # MaxPayloadInMB counts 2**20 bytes per MB (unconfirmed: AWS never says 10**6 or 2**20)
DEFAULT_PAYLOAD_MB = 6
DEFAULT_CONCURRENCY = 1
DEFAULT_STRATEGY = "MultiRecord"
DEFAULT_TIMEOUT_S = 600
DEFAULT_RETRIES = 3  # the API reference's default (a CDK comment says 0; unconfirmed in practice)
# /execution-parameters and the SAGEMAKER_BATCH_STRATEGY variable spell the strategy in upper snake case.
_STRATEGY_FROM_CONTAINER = {"MULTI_RECORD": "MultiRecord", "SINGLE_RECORD": "SingleRecord"}
_STRATEGY_TO_CONTAINER = {v: k for k, v in _STRATEGY_FROM_CONTAINER.items()}


@dataclass(frozen=True)
class TransformSettings:
    """Everything the emulator needs, defaults applied (request > container > SageMaker's defaults)."""

    name: str
    data_type: str
    input_uri: str
    content_type: str | None
    compression: str
    split_type: str
    output_path: str
    accept: str | None
    assemble_with: str
    instance_count: int
    max_concurrent: int
    max_payload_mb: int
    batch_strategy: str
    timeout_s: float
    max_retries: int
    input_filter: str
    join_source: str
    output_filter: str

    @property
    def max_payload_bytes(self) -> int | None:
        """None for MaxPayloadInMB 0: SageMaker streams the payload with chunked encoding, no limit."""
        return self.max_payload_mb * MB if self.max_payload_mb else None


def validate_request(request: Any) -> None:
    """Raise InvalidTransformRequest naming the first bad field, as CreateTransformJob would."""
    check(REQUEST, request, "")
    tin, tout = request["TransformInput"], request["TransformOutput"]
    if tin["DataSource"]["S3DataSource"]["S3DataType"] not in ("S3Prefix", "ManifestFile"):
        raise InvalidTransformRequest(
            "TransformInput.DataSource.S3DataSource.S3DataType: Batch Transform reads only S3Prefix"
            " or ManifestFile",
            field="TransformInput.DataSource.S3DataSource.S3DataType",
        )
    if tin.get("SplitType") in ("RecordIO", "TFRecord"):
        raise InvalidTransformRequest(
            f"TransformInput.SplitType: {tin['SplitType']} is valid on SageMaker but not emulated locally;"
            " use Line or None",
            field="TransformInput.SplitType",
        )
    concurrency, payload = request.get("MaxConcurrentTransforms"), request.get("MaxPayloadInMB")
    if concurrency and payload is not None and concurrency * payload > 100:
        raise InvalidTransformRequest(
            f"MaxConcurrentTransforms * MaxPayloadInMB is {concurrency} * {payload} ="
            f" {concurrency * payload}; the limit is 100",
            field="MaxConcurrentTransforms",
        )
    _validate_data_processing(request.get("DataProcessing", {}), tin, tout)


def _validate_data_processing(dp: Mapping[str, Any], tin: Mapping[str, Any], tout: Mapping[str, Any]) -> None:
    in_filter, out_filter = dp.get("InputFilter", "$"), dp.get("OutputFilter", "$")
    paths = {}
    for key, text in (("InputFilter", in_filter), ("OutputFilter", out_filter)):
        try:
            paths[key] = parse_path(text)
        except FilterSyntaxError as exc:
            raise InvalidTransformRequest(
                f"DataProcessing.{key}: {exc}; supported: $, .name, *, ['a','b'], [n,m], [start:end]",
                field=f"DataProcessing.{key}",
            ) from None
    if in_filter == "$" and out_filter == "$" and dp.get("JoinSource", "None") == "None":
        return  # nothing to process, so the format rules below do not apply
    content_type, accept = tin.get("ContentType"), tout.get("Accept")
    formats = (CSV, *JSON_TYPES)
    if content_type not in formats or accept != content_type:
        raise InvalidTransformRequest(
            f"TransformInput.ContentType ({content_type}) and TransformOutput.Accept ({accept}) must be equal"
            f" and one of {', '.join(formats)} when DataProcessing filters or joins",
            field="TransformOutput.Accept" if content_type in formats else "TransformInput.ContentType",
        )
    split, assemble = tin.get("SplitType", "None"), tout.get("AssembleWith", "None")
    if split != assemble or (content_type == CSV and split != "Line"):
        need = "Line" if content_type == CSV else "equal"
        raise InvalidTransformRequest(
            f"TransformInput.SplitType ({split}) and TransformOutput.AssembleWith ({assemble}) must be {need}"
            f" for {content_type} with DataProcessing",
            field="TransformOutput.AssembleWith",
        )
    for key, path in paths.items():
        if content_type == CSV and not is_index_only(path):
            raise InvalidTransformRequest(
                f"DataProcessing.{key}: a CSV row is an array, so use index paths such as $[1:] or $[0,-1]",
                field=f"DataProcessing.{key}",
            )


def resolve_settings(
    request: Mapping[str, Any], container: Mapping[str, Any] | None = None
) -> TransformSettings:
    """Apply defaults; `container` is the parsed `/execution-parameters` answer, if the server gave one."""
    params = container or {}
    # 0 or unset in the request means "use the container's value" (MaxConcurrentTransforms' documented rule).
    payload_mb = request.get("MaxPayloadInMB")
    if payload_mb is None:
        payload_mb = _from_container(params, "MaxPayloadInMB") or DEFAULT_PAYLOAD_MB
    tin, tout = request["TransformInput"], request["TransformOutput"]
    s3 = tin["DataSource"]["S3DataSource"]
    client, dp = request.get("ModelClientConfig", {}), request.get("DataProcessing", {})
    return TransformSettings(
        name=request["TransformJobName"],
        data_type=s3["S3DataType"],
        input_uri=s3["S3Uri"],
        content_type=tin.get("ContentType"),
        compression=tin.get("CompressionType", "None"),
        split_type=tin.get("SplitType", "None"),
        output_path=tout["S3OutputPath"],
        accept=tout.get("Accept"),
        assemble_with=tout.get("AssembleWith", "None"),
        instance_count=request["TransformResources"]["InstanceCount"],
        max_concurrent=request.get("MaxConcurrentTransforms")
        or _from_container(params, "MaxConcurrentTransforms")
        or DEFAULT_CONCURRENCY,
        max_payload_mb=payload_mb,
        batch_strategy=request.get("BatchStrategy")
        or _from_container(params, "BatchStrategy")
        or DEFAULT_STRATEGY,
        timeout_s=client.get("InvocationsTimeoutInSeconds", DEFAULT_TIMEOUT_S),
        max_retries=client.get("InvocationsMaxRetries", DEFAULT_RETRIES),
        input_filter=dp.get("InputFilter", "$") or "$",
        join_source=dp.get("JoinSource", "None"),
        output_filter=dp.get("OutputFilter", "$") or "$",
    )


def _from_container(params: Mapping[str, Any], key: str) -> Any:
    """A usable value from /execution-parameters, or None (a container may answer anything)."""
    value = params.get(key)
    if key == "BatchStrategy":
        return _STRATEGY_FROM_CONTAINER.get(value) if isinstance(value, str) else None
    return value if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 100 else None


def container_environment(request: Mapping[str, Any]) -> dict[str, str]:
    """The variables a real container gets: the job's Environment plus SAGEMAKER_* (those only if set)."""
    env = {str(k): str(v) for k, v in request.get("Environment", {}).items()}
    env["SAGEMAKER_BATCH"] = "true"
    if request.get("MaxConcurrentTransforms"):
        env["SAGEMAKER_MAX_CONCURRENT_TRANSFORMS"] = str(request["MaxConcurrentTransforms"])
    if "MaxPayloadInMB" in request:
        env["SAGEMAKER_MAX_PAYLOAD_IN_MB"] = str(request["MaxPayloadInMB"])
    if "BatchStrategy" in request:
        env["SAGEMAKER_BATCH_STRATEGY"] = _STRATEGY_TO_CONTAINER[request["BatchStrategy"]]
    return env
