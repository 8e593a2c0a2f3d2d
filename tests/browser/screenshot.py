"""Writes the dashboard screenshots in docs/, against a real `asyncml serve`:

    .venv/bin/python -m tests.browser.screenshot [OUT_DIR]

dashboard.png (a laptop), dashboard-phone.png (390 px), dashboard-batch.png (a batch's page) and
dashboard-charts.png (the charts after a minute of uneven load). Not a test (the PNGs are committed;
regenerating them on every run would churn them), but it drives the same server and browser
helpers as the browser tests. Takes about two minutes.
"""

from __future__ import annotations

import math
import re
import sys
import tempfile
import threading
import time
from pathlib import Path

from playwright.sync_api import BrowserContext, Page, expect, sync_playwright

from tests.browser.browser import connect, open_dashboard
from tests.browser.live_server import LiveServer

ROOT = Path(__file__).resolve().parents[2]
IRIS = ["5.1,3.5,1.4,0.2", "6.7,3.0,5.2,2.3", "5.9,3.0,4.2,1.5", "6.3,2.9,5.6,1.8", "4.9,3.1,1.5,0.1"]
SUBMIT = "mutation ($p: String!) { submitJob(input: {payload: $p}) { jobId } }"
SUBMIT_MANY = "mutation ($i: [SubmitJobInput!]!) { submitJobs(inputs: $i) { jobId } }"
LOAD_SECONDS = 70


def live_page(ctx: BrowserContext, server: LiveServer) -> Page:
    page = ctx.new_page()
    connect(page, server.graphql_url, server.api_key)
    expect(page.locator("#conn-text")).to_have_text("Live", timeout=15_000)
    return page


def uneven_load(server: LiveServer, seconds: float) -> None:
    """Waves of submissions, 100 to 900 jobs a second, so every chart has something to show."""
    start = time.monotonic()
    n = 0
    while (t := time.monotonic() - start) < seconds:
        rate = 500 + 400 * math.sin(t / 9)
        inputs = [{"payload": IRIS[(n + i) % len(IRIS)]} for i in range(int(rate / 4))]
        server.graphql(SUBMIT_MANY, i=inputs)
        n += len(inputs)
        time.sleep(0.25)


def main(out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory() as tmp,
        LiveServer(Path(tmp) / "data", batch_window=3.0) as server,
        sync_playwright() as p,
    ):
        ctx = open_dashboard(p, Path(tmp) / "profile", width=1360, height=860)
        page = live_page(ctx, server)

        # The charts: a minute of uneven load, watched from the start.
        load = threading.Thread(target=uneven_load, args=(server, LOAD_SECONDS))
        load.start()
        load.join()
        page.wait_for_timeout(4000)  # the last batches finish and a chart repaint
        page.locator("#charts-card").scroll_into_view_if_needed()
        page.locator("#charts-card").screenshot(path=str(out_dir / "dashboard-charts.png"))

        # A file of 120 flowers with one broken line, and a few single jobs, all run to the end.
        rows = [IRIS[i % len(IRIS)] for i in range(120)]
        rows.insert(41, '"5.0,3.4')
        csv_file = Path(tmp) / "flowers.csv"
        csv_file.write_text("\n".join(rows) + "\n")
        page.evaluate("window.scrollTo(0, 0)")
        page.set_input_files("#csv-file", str(csv_file))
        page.click("#upload-form button[type=submit]")
        for payload in IRIS[:3]:
            server.graphql(SUBMIT, p=payload)
        expect(page.locator("#uploads .fraction").first).to_have_text("120/120", timeout=15_000)

        # Then jobs in flight: one cancelled, the rest waiting for the batch window.
        time.sleep(2)
        ids = [server.graphql(SUBMIT, p=payload)["submitJob"]["jobId"] for payload in IRIS[1:]]  # type: ignore[index]
        server.graphql("mutation ($id: ID!) { cancelJob(jobId: $id) { jobId } }", id=ids[-1])
        page.fill("#payload", IRIS[0])
        page.click("#submit-form button[type=submit]")
        expect(page.locator("#submit-msg")).to_have_text(re.compile("Submitted"))
        page.wait_for_timeout(1100)  # a paint and a /healthz reading
        page.screenshot(path=str(out_dir / "dashboard.png"))

        # A batch's page, once the waiting jobs are done.
        expect(page.locator("#queue-seal")).to_have_text("no batch pending", timeout=15_000)
        page.locator("#batches li.batch", has_text="500/500").first.locator("a.id").click()
        expect(page.locator("#batch-summary .badge")).to_have_text("COMPLETED", timeout=15_000)
        page.wait_for_timeout(500)
        page.screenshot(path=str(out_dir / "dashboard-batch.png"))
        ctx.close()

        phone = open_dashboard(p, Path(tmp) / "phone-profile", width=390, height=844)
        page = live_page(phone, server)
        expect(page.locator("#jobs tbody tr").first).to_be_visible()
        page.wait_for_timeout(1500)
        # From the top to the first job cards, past the submit form.
        page.screenshot(
            path=str(out_dir / "dashboard-phone.png"),
            full_page=True,
            clip={"x": 0, "y": 0, "width": 390, "height": 1640},
        )
        phone.close()
    print(
        f"wrote dashboard.png, dashboard-phone.png, dashboard-batch.png and dashboard-charts.png to {out_dir}"
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs")
