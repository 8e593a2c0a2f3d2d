"""Fixtures the dashboard's browser tests share."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import BrowserContext, sync_playwright

from tests.browser.browser import open_dashboard


@pytest.fixture(scope="module")
def context(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserContext]:
    """One Debian Chromium profile per test module (pages of one module share its saved settings)."""
    with sync_playwright() as p:
        ctx = open_dashboard(p, tmp_path_factory.mktemp("chromium-profile"))
        yield ctx
        ctx.close()
