"""Shared fixtures: the core on local adapters (SQLite in tmp, folder bucket), fake time and transforms."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from asyncml.local.folder_bucket import FolderBucket
from asyncml.local.sqlite_store import SqliteJobStore
from asyncml.ports import Ports
from asyncml.settings import Settings
from tests.fakes import FakeClock, ListStream, RecordingPublisher, ScriptedRunner


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", batch_size=10, batch_window=0.1)


@pytest.fixture
def ports(tmp_path: Path, settings: Settings, clock: FakeClock) -> Ports:
    store = SqliteJobStore(tmp_path / "jobs.db")
    bucket = FolderBucket(tmp_path / "bucket", settings.bucket_name)
    return Ports(
        settings=settings,
        store=store,
        stream=ListStream(),
        bucket=bucket,
        runner=ScriptedRunner(),
        publisher=RecordingPublisher(),
        clock=clock,
    )


def with_settings(ports: Ports, **changes: Any) -> Ports:
    return dataclasses.replace(ports, settings=dataclasses.replace(ports.settings, **changes))
