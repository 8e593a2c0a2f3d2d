"""[6] store (local): a write the server reads back on start is whole or absent, even on a full disk."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from asyncml.local.emulator_runner import EmulatorRunner
from asyncml.local.private_files import write_atomic


def disk_full(*_: object) -> None:
    raise OSError(errno.ENOSPC, "No space left on device")


def test_a_full_disk_keeps_the_old_file_whole_and_leaves_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "x.json"
    write_atomic(target, b'{"v": 1}')
    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space"):
        write_atomic(target, b'{"v": 2}')
    assert target.read_bytes() == b'{"v": 1}'
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]


def test_a_transform_request_that_could_not_be_written_leaves_no_empty_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An empty request file made the next start stop with JSONDecodeError; now there is none, so the
    # batch's start is simply tried again.
    runner = EmulatorRunner(tmp_path / "bucket", tmp_path / "transforms")
    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError):
        runner.start({"TransformJobName": "asyncml-20261125-120000-ab12cd34"})
    assert list((tmp_path / "transforms").iterdir()) == []


def test_an_exclusive_write_lets_the_first_file_win(tmp_path: Path) -> None:
    target = tmp_path / "api_key"
    assert write_atomic(target, b"first\n", exclusive=True)
    assert not write_atomic(target, b"second\n", exclusive=True)
    assert target.read_bytes() == b"first\n"
