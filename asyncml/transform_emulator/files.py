"""[4] transform: which objects a job reads (S3Prefix, ManifestFile), and where each `.out` is written."""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import IO

# S3 shows a multipart upload only once it completes; the emulator's stand-in is a hidden temp file
# that a listing skips and that is renamed into place (or deleted) at the end.
PARTIAL_MARK = ".partial-"
FILE_MODE = 0o600
DIR_MODE = 0o700


class InputError(Exception):
    """The job's inputs cannot be listed (no objects, a bad manifest): the whole job fails."""


@dataclass(frozen=True)
class InputObject:
    uri: str  # as SageMaker names it in logs and FailureReason
    path: Path
    relative: str  # kept under S3OutputPath: `<S3OutputPath>/<relative>.out`


def _split_uri(uri: str, bucket_root: Path) -> tuple[Path, str]:
    """(root folder, key) for `s3://BUCKET/KEY` (-> bucket_root/BUCKET) or `file://PATH` (read as it is)."""
    if uri.startswith("file://"):
        rest = uri.removeprefix("file://")
        return (Path("/"), rest.lstrip("/")) if rest.startswith("/") else (Path(), rest)
    if uri.startswith("s3://"):
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        return bucket_root / bucket, key
    raise InputError(f"{uri}: only s3:// and file:// URIs are emulated")


def local_path(uri: str, bucket_root: Path) -> Path:
    root, key = _split_uri(uri, bucket_root)
    return root / key if key else root


def list_inputs(data_type: str, uri: str, bucket_root: Path) -> list[InputObject]:
    objects = (
        _list_manifest(uri, bucket_root) if data_type == "ManifestFile" else _list_prefix(uri, bucket_root)
    )
    if not objects:
        raise InputError(f"ClientError: no objects found under {uri}")
    return objects


def _list_prefix(uri: str, bucket_root: Path) -> list[InputObject]:
    """A raw string prefix, not a folder: `s3://b/test_output` also reads `test_output_pose/...`."""
    root, key = _split_uri(uri, bucket_root)
    folder, _, name_start = key.rpartition("/")
    base = uri[: len(uri) - len(name_start)]  # the URI up to the prefix's last '/'
    base = base if base.endswith("/") else base + "/"
    if (root / key).is_file():  # the URI names one object: read only it
        return [InputObject(uri, root / key, name_start)]
    found: list[str] = []
    start = root / folder
    if start.is_dir():
        for entry in start.iterdir():
            if not entry.name.startswith(name_start):
                continue
            if entry.is_file():
                found.append(entry.name)
            elif entry.is_dir():
                found.extend(p.relative_to(start).as_posix() for p in entry.rglob("*") if p.is_file())
    # S3 lists keys in byte order; temp files of unfinished outputs are not objects yet.
    found = sorted((r for r in found if PARTIAL_MARK not in r.rpartition("/")[2]), key=lambda r: r.encode())
    return [InputObject(base + rel, start / rel, rel) for rel in found]


def _list_manifest(uri: str, bucket_root: Path) -> list[InputObject]:
    """`[{"prefix": "s3://b/p/"}, "x/a.csv", ...]`: each entry is the prefix plus the path, concatenated."""
    try:
        manifest = json.loads(local_path(uri, bucket_root).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"ClientError: cannot read manifest {uri}: {exc}") from None
    head = manifest[0] if isinstance(manifest, list) and manifest else None
    if not isinstance(head, dict) or not isinstance(head.get("prefix"), str):
        raise InputError(f'ClientError: manifest {uri} must start with {{"prefix": "s3://..."}}')
    rels = manifest[1:]
    if not all(isinstance(rel, str) for rel in rels):
        raise InputError(f"ClientError: manifest {uri}: entries after the prefix must be strings")
    prefix = head["prefix"]
    return [InputObject(prefix + rel, local_path(prefix + rel, bucket_root), rel) for rel in rels]


def read_input(obj: InputObject, compression: str) -> bytes:
    data = obj.path.read_bytes()
    # SageMaker decompresses before splitting into records.
    return gzip.decompress(data) if compression == "Gzip" else data


def output_uri(output_path: str, relative: str) -> str:
    return output_path.rstrip("/") + "/" + relative + ".out"


class AtomicOutput:
    """A `.out` that appears whole or not at all (SageMaker aborts the multipart upload on error).

    Owner-only, like an S3 object nobody was granted: the file 0600, folders it makes 0700,
    whatever the umask. Fsynced before the rename, so a reader after a crash finds the whole file
    or none."""

    def __init__(self, path: Path) -> None:
        _private_dirs(path.parent)
        self.path = path
        self._tmp = path.with_name(f".{path.name}{PARTIAL_MARK}{uuid.uuid4().hex[:8]}")
        fd = os.open(self._tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
        os.fchmod(fd, FILE_MODE)
        self._file: IO[bytes] = os.fdopen(fd, "wb")

    def write(self, data: bytes) -> None:
        self._file.write(data)

    def commit(self) -> None:
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        self._tmp.replace(self.path)

    def discard(self) -> None:
        self._file.close()
        self._tmp.unlink(missing_ok=True)


def _private_dirs(folder: Path) -> None:
    missing = []
    while not folder.is_dir():
        missing.append(folder)
        folder = folder.parent
    for made in reversed(missing):
        with contextlib.suppress(FileExistsError):  # another instance made it first
            made.mkdir(DIR_MODE)
        made.chmod(DIR_MODE)  # mkdir's mode is narrowed by the umask, which may be anything
