"""The dashboard in Debian's Chromium against a real `asyncml serve`: live jobs, CSV upload, restart."""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.browser import CHROMIUM
from tests.browser.live_server import LiveServer

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no {CHROMIUM}: `make browser-deps` installs it"),
]

DASHBOARD = Path(__file__).resolve().parents[2] / "client_examples" / "dashboard"
LIVE = 15_000  # ms: how long a status may take to arrive over the subscription
IRIS = ["5.1,3.5,1.4,0.2", "6.7,3.0,5.2,2.3", "5.9,3.0,4.2,1.5"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with LiveServer(tmp_path_factory.mktemp("serve") / "data", batch_size=500, batch_window=0.3) as s:
        yield s


@pytest.fixture(scope="module")
def static_site() -> Iterator[str]:
    """dashboard/ on a plain static file server: another origin, no /config.json, as on S3."""
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(DASHBOARD))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/index.html"
    httpd.shutdown()
    httpd.server_close()


def printed_link(server: LiveServer) -> str:
    """The dashboard link `asyncml serve` printed: the key rides in the URL fragment."""
    found = re.findall(rf"{re.escape(server.base_url)}/#apiKey=\S+", server.log.read_text())
    assert found, f"no dashboard link in the output:\n{server.log.read_text()}"
    return str(found[-1])


@pytest.fixture(scope="module")
def page(context: BrowserContext, server: LiveServer) -> Page:
    page = context.new_page()
    page.goto(printed_link(server))
    expect(page.locator("#conn")).to_have_text(re.compile("Live"), timeout=LIVE)
    # Set once: if the page ever reloads, it is gone.
    page.evaluate("window.__sameDocument = true")
    return page


def test_the_printed_link_brings_it_live_and_takes_the_key_out_of_the_address_bar(
    page: Page, server: LiveServer
) -> None:
    assert printed_link(server) == f"{server.base_url}/#apiKey={server.api_key}"
    # The page fixture opened the link and went live; the key is no longer in the address or history.
    assert page.url == server.base_url + "/"
    assert page.evaluate("location.hash") == ""
    assert server.api_key not in page.evaluate("location.href")


def test_without_the_link_it_asks_for_the_key_and_says_where_it_is(
    context: BrowserContext, server: LiveServer
) -> None:
    page = context.new_page()
    try:
        page.goto(server.base_url + "/healthz")  # same origin, no dashboard: forget what was saved
        page.evaluate("localStorage.clear()")
        page.goto(server.base_url + "/")
        expect(page.locator("#settings")).to_be_visible()
        expect(page.locator("#conn-text")).to_have_text("Not connected")
        expect(page.locator('input[name="graphqlUrl"]')).to_have_value(server.graphql_url)
        expect(page.locator('input[name="apiKey"]')).to_have_value("")
        expect(page.locator("#settings-note")).to_contain_text(".asyncml/api_key")
        expect(page.locator("#settings-note")).to_contain_text("terminal")
        page.fill('input[name="apiKey"]', server.api_key)
        page.click("#settings-form button[type=submit]")
        expect(page.locator("#conn-text")).to_have_text("Live", timeout=LIVE)
    finally:
        page.close()


def test_settings_come_from_the_serving_server(page: Page, server: LiveServer) -> None:
    page.click("#settings-toggle")
    url = page.locator('input[name="graphqlUrl"]')
    expect(url).to_have_value(server.graphql_url)
    expect(page.locator("#realtime-url")).to_have_text(f"ws://127.0.0.1:{server.port}/graphql/realtime")
    # Typing an AppSync URL shows the real-time endpoint the page would dial (not saved).
    url.fill("https://abcdefghijklmnopqrstuvwxyz.appsync-api.eu-west-1.amazonaws.com/graphql")
    expect(page.locator("#realtime-url")).to_have_text(
        "wss://abcdefghijklmnopqrstuvwxyz.appsync-realtime-api.eu-west-1.amazonaws.com/graphql"
    )
    url.fill(server.graphql_url)
    page.click("#settings-toggle")


def test_a_submitted_job_reaches_completed_without_reload(page: Page) -> None:
    page.fill("#payload", IRIS[0])
    page.click("#submit-form button[type=submit]")
    expect(page.locator("#submit-msg")).to_have_text(re.compile(r"Submitted job \w{8}"))
    row = page.locator("#jobs tbody tr").first
    expect(row.locator(".badge")).to_have_text("COMPLETED", timeout=LIVE)
    expect(row.locator(".outcome")).to_have_text(re.compile(r"^setosa,"))
    expect(row.locator(".ttc")).to_have_text(re.compile(r"\d s$"))
    assert page.evaluate("window.__sameDocument") is True

    row.click()  # the detail view
    detail = page.locator("#detail")
    expect(detail).to_be_visible()
    expect(detail.locator("dd").nth(2)).to_have_text(IRIS[0])
    expect(detail.locator(".badge")).to_have_text("COMPLETED")
    page.keyboard.press("Escape")
    expect(detail).to_be_hidden()


