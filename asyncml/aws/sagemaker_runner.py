"""[4] transform: TransformRunner on SageMaker Batch Transform (CreateTransformJob)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

from asyncml.ports import TransformStartRefused

if TYPE_CHECKING:
    from mypy_boto3_sagemaker import SageMakerClient

logger = Logger(child=True)


def is_duplicate(exc: ClientError) -> bool:
    """SageMaker's answer to a job name already taken. The API model lists ResourceInUse, but the
    service answers other duplicates with ValidationException "... must be unique", so take both."""
    error = exc.response.get("Error", {})
    code, message = error.get("Code", ""), error.get("Message", "").lower()
    if code == "ResourceInUse":
        return True
    return code == "ValidationException" and ("already exist" in message or "must be unique" in message)


class SageMakerTransformRunner:
    def __init__(self, client: SageMakerClient) -> None:
        self._sagemaker = client

    def start(self, request: dict[str, Any]) -> None:
        """Start the job the core's request describes. Job names derive from the batch id, so a
        repeated S3 event or schedule tick lands here as a duplicate name: already started. Any other
        answer (ResourceLimitExceeded, a missing model, AccessDenied, throttling) is a refusal the
        core records on the batches, with SageMaker's code and message, and re-drives."""
        name = request["TransformJobName"]
        try:
            self._sagemaker.create_transform_job(**request)
        except ClientError as exc:
            if not is_duplicate(exc):
                error = exc.response.get("Error", {})
                code, message = error.get("Code", "Unknown"), error.get("Message", str(exc))
                logger.warning("transform job refused", extra={"transform_job": name, "code": code})
                raise TransformStartRefused(f"{code}: {message}") from exc
            logger.info("transform job exists already", extra={"transform_job": name})
