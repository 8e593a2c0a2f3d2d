"""[6] store (local): the data dir is private (files 0600, folders 0700) and its writes are atomic.

Payloads, results and the API key live there, so no other local user may read any of it, whatever
the umask. Every file a restart reads back appears whole or not at all: written to a temp file in
the same folder, fsynced, then renamed over the target, so a full disk or a kill leaves the old
file (or none), never an empty or half-written one."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

FILE_MODE = 0o600
DIR_MODE = 0o700


def private_dir(path: Path) -> Path:
    """`path` and any missing parents, each made 0700 (mkdir's mode is narrowed by the umask, and a
    umask may be anything, so the mode is set again)."""
    missing: list[Path] = []
    current = path
    while not current.is_dir():
        missing.append(current)
        current = current.parent
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):  # another thread made it first
            folder.mkdir(DIR_MODE)
        folder.chmod(DIR_MODE)
    return path


def narrow(path: Path, mode: int) -> None:
    """Take away what others may do with an existing file or folder (an older version, a copy)."""
    with contextlib.suppress(FileNotFoundError):
        if path.stat().st_mode & 0o077:
            path.chmod(mode)


def private_file(path: Path) -> Path:
    """Create `path` empty and 0600 if it is missing, narrow it if it is not (e.g. a database
    that SQLite would otherwise create 0644; it gives its -wal and -shm files the same mode)."""
    private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
    finally:
        os.close(fd)
    return path


def write_atomic(path: Path, data: bytes, *, exclusive: bool = False) -> bool:
    """Write `path` whole or not at all, 0600. With `exclusive`, an existing file wins and False is
    returned (two processes starting at once then agree on one file)."""
    private_dir(path.parent)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")  # mkstemp makes it 0600
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if exclusive:
            try:
                os.link(tmp, path)  # fails if the target exists: create-if-absent, atomically
            except FileExistsError:
                return False
        else:
            Path(tmp).replace(path)
        _fsync_dir(path.parent)
        return True
    finally:
        Path(tmp).unlink(missing_ok=True)


def _fsync_dir(folder: Path) -> None:
    # The rename is durable only once the folder's entry is on disk too.
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
