"""Writes docs/dashboard.png: the dashboard with live jobs, against a real `asyncml serve`.

    .venv/bin/python -m tests.browser.screenshot [OUT.png]

Not a test (the PNG is committed; regenerating it on every run would churn it), but it drives the
same server and browser helpers as the browser tests.
"""

from __future__ import annotations

import re
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

from tests.browser.browser import open_dashboard
from tests.browser.live_server import LiveServer

ROOT = Path(__file__).resolve().parents[2]
IRIS = ["5.1,3.5,1.4,0.2", "6.7,3.0,5.2,2.3", "5.9,3.0,4.2,1.5", "6.3,2.9,5.6,1.8", "4.9,3.1,1.5,0.1"]
SUBMIT = "mutation ($p: String!) { submitJob(input: {payload: $p}) { jobId } }"


def main(out: Path) -> None:
    with (
        tempfile.TemporaryDirectory() as tmp,
        LiveServer(Path(tmp) / "data", batch_window=1.5) as server,
        sync_playwright() as p,
    ):
        ctx = open_dashboard(p, Path(tmp) / "profile", width=1360, height=860)
        page = ctx.new_page()
        page.goto(f"{server.base_url}/#apiKey={server.api_key}")  # the link `asyncml serve` prints
        expect(page.locator("#conn-text")).to_have_text("Live", timeout=15_000)

        # A file of 120 flowers with one broken line, and a few single jobs, all run to the end.
        rows = [IRIS[i % len(IRIS)] for i in range(120)]
        rows.insert(41, '"5.0,3.4')
        csv_file = Path(tmp) / "flowers.csv"
        csv_file.write_text("\n".join(rows) + "\n")
        page.set_input_files("#csv-file", str(csv_file))
        page.click("#upload-form button[type=submit]")
        for payload in IRIS[:3]:
            server.graphql(SUBMIT, p=payload)
        expect(page.locator("#batches .fraction").first).to_have_text("123/123", timeout=15_000)

        # Then jobs in flight: one cancelled, the rest waiting for the batch window.
        time.sleep(0.5)
        ids = [server.graphql(SUBMIT, p=payload)["submitJob"]["jobId"] for payload in IRIS[1:]]  # type: ignore[index]
        server.graphql("mutation ($id: ID!) { cancelJob(jobId: $id) { jobId } }", id=ids[-1])
        page.fill("#payload", IRIS[0])
        page.click("#submit-form button[type=submit]")
        expect(page.locator("#submit-msg")).to_have_text(re.compile("Submitted"))
        page.wait_for_timeout(300)  # one paint
        out.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(out))
        ctx.close()
    print(f"wrote {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "dashboard.png")
