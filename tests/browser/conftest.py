"""Fixtures for browser tests: a live portal server, Chromium, a page per test.

- ``live_server`` (session): the session ``app`` (same database as the test body,
  so factories made in a test are visible to the server) served by a threaded
  werkzeug server on 127.0.0.1. ``live_server.url`` is "http://127.0.0.1:PORT".
  Exceptions raised inside the app are collected and fail the test that caused them.
- ``serve`` (function): ``serve(wsgi_app_or_html, host="localhost")`` starts another
  server (e.g. a partner page on a different origin) and returns it; ``.url`` as above.
  Pass a WSGI callable, an HTML string (served at every path) or a dict
  {path: html}. Stopped after the test.
- ``browser`` (session): Chromium from /usr/bin/chromium, headless. Missing Chromium
  skips the browser tests, unless REQUIRE_BROWSER=1 (CI), which makes it a failure.
- ``context`` / ``page`` (function): a fresh browser context per test (no shared
  cookies), default timeout 10 s (also for ``expect``). Uncaught JavaScript errors and Content Security
  Policy violations (other than frame-ancestors refusals) fail the test.
- ``login(page, live_server, email, password=factories.PASSWORD)``: signs in through
  the login form.
"""
from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright
from werkzeug.serving import make_server

from .. import factories
from ..live import QuietHandler, Recorder

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TIMEOUT_MS = 10_000


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: runs in Chromium through Playwright (tests/browser)")


# --------------------------------------------------------------------------- servers


class LiveServer:
    """A threaded werkzeug server in a background thread."""

    def __init__(self, wsgi_app, host: str = "127.0.0.1"):
        self.recorder = Recorder(wsgi_app)
        self.server = make_server(host, 0, self.recorder, threaded=True, request_handler=QuietHandler)
        self.host = host
        self.port = self.server.server_port
        self.url = f"http://{host}:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, name=f"live-server-{self.port}", daemon=True)
        self.thread.start()

    @property
    def errors(self) -> list[str]:
        return self.recorder.errors

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def _html_app(pages):
    """A WSGI app serving one HTML string at every path, or a {path: html} dict."""

    def app(environ, start_response):
        path = environ.get("PATH_INFO") or "/"
        body = pages if isinstance(pages, str) else pages.get(path)
        if body is None:
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found"]
        data = body.encode()
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(data)))])
        return [data]

    return app


def start_server(wsgi_app_or_html, host: str = "localhost") -> LiveServer:
    target = wsgi_app_or_html if callable(wsgi_app_or_html) else _html_app(wsgi_app_or_html)
    return LiveServer(target, host)


@pytest.fixture(scope="session")
def live_server(app):
    server = LiveServer(app, "127.0.0.1")
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _server_errors(live_server):
    """A request that raised inside the app fails the test that made it."""
    live_server.errors.clear()
    yield
    errors, live_server.errors[:] = list(live_server.errors), []
    if errors:
        pytest.fail("The live server raised:\n" + "\n".join(errors), pytrace=False)


@pytest.fixture
def serve():
    servers: list[LiveServer] = []

    def _serve(wsgi_app_or_html, host: str = "localhost") -> LiveServer:
        server = start_server(wsgi_app_or_html, host)
        servers.append(server)
        return server

    yield _serve
    for server in servers:
        server.stop()


# --------------------------------------------------------------------------- browser


@pytest.fixture(scope="session")
def _playwright():
    expect.set_options(timeout=TIMEOUT_MS)
    pw = sync_playwright().start()
    yield pw
    pw.stop()


def _unavailable(reason: str):
    if os.environ.get("REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason} (REQUIRE_BROWSER=1 is set, so browser tests must run)", pytrace=False)
    pytest.skip(f"{reason}; install Debian's chromium package to run the browser tests")


@pytest.fixture(scope="session")
def browser(request):
    if not os.path.exists(CHROMIUM):
        _unavailable(f"Chromium not found at {CHROMIUM}")
    pw = request.getfixturevalue("_playwright")
    try:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    except Exception as exc:  # a broken install is the same as a missing one for a developer
        _unavailable(f"Chromium at {CHROMIUM} did not start: {exc}")
    yield b
    b.close()


@pytest.fixture
def context(browser):
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    ctx.set_default_timeout(TIMEOUT_MS)
    ctx.set_default_navigation_timeout(TIMEOUT_MS)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context):
    pg = context.new_page()
    problems: list[str] = []
    pg.on("pageerror", lambda exc: problems.append(f"JavaScript error: {exc}"))

    def on_console(msg):
        # frame-ancestors refusals are the expected outcome of framing tests, not a page fault.
        if msg.type == "error" and "Content Security Policy" in msg.text and "frame-ancestors" not in msg.text:
            problems.append(f"CSP violation: {msg.text}")

    pg.on("console", on_console)
    yield pg
    if problems:
        pytest.fail("The page reported:\n" + "\n".join(problems), pytrace=False)


def login(page, live_server, email: str, password: str = factories.PASSWORD) -> None:
    """Sign in through the login form and wait until the portal is shown."""
    page.goto(f"{live_server.url}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/login" not in url)
    page.get_by_role("button", name="Log out").wait_for()


def mark_window(page) -> None:
    """Set a marker on window; ``assert_no_reload`` checks it survived (no full page load)."""
    page.evaluate("window.__noReload = true")


def assert_no_reload(page) -> None:
    assert page.evaluate("window.__noReload === true"), "the page was fully reloaded"
