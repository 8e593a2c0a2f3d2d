"""[3] batch file: Bucket on S3, encrypted at rest; objects are read as a stream of chunks."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes import S3Event
    from mypy_boto3_s3 import S3Client

CHUNK = 1024 * 1024  # bytes read at a time: memory stays near this however large the object


def object_keys(event: S3Event) -> list[str]:
    """The keys of an S3 event's objects, as the bucket names them."""
    # S3 event keys arrive URL-encoded ("a b" as "a+b"); the core works with real keys.
    return [unquote_plus(r.s3.get_object.key) for r in event.records]


class S3Bucket:
    def __init__(self, client: S3Client, name: str, *, kms_key_id: str = "") -> None:
        self._s3, self.name = client, name
        # The bucket has default encryption too; asking on every put keeps objects encrypted even
        # if the bucket's default is changed, and names the key when a customer KMS key is used.
        self._sse: dict[str, Any] = (
            {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": kms_key_id}
            if kms_key_id
            else {"ServerSideEncryption": "AES256"}
        )

    def put(self, key: str, data: bytes) -> None:
        self._s3.put_object(Bucket=self.name, Key=key, Body=data, **self._sse)

    def read_chunks(self, key: str) -> Iterator[bytes]:
        body = self._s3.get_object(Bucket=self.name, Key=key)["Body"]
        try:
            while chunk := body.read(CHUNK):
                yield chunk
        finally:
            body.close()

    def exists(self, key: str) -> bool:
        try:
            self._s3.head_object(Bucket=self.name, Key=key)
        except self._s3.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def uri(self, key: str) -> str:
        return f"s3://{self.name}/{key}"
