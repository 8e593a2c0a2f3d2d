"""[3] bucket (local): a folder with S3's key layout; `s3://<name>/<key>` is `<root>/<name>/<key>`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from asyncml.local.private_files import private_dir, write_atomic

CHUNK = 1024 * 1024  # bytes read at a time, as the S3 adapter does


class FolderBucket:
    def __init__(self, root: Path, name: str) -> None:
        self.root = root
        self.name = name
        self.path = private_dir(root / name)

    def _file(self, key: str) -> Path:
        target = (self.path / key).resolve()
        if not target.is_relative_to(self.path.resolve()):
            raise ValueError(f"key {key!r} escapes the bucket")
        return target

    def put(self, key: str, data: bytes) -> None:
        """Write whole or not at all, like an S3 PUT: a reader never sees half a file."""
        write_atomic(self._file(key), data)

    def read_chunks(self, key: str) -> Iterator[bytes]:
        with self._file(key).open("rb") as f:
            while chunk := f.read(CHUNK):
                yield chunk

    def exists(self, key: str) -> bool:
        return self._file(key).is_file()

    def uri(self, key: str) -> str:
        return f"s3://{self.name}/{key}"
