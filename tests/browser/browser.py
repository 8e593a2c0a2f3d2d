"""Debian's Chromium under Playwright: never a downloaded browser (`playwright install` cannot run here)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page, Playwright

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
# Without the background-networking flags Chromium keeps dialling Google's hosts, which this
# machine's closed network refuses; --no-sandbox because the tests run as root.
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def open_dashboard(p: Playwright, profile: Path, width: int = 1360, height: int = 900) -> BrowserContext:
    """A browser with a fresh profile (so no saved settings) and a laptop-sized window."""
    return p.chromium.launch_persistent_context(
        str(profile),
        executable_path=str(CHROMIUM),
        headless=True,
        args=ARGS,
        viewport={"width": width, "height": height},
    )


def connect(page: Page, graphql_url: str, api_key: str, path: str = "/") -> None:
    """Open the dashboard with its key two ways: saved settings, as for a user who typed it in, and
    the `#apiKey=` fragment that `asyncml serve` prints. Either one is enough to connect."""
    settings = json.dumps({"graphqlUrl": graphql_url, "apiKey": api_key, "source": "user"})
    page.add_init_script(f"localStorage.setItem('asyncml.dashboard.settings', {json.dumps(settings)})")
    base = graphql_url.removesuffix("/graphql")
    page.goto(f"{base}{path}#apiKey={api_key}")
