"""The dashboard's Retry button in Debian's Chromium: a FAILED job is queued again as attempt 2."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from tests.browser.browser import CHROMIUM, open_dashboard
from tests.browser.live_server import LiveServer

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no {CHROMIUM}: `make browser-deps` installs it"),
]
LIVE = 15_000  # ms: how long a status may take to arrive over the subscription
GET = "query($jobId: ID!) { getJob(jobId: $jobId) { status attempt error } }"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    # The demo model answers ERROR for a record that is not four numbers; with it, that is FAILED.
    with LiveServer(tmp_path_factory.mktemp("serve") / "data", batch_size=500, batch_window=0.3) as s:
        yield s


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory, server: LiveServer) -> Iterator[Page]:
    with sync_playwright() as p:
        ctx = open_dashboard(p, tmp_path_factory.mktemp("chromium-profile"))
        page = ctx.new_page()
        page.goto(f"{server.base_url}/#apiKey={server.api_key}")  # the link `asyncml serve` prints
        expect(page.locator("#conn")).to_have_text(re.compile("Live"), timeout=LIVE)
        yield page
        ctx.close()


def test_a_failed_job_offers_retry_and_runs_again_as_attempt_2(page: Page, server: LiveServer) -> None:
    page.fill("#payload", "not,a,flower")
    page.click("#submit-form button[type=submit]")
    row = page.locator("#jobs tbody tr").first
    expect(row.locator(".badge")).to_have_text("FAILED", timeout=LIVE)
    job_id = row.get_attribute("data-job-id")
    assert job_id
    row.click()
    detail = page.locator("#detail")
    expect(detail.locator("#detail-cancel")).to_be_hidden()
    retry = detail.locator("#detail-retry")
    expect(retry).to_be_visible()
    retry.click()
    expect(detail.locator("#detail-msg")).to_have_text("Queued again: attempt 2")
    expect(retry).to_be_hidden()
    # The demo model fails it again: the dashboard follows the new attempt to its end, live.
    expect(detail.locator(".badge")).to_have_text("FAILED", timeout=LIVE)
    expect(retry).to_be_visible()
    assert server.graphql(GET, jobId=job_id)["getJob"] == {"status": "FAILED", "attempt": 2, "error": "ERROR"}


def test_a_completed_job_offers_no_retry(page: Page) -> None:
    page.keyboard.press("Escape")
    page.fill("#payload", "5.1,3.5,1.4,0.2")
    page.click("#submit-form button[type=submit]")
    row = page.locator("#jobs tbody tr").first
    expect(row.locator(".badge")).to_have_text("COMPLETED", timeout=LIVE)
    row.click()
    expect(page.locator("#detail-retry")).to_be_hidden()
