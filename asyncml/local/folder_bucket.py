"""[3] bucket (local): a folder with S3's key layout; `s3://<name>/<key>` is `<root>/<name>/<key>`."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

CHUNK = 1024 * 1024  # bytes read at a time, as the S3 adapter does


class FolderBucket:
    def __init__(self, root: Path, name: str) -> None:
        self.root = root
        self.name = name
        self.path = root / name
        self.path.mkdir(parents=True, exist_ok=True)

    def _file(self, key: str) -> Path:
        target = (self.path / key).resolve()
        if not target.is_relative_to(self.path.resolve()):
            raise ValueError(f"key {key!r} escapes the bucket")
        return target

    def put(self, key: str, data: bytes) -> None:
        """Write whole or not at all, like an S3 PUT: a reader never sees half a file."""
        target = self._file(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            Path(tmp).replace(target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def read_chunks(self, key: str) -> Iterator[bytes]:
        with self._file(key).open("rb") as f:
            while chunk := f.read(CHUNK):
                yield chunk

    def exists(self, key: str) -> bool:
        return self._file(key).is_file()

    def uri(self, key: str) -> str:
        return f"s3://{self.name}/{key}"
