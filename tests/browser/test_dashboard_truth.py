"""The dashboard shows the server's truth: totals, paging, search, batch pages, failures, queue, charts."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.browser import CHROMIUM, connect
from tests.browser.live_server import LiveServer

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no {CHROMIUM}: `make browser-deps` installs it"),
]

LIVE = 30_000  # ms: generous, the machine may be loaded; nothing here measures speed
JOBS = 3000
IRIS = ["5.1,3.5,1.4,0.2", "6.7,3.0,5.2,2.3", "5.9,3.0,4.2,1.5"]
SUBMIT = "mutation ($i: [SubmitJobInput!]!) { submitJobs(inputs: $i) { jobId } }"
COUNTS = "query { jobCounts { queued batched processing completed failed cancelled total } }"
# What the emulator records, as SageMaker's log line says it (the path to the batch file comes first).
# The emulator adds the model's own message (the body of its 500) to SageMaker's words.
REASON = "Bad HTTP status received from algorithm: 500 (feature 3 is out of range) (after 3 retries)"
TILES = ["ALL", "QUEUED", "BATCHED", "PROCESSING", "COMPLETED", "FAILED", "CANCELLED"]


class FailingModel(BaseHTTPRequestHandler):
    """A model that is up (/ping) but answers every record with a 500 and a reason."""

    protocol_version = "HTTP/1.1"  # keep-alive, as the emulator's client expects

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()

    def do_POST(self) -> None:
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            while (size := int(self.rfile.readline().split(b";")[0], 16)) > 0:
                self.rfile.read(size + 2)
            self.rfile.readline()
        else:
            self.rfile.read(int(self.headers.get("content-length") or 0))
        body = b"feature 3 is out of range"
        self.send_response(500)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with LiveServer(tmp_path_factory.mktemp("truth") / "data", batch_size=500, batch_window=0.3) as s:
        ids: list[str] = []
        for start in range(0, JOBS, 500):
            inputs = [{"payload": IRIS[i % 3]} for i in range(start, start + 500)]
            ids += [j["jobId"] for j in s.graphql(SUBMIT, i=inputs)["submitJobs"]]  # type: ignore[index]
        s.first_job_id = ids[0]  # type: ignore[attr-defined]
        yield s


@pytest.fixture(scope="module")
def failing_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    model = ThreadingHTTPServer(("127.0.0.1", 0), FailingModel)
    threading.Thread(target=model.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{model.server_address[1]}"
    data = tmp_path_factory.mktemp("failing") / "data"
    with LiveServer(data, batch_size=500, batch_window=4.0, model_url=url) as s:
        yield s
    model.shutdown()
    model.server_close()


def open_page(context: BrowserContext, server: LiveServer) -> Page:
    page = context.new_page()
    connect(page, server.graphql_url, server.api_key)
    expect(page.locator("#conn")).to_have_attribute("data-state", "live", timeout=LIVE)
    return page


def settled_counts(server: LiveServer) -> dict[str, int]:
    """jobCounts once nothing is on its way (polled; the pipeline's speed is not under test)."""
    deadline = 120
    for _ in range(deadline * 10):
        counts: dict[str, int] = server.graphql(COUNTS)["jobCounts"]  # type: ignore[assignment]
        if counts["queued"] + counts["batched"] + counts["processing"] == 0:
            return counts
        threading.Event().wait(0.1)
    raise AssertionError(f"jobs still on their way after {deadline} s: {counts}")


def tile(page: Page, status: str) -> str:
    return f'#totals .tile[data-status="{status}"] .n'


def test_totals_equal_the_servers_with_thousands_of_jobs_and_follow_new_ones(
    context: BrowserContext, server: LiveServer
) -> None:
    page = open_page(context, server)
    try:
        counts = settled_counts(server)
        assert counts["total"] == JOBS
        for status in TILES:
            want = counts["total" if status == "ALL" else status.lower()]
            expect(page.locator(tile(page, status))).to_have_text(f"{want:,}", timeout=LIVE)
        # Jobs submitted from elsewhere move the totals through the events.
        server.graphql(SUBMIT, i=[{"payload": IRIS[0]}] * 5)
        after = settled_counts(server)
        expect(page.locator(tile(page, "ALL"))).to_have_text(f"{after['total']:,}", timeout=LIVE)
        expect(page.locator(tile(page, "COMPLETED"))).to_have_text(f"{after['completed']:,}", timeout=LIVE)
        expect(page.locator(tile(page, "QUEUED"))).to_have_text("0", timeout=LIVE)
    finally:
        page.close()


def test_older_jobs_load_page_by_page(context: BrowserContext, server: LiveServer) -> None:
    settled_counts(server)
    page = open_page(context, server)
    try:
        rows = page.locator("#jobs tbody tr:not([hidden])")
        expect(rows).to_have_count(200, timeout=LIVE)
        total = server.graphql(COUNTS)["jobCounts"]["total"]  # type: ignore[index]
        expect(page.locator("#jobs-shown")).to_have_text(f"200 of {total:,} shown")
        page.click("#jobs-more")
        expect(rows).to_have_count(400, timeout=LIVE)
        # Newest first across the page boundary.
        times = rows.evaluate_all("rs => rs.map(r => r.querySelector('.col-submitted').textContent)")
        assert times == sorted(times, reverse=True)
    finally:
        page.close()


def test_a_job_is_found_by_its_id_even_off_the_loaded_pages(
    context: BrowserContext, server: LiveServer
) -> None:
    page = open_page(context, server)
    try:
        first: str = server.first_job_id  # type: ignore[attr-defined]
        expect(page.locator("#jobs tbody tr")).not_to_have_count(0, timeout=LIVE)
        assert page.locator(f'#jobs tbody tr[data-job-id="{first}"]').count() == 0  # oldest: not loaded
        page.fill("#job-search", first)
        page.click("#search-form button")
        expect(page.locator("#detail")).to_be_visible()
        expect(page.locator("#detail dd").first).to_have_text(first)
        page.keyboard.press("Escape")
        page.fill("#job-search", "00000000-0000-4000-8000-000000000000")
        page.click("#search-form button")
        expect(page.locator("#search-msg")).to_have_text(
            "No job 00000000-0000-4000-8000-000000000000 on this server."
        )
    finally:
        page.close()


def test_a_batch_page_shows_its_jobs_counts_and_files(
    context: BrowserContext, server: LiveServer, tmp_path: Path
) -> None:
    settled_counts(server)
    page = open_page(context, server)
    try:
        page.locator("#batches li.batch a.id").first.click()
        expect(page).to_have_url(re.compile(r"#batch=\d{8}-\d{6}-[0-9a-f]{8}$"))
        batch_id = page.url.rsplit("=", 1)[1]
        expect(page.locator("#batch-page")).to_be_visible()
        expect(page.locator("#batch-page-id")).to_have_text(batch_id)
        summary = page.locator("#batch-summary")
        expect(summary.locator(".badge")).to_have_text("COMPLETED", timeout=LIVE)
        jobs = server.graphql(
            "query ($b: ID!) { getBatch(batchId: $b) { jobCount completedCount } }", b=batch_id
        )
        n = jobs["getBatch"]["jobCount"]  # type: ignore[index]
        expect(summary).to_contain_text(f"{n} completed · 0 failed · 0 to go · {n} total")
        rows = page.locator("#jobs tbody tr:not([hidden])")
        expect(rows).to_have_count(min(n, 200), timeout=LIVE)
        batch_cells = rows.evaluate_all("rs => rs.map(r => r.querySelector('.batch-link').title)")
        assert set(batch_cells) == {f"batch {batch_id}"}

        with page.expect_download() as got:
            page.click('[data-download="input"]')
        assert got.value.suggested_filename == f"{batch_id}.csv"
        lines = Path(got.value.path()).read_text().splitlines()
        assert len(lines) == n and {line.split(",", 1)[1] for line in lines} <= set(IRIS)
        with page.expect_download() as got:
            page.click('[data-download="output"]')
        assert got.value.suggested_filename == f"{batch_id}.csv.out"
        assert len(Path(got.value.path()).read_text().splitlines()) == n
        with page.expect_download() as got:
            page.click('[data-download="errors"]')
        assert Path(got.value.path()).read_text() == "jobId,error\n"

        page.click("#batch-page .back")
        expect(page.locator("#batch-page")).to_be_hidden()
        expect(page.locator("#jobs-title")).to_have_text("Jobs")
    finally:
        page.close()


def test_a_batch_page_follows_its_counts_as_they_move(
    context: BrowserContext, failing_server: LiveServer
) -> None:
    page = open_page(context, failing_server)
    try:
        ids = [
            j["jobId"] for j in failing_server.graphql(SUBMIT, i=[{"payload": p} for p in IRIS])["submitJobs"]
        ]  # type: ignore[index]
        # The queue shows the waiting jobs and counts down to the seal (a 4 s window).
        expect(page.locator("#queue-depth")).to_have_text("3 waiting", timeout=LIVE)
        expect(page.locator("#queue-seal")).to_have_text(re.compile(r"^next batch seals in \d\.\d s$"))
        expect(page.locator("#queue-rule")).to_have_text("batches of up to 500 jobs, or after 4 s")
        row = page.locator(f'#jobs tbody tr[data-job-id="{ids[0]}"]')
        expect(row.locator(".batch-link")).not_to_have_text("—", timeout=LIVE)
        row.locator(".batch-link").click()
        expect(page.locator("#batch-page")).to_be_visible()
        summary = page.locator("#batch-summary")
        expect(summary.locator(".badge")).to_have_text("FAILED", timeout=LIVE)
        expect(summary).to_contain_text("0 completed · 3 failed · 0 to go · 3 total")
        expect(page.locator("#queue-seal")).to_have_text("no batch pending")
        with page.expect_download() as got:
            page.click('[data-download="errors"]')
        failed = Path(got.value.path()).read_text().splitlines()
        assert len(failed) == 4 and all(line.endswith(REASON) for line in failed[1:])
    finally:
        page.close()


def test_a_failure_shows_its_reason_in_full_and_its_path_in_the_detail(
    context: BrowserContext, failing_server: LiveServer
) -> None:
    data = failing_server.graphql(SUBMIT, i=[{"payload": IRIS[1]}])
    job_id = data["submitJobs"][0]["jobId"]  # type: ignore[index]
    page = open_page(context, failing_server)
    try:
        row = page.locator(f'#jobs tbody tr[data-job-id="{job_id}"]')
        expect(row.locator(".badge")).to_have_text("FAILED", timeout=LIVE)
        reason = row.locator(".outcome")
        expect(reason).to_contain_text(REASON)
        expect(reason).not_to_contain_text("s3://")
        # Whole: the cell wraps rather than cutting the text off.
        assert reason.evaluate("td => td.scrollWidth <= td.clientWidth")
        row.click()
        detail = page.locator("#detail")
        expect(detail.locator("dd.error")).to_contain_text(REASON)
        where = detail.locator("dt", has_text="Where").locator("xpath=following-sibling::dd[1]")
        expect(where).to_have_text(re.compile(r"^s3://\S+\.csv$"))
        page.keyboard.press("Escape")
    finally:
        page.close()


def test_charts_draw_what_went_through(context: BrowserContext, server: LiveServer) -> None:
    page = open_page(context, server)
    try:
        settled_counts(server)
        server.graphql(SUBMIT, i=[{"payload": IRIS[i % 3]} for i in range(500)])
        settled_counts(server)
        # Throughput and latency come from the events this page saw; batch sizes from the batches.
        expect(page.locator("#chart-throughput")).not_to_have_attribute("data-max", "1", timeout=LIVE)
        expect(page.locator("#chart-latency path.k-p95")).to_have_attribute(
            "d", re.compile(r"^M[\d.]+,[\d.]+")
        )
        expect(page.locator("#chart-batches rect.col")).not_to_have_count(0)
        assert page.locator("#chart-batches").get_attribute("data-max") == "500"
    finally:
        page.close()


def test_on_a_phone_jobs_are_cards_and_batches_one_tap_away(
    context: BrowserContext, server: LiveServer
) -> None:
    page = open_page(context, server)
    page.set_viewport_size({"width": 390, "height": 844})
    try:
        expect(page.locator("#jobs tbody tr").first).to_be_visible(timeout=LIVE)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the page is {width} px wide on a 390 px screen"
        expect(page.locator("#jobs thead")).to_be_hidden()
        outcome = page.locator("#jobs tbody tr").first.locator(".outcome")
        assert outcome.evaluate("td => td.getBoundingClientRect().width") > 300  # a line of its own
        page.click('.jump [data-jump="batches-card"]')
        expect(page.locator("#batches-card")).to_be_in_viewport()
    finally:
        page.close()