def test_an_uploaded_200_row_csv_fills_one_batch_to_200_of_200(page: Page, tmp_path: Path) -> None:
    csv_file = tmp_path / "iris-200.csv"
    csv_file.write_text("\n".join(IRIS[i % 3] for i in range(200)) + "\n")
    page.set_input_files("#csv-file", str(csv_file))
    page.click("#upload-form button[type=submit]")
    upload = page.locator("#uploads .upload").first
    expect(upload).to_contain_text("200 accepted · 0 refused")
    batch = page.locator("#batches li.batch", has_text="200 total")
    expect(batch.locator(".fraction")).to_have_text("200/200", timeout=LIVE)
    expect(batch.locator(".counts")).to_have_text("200 completed · 0 failed · 200 total")
    expect(batch.locator(".badge")).to_have_text("COMPLETED")
    expect(upload.locator(".fraction")).to_have_text("200/200")
    assert page.evaluate("window.__sameDocument") is True


def test_refused_rows_are_shown_beside_their_errors(page: Page, tmp_path: Path) -> None:
    csv_file = tmp_path / "mixed.csv"
    csv_file.write_text(f'{IRIS[0]}\n"unterminated\n{IRIS[1]}\n')
    page.set_input_files("#csv-file", str(csv_file))
    page.click("#upload-form button[type=submit]")
    upload = page.locator("#uploads .upload").first
    expect(upload).to_contain_text("2 accepted · 1 refused")
    refused = upload.locator("table.refused tbody tr")
    expect(refused).to_have_count(1)
    expect(refused.locator("td").nth(0)).to_have_text("2")
    expect(refused.locator("td").nth(1)).to_have_text('"unterminated')
    expect(refused.locator("td").nth(2)).to_contain_text("inputs[1].payload")


def test_the_status_filter_shows_only_that_status(page: Page) -> None:
    page.click('#filters button[data-status="COMPLETED"]')
    expect(page.locator('#jobs tbody tr:not([hidden])[data-status="COMPLETED"]').first).to_be_visible()
    expect(page.locator('#jobs tbody tr:not([hidden]):not([data-status="COMPLETED"])')).to_have_count(0)
    page.click('#filters button[data-status="ALL"]')


def test_after_a_server_restart_it_reconnects_and_keeps_updating(page: Page, server: LiveServer) -> None:
    server.stop()
    expect(page.locator("#conn")).to_have_attribute("data-state", "retrying", timeout=LIVE)
    expect(page.locator("#conn")).to_contain_text("Disconnected")
    server.start()
    expect(page.locator("#conn")).to_have_attribute("data-state", "live", timeout=LIVE)

    # Submitted from outside the page: only the re-made subscription can bring it in.
    data = server.graphql("mutation ($p: String!) { submitJob(input: {payload: $p}) { jobId } }", p=IRIS[2])
    job_id = data["submitJob"]["jobId"]  # type: ignore[index]
    row = page.locator(f'#jobs tbody tr[data-job-id="{job_id}"]')
    expect(row.locator(".badge")).to_have_text("COMPLETED", timeout=LIVE)
    expect(row.locator(".outcome")).to_have_text(re.compile(r"^versicolor,"))
    # The totals were read again on reconnect and moved by the new job's events: the server's own.
    counts = server.graphql("query { jobCounts { total completed } }")["jobCounts"]
    expect(page.locator('#totals .tile[data-status="ALL"] .n')).to_have_text(f"{counts['total']:,}")  # type: ignore[index]
    assert page.evaluate("window.__sameDocument") is True


def test_deployed_as_static_files_it_connects_with_the_url_and_key_typed_in(
    context: BrowserContext, server: LiveServer, static_site: str
) -> None:
    page = context.new_page()
    try:
        page.goto(static_site)
        # No config.json on a static host: the settings open, nothing is connected.
        expect(page.locator("#settings")).to_be_visible()
        expect(page.locator("#conn-text")).to_have_text("Not connected")
        page.fill('input[name="graphqlUrl"]', server.graphql_url)
        page.fill('input[name="apiKey"]', server.api_key)
        page.click("#settings-form button[type=submit]")
        expect(page.locator("#conn-text")).to_have_text("Live", timeout=LIVE)
        page.fill("#payload", IRIS[1])
        page.click("#submit-form button[type=submit]")
        expect(page.locator("#jobs tbody tr").first.locator(".badge")).to_have_text("COMPLETED", timeout=LIVE)
        # Kept in the browser: a reload connects by itself.
        page.reload()
        expect(page.locator("#conn-text")).to_have_text("Live", timeout=LIVE)
        expect(page.locator("#settings")).to_be_hidden()
    finally:
        page.close()


def test_it_fits_a_phone_screen(page: Page) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    try:
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the page is {width} px wide on a 390 px screen"
        expect(page.locator("#payload")).to_be_visible()
        expect(page.locator("#jobs")).to_be_visible()
    finally:
        page.set_viewport_size({"width": 1360, "height": 900})
