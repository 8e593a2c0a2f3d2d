"""The stack under moto (tests/cloud_harness.py), for every handler test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.cloud_harness import Cloud, cloud


@pytest.fixture
def aws() -> Iterator[Cloud]:
    with cloud() as c:
        yield c
