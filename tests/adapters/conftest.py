"""One contract suite per port: each fixture is parametrized over every adapter of that port.

The cloud adapters join by adding a factory to the lists below (moto-backed)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from asyncml.local.folder_bucket import FolderBucket
from asyncml.local.sqlite_store import SqliteJobStore

StoreFactory = Callable[[Path], Any]


def _sqlite_store(tmp: Path) -> Any:
    return SqliteJobStore(tmp / "jobs.db")


def _folder_bucket(tmp: Path) -> Any:
    return FolderBucket(tmp / "bucket", "asyncml-test")


STORE_FACTORIES: dict[str, Callable[[Path], Any]] = {"sqlite": _sqlite_store}
BUCKET_FACTORIES: dict[str, Callable[[Path], Any]] = {"folder": _folder_bucket}

try:  # the cloud adapters register themselves when their module is present
    from tests.adapters import aws_factories

    STORE_FACTORIES.update(aws_factories.STORE_FACTORIES)
    BUCKET_FACTORIES.update(aws_factories.BUCKET_FACTORIES)
except ImportError:
    pass


@pytest.fixture(params=sorted(STORE_FACTORIES))
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    yield from _enter(STORE_FACTORIES[request.param](tmp_path))


@pytest.fixture(params=sorted(BUCKET_FACTORIES))
def bucket(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    yield from _enter(BUCKET_FACTORIES[request.param](tmp_path))


def _enter(made: Any) -> Iterator[Any]:
    # A factory may return the adapter, or a generator that sets up (e.g. mock_aws) and tears down.
    if hasattr(made, "__next__"):
        adapter = next(made)
        yield adapter
        next(made, None)
    else:
        yield made
