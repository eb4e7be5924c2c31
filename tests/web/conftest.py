"""Browser tests: Debian's Chromium driven by Playwright, against a real `erpsync web` and a
real mock ERP server.

Never `playwright install`: the browser is the system's (`apt-get install chromium`; .ci/run
does it). Without it these tests skip on a developer's machine and fail under CI=true.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from helpers import MOCK_PASSWORD
from helpers.mock_server import MockServer, stop_process
from helpers.web import (
    CHROMIUM_ARGS,
    DemoData,
    WebHome,
    WebServer,
    fill_demo_data,
    find_chromium,
    start_web_server,
)
from playwright.sync_api import Browser, BrowserType, Playwright, expect, sync_playwright

# A page waits for the real connector behind it; on a loaded two-core machine a test round trip
# can exceed Playwright's 5 s default (and 20 s was seen to fail at load 11-14), which would fail
# a correct page. Waiting longer never lets a wrong page pass: every expectation still has to
# come true.
expect.set_options(timeout=45_000)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """pytest-playwright's launch arguments, pointed at Debian's Chromium."""
    executable = find_chromium()
    if executable is None:
        message = "Chromium is not installed (apt-get install chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message}; browser tests must run in CI", pytrace=False)
        pytest.skip(message)
    return {
        **browser_type_launch_args,
        "executable_path": executable,
        "args": CHROMIUM_ARGS,
        "headless": True,
    }


# pytest-playwright keeps Playwright (and its event loop, which the sync API leaves running in
# the main thread) for the whole session; then every later test that calls asyncio.run() fails.
# These overrides keep it to one test module: started before its first browser test, stopped
# after its last.


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as started:
        yield started


@pytest.fixture(scope="module")
def browser_type(playwright: Playwright, browser_name: str) -> BrowserType:
    found: BrowserType = getattr(playwright, browser_name)
    return found


@pytest.fixture(scope="module")
def launch_browser(
    browser_type_launch_args: dict[str, Any], browser_type: BrowserType
) -> Callable[..., Browser]:
    def launch(**kwargs: Any) -> Browser:
        return browser_type.launch(**{**browser_type_launch_args, **kwargs})

    return launch


@pytest.fixture(scope="module")
def browser(launch_browser: Callable[..., Browser]) -> Iterator[Browser]:
    started = launch_browser()
    yield started
    started.close()


@pytest.fixture(scope="module")
def browser_context_args() -> dict[str, Any]:
    """Replaces pytest-playwright's (which asks for the session-wide Playwright)."""
    return {"viewport": {"width": 1280, "height": 900}}


@pytest.fixture(scope="module")
def web_home(tmp_path_factory: pytest.TempPathFactory) -> WebHome:
    home = WebHome(tmp_path_factory.mktemp("web-browser") / "home")
    home.add_admin()
    return home


@pytest.fixture(scope="module")
def demo_data(web_home: WebHome, mock_server: MockServer) -> DemoData:
    return fill_demo_data(web_home, mock_server.url, mock_server.token_file, MOCK_PASSWORD)


@pytest.fixture(scope="module")
def web(web_home: WebHome, demo_data: DemoData) -> Iterator[WebServer]:
    """A real `erpsync web` (uvicorn) on a free loopback port, with the demo data."""
    server = start_web_server(web_home)
    try:
        yield server
    finally:
        stop_process(server.process)
