"""GraphiQL at GET /graphql in Debian's Chromium with every non-loopback request refused: it loads,
fills in the API key, and runs a query."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, Route, expect, sync_playwright

from tests.browser.browser import CHROMIUM, open_dashboard
from tests.browser.live_server import LiveServer

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no {CHROMIUM}: `make browser-deps` installs it"),
]

LOADED = 20_000  # ms: a 3.5 MB script parsed on a loaded 2-core machine
QUERY = "{ getJob(jobId: $ID) { jobId status payload } }"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with LiveServer(tmp_path_factory.mktemp("serve") / "data") as s:
        yield s


@pytest.fixture
def offline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[BrowserContext, list[str]]]:
    """A browser that may reach 127.0.0.1 only; the refused URLs are kept for the test to check."""
    refused: list[str] = []

    def only_loopback(route: Route) -> None:
        url = route.request.url
        if url.startswith(("http://127.0.0.1:", "ws://127.0.0.1:")):
            route.continue_()
        else:
            refused.append(url)
            route.abort()

    with sync_playwright() as p:
        ctx = open_dashboard(p, tmp_path_factory.mktemp("chromium-profile"))
        ctx.route("**/*", only_loopback)
        yield ctx, refused
        ctx.close()


def run_query(page: Page, query: str) -> str:
    """Type the query in GraphiQL's editor, run it, and return the response pane's text."""
    editor = page.locator(".graphiql-query-editor .CodeMirror").first
    expect(editor).to_be_visible(timeout=LOADED)
    set_value = "q => document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.setValue(q)"
    page.evaluate(set_value, query)
    page.locator("button.graphiql-execute-button").click()
    response = page.locator(".graphiql-response .CodeMirror-code")
    expect(response).to_contain_text('"data"', timeout=LOADED)
    return response.inner_text()


def wait_for_a_subscriber(server: LiveServer, page: Page) -> None:
    """GraphiQL re-parses the editor ~100 ms after a change; run before that, it still takes the
    document for a query and POSTs it, which the server refuses with UnsupportedOperation. Run
    again then, as a user would."""
    deadline = time.monotonic() + LOADED / 1000
    while httpx.get(f"{server.base_url}/healthz", timeout=5).json()["subscribers"]["onJobsMoved"] < 1:
        shown = page.locator(".graphiql-response").inner_text()
        assert time.monotonic() < deadline, f"GraphiQL never subscribed; it shows: {shown}"
        run = page.locator('button.graphiql-execute-button[aria-label^="Execute"]')  # not "Stop"
        if "UnsupportedOperation" in shown and run.count():
            run.click()
        time.sleep(0.1)


def submit(server: LiveServer, payload: str) -> str:
    data = server.graphql("mutation ($p: String!) { submitJob(input: {payload: $p}) { jobId } }", p=payload)
    job = data["submitJob"]
    assert isinstance(job, dict)
    return str(job["jobId"])


def test_with_the_key_in_the_fragment_it_runs_a_query_offline(
    offline: tuple[BrowserContext, list[str]], server: LiveServer
) -> None:
    ctx, refused = offline
    job_id = submit(server, "5.1,3.5,1.4,0.2")
    page = ctx.new_page()
    page.goto(f"{server.graphql_url}#apiKey={server.api_key}")

    answer = run_query(page, QUERY.replace("$ID", f'"{job_id}"'))

    assert job_id in answer and "5.1,3.5,1.4,0.2" in answer, answer
    assert "#" not in page.url  # the key left the address bar
    editors = "[...document.querySelectorAll('.graphiql-editor-tool .CodeMirror')]"
    editors += ".map(e => e.CodeMirror.getValue())"
    assert any(server.api_key in text for text in page.evaluate(editors))  # shown in the headers tab
    assert refused == [], refused


def test_it_takes_the_key_the_dashboard_saved(
    offline: tuple[BrowserContext, list[str]], server: LiveServer
) -> None:
    ctx, refused = offline
    job_id = submit(server, "6.7,3.0,5.2,2.3")
    page = ctx.new_page()
    page.goto(f"{server.base_url}/healthz")  # same origin, so the page can write the dashboard's settings
    settings = {"graphqlUrl": server.graphql_url, "apiKey": server.api_key, "source": "server"}
    page.evaluate("s => localStorage.setItem('asyncml.dashboard.settings', JSON.stringify(s))", settings)
    page.goto(server.graphql_url)

    answer = run_query(page, QUERY.replace("$ID", f'"{job_id}"'))

    assert job_id in answer, answer
    assert refused == [], refused


def test_without_a_key_the_server_refuses_and_graphiql_shows_why(
    offline: tuple[BrowserContext, list[str]], server: LiveServer
) -> None:
    ctx, _ = offline
    page = ctx.new_page()
    page.goto(server.graphql_url)
    editor = page.locator(".graphiql-query-editor .CodeMirror").first
    expect(editor).to_be_visible(timeout=LOADED)
    page.locator("button.graphiql-execute-button").click()
    expect(page.locator(".graphiql-response")).to_contain_text("UnauthorizedException", timeout=LOADED)


def test_a_subscription_run_from_graphiql_streams_updates_over_the_websocket(
    offline: tuple[BrowserContext, list[str]], server: LiveServer
) -> None:
    ctx, refused = offline
    page = ctx.new_page()
    page.goto(f"{server.graphql_url}#apiKey={server.api_key}")
    editor = page.locator(".graphiql-query-editor .CodeMirror").first
    expect(editor).to_be_visible(timeout=LOADED)
    set_value = "q => document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.setValue(q)"
    page.evaluate(set_value, "subscription { onJobsMoved(status: COMPLETED) { status jobIds } }")
    page.locator("button.graphiql-execute-button").click()
    wait_for_a_subscriber(server, page)  # so the job below cannot finish before GraphiQL listens
    job_id = submit(server, "5.9,3.0,4.2,1.5")
    response = page.locator(".graphiql-response .CodeMirror-code")
    expect(response).to_contain_text(job_id, timeout=LOADED)
    expect(response).to_contain_text("COMPLETED")
    assert refused == [], refused
