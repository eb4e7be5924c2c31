"""The web admin in a real Chromium: sign-in, CSRF, CSP, the Sync tab, escaping, no secrets."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from helpers.web import (
    ADMIN,
    ADMIN_PASSWORD,
    MARKUP,
    DemoData,
    WebHome,
    WebServer,
    take_screenshots,
)
from playwright.sync_api import Page, Response, expect

pytestmark = pytest.mark.slow  # one web server, a mock server and the CLI per module


@dataclass
class Recorder:
    """Every answer the page received (pages, htmx fragments, static files), and every
    console message and dialog, for the checks that span a whole visit."""

    bodies: dict[str, str] = field(default_factory=dict)
    console: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def on_response(self, response: Response) -> None:
        with contextlib.suppress(Exception):  # a redirect has no body to read
            self.bodies[f"{response.request.method} {response.url}"] = response.text()


@pytest.fixture
def recorded(page: Page) -> Iterator[Recorder]:
    recorder = Recorder()
    page.on("response", recorder.on_response)
    page.on("console", lambda message: recorder.console.append(message.text))

    def on_dialog(dialog: object) -> None:
        recorder.dialogs.append(getattr(dialog, "message", ""))
        dialog.dismiss()  # type: ignore[attr-defined]

    page.on("dialog", on_dialog)
    yield recorder


def sign_in(page: Page, web: WebServer, name: str = ADMIN, password: str = ADMIN_PASSWORD) -> None:
    page.goto(web.url + "/login")
    page.get_by_label("Admin name").fill(name)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def open_sync_tab(page: Page, web: WebServer) -> None:
    sign_in(page, web)
    expect(page).to_have_url(web.url + "/settings/sync")
    # Each connector's status row is loaded by htmx after the page: wait until none is pending.
    expect(page.locator("#connectors tr.status-pending")).to_have_count(0)


def test_the_sync_tab_needs_a_signed_in_admin(page: Page, web: WebServer) -> None:
    page.goto(web.url + "/settings/sync")
    expect(page).to_have_url(re.compile(r"/login\?next=%2Fsettings%2Fsync$"))
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_label("Admin name").fill(ADMIN)
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_label("Password").press("Enter")  # the keyboard alone signs in
    expect(page).to_have_url(web.url + "/settings/sync")
    expect(page.get_by_role("heading", name="Settings and administration")).to_be_visible()
    expect(page.get_by_role("link", name="Sync", exact=True)).to_have_attribute(
        "aria-current", "page"
    )


def test_a_wrong_password_is_refused(page: Page, web: WebServer) -> None:
    sign_in(page, web, password="not the password")
    expect(page.get_by_role("alert")).to_have_text("Wrong name or password.")
    expect(page).to_have_url(web.url + "/login")
    expect(page.get_by_label("Admin name")).to_have_value(ADMIN)
    page.goto(web.url + "/settings/sync")
    expect(page).to_have_url(re.compile(r"/login"))


def test_sign_in_is_rate_limited_per_name(page: Page, web: WebServer, web_home: WebHome) -> None:
    web_home.add_admin("locked-out", "the right password")
    for _ in range(5):
        sign_in(page, web, "locked-out", "a wrong password")
        expect(page.get_by_role("alert")).to_have_text("Wrong name or password.")
    sign_in(page, web, "locked-out", "the right password")
    expect(page.get_by_role("alert")).to_contain_text(
        "Too many failed sign-ins for this name or from this address."
    )
    expect(page).to_have_url(web.url + "/login")


def test_a_post_without_the_csrf_token_is_refused(page: Page, web: WebServer) -> None:
    open_sync_tab(page, web)
    token = page.locator('meta[name="csrf-token"]').get_attribute("content")
    assert token
    # The browser's own cookies go along; only the token is missing or wrong.
    missing = page.request.post(web.url + "/logout", max_redirects=0)
    assert missing.status == 403
    assert "CSRF" in missing.text()
    wrong = page.request.post(
        web.url + "/logout", headers={"X-CSRF-Token": token[::-1]}, max_redirects=0
    )
    assert wrong.status == 403
    page.reload()
    expect(page).to_have_url(web.url + "/settings/sync")  # still signed in
    # The page's own script gives htmx the token, from the meta tag.
    headers = page.locator("body").get_attribute("hx-headers")
    assert headers == '{"X-CSRF-Token":"' + token + '"}'


def test_sign_out(page: Page, web: WebServer) -> None:
    open_sync_tab(page, web)
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("status")).to_have_text("You are signed out.")
    page.goto(web.url + "/settings/sync")
    expect(page).to_have_url(re.compile(r"/login"))


def test_csp_holds_and_no_page_has_inline_script(
    page: Page, web: WebServer, recorded: Recorder
) -> None:
    first = page.goto(web.url + "/login")
    assert first is not None
    csp = first.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert first.headers["x-frame-options"] == "DENY"
    for path in ("/login", "/settings/sync"):
        if path == "/settings/sync":
            open_sync_tab(page, web)
        else:
            page.goto(web.url + path)
        scripts = page.locator("script").evaluate_all(
            "els => els.map(e => ({src: e.getAttribute('src'), text: e.textContent}))"
        )
        assert scripts and all(s["src"] and s["src"].startswith("/static/") for s in scripts)
        assert all(not s["text"].strip() for s in scripts)
        handlers = page.evaluate(
            "() => [...document.querySelectorAll('*')].flatMap(e => [...e.attributes]"
            ".filter(a => a.name.startsWith('on') || a.name === 'style').map(a => a.name))"
        )
        assert handlers == []
    # htmx worked under the policy (the status rows loaded), and nothing was blocked.
    expect(page.locator("#connectors tr.status-ok")).to_have_count(2)
    assert not [m for m in recorded.console if "Content Security Policy" in m], recorded.console


def test_the_sync_tab_lists_connectors_connections_and_apps(
    page: Page, web: WebServer, demo_data: DemoData
) -> None:
    open_sync_tab(page, web)
    connectors = page.locator("#connectors")
    mock_row = connectors.locator("tr", has=page.get_by_role("rowheader", name="mock-erp"))
    expect(mock_row).to_contain_text("http://127.0.0.1:")
    expect(mock_row).to_contain_text("protocol 1.1 · OK")
    expect(mock_row).to_contain_text("Mock ERP")
    expect(mock_row).to_contain_text("remote: mock")
    markup_row = connectors.locator("tr", has=page.get_by_role("rowheader", name=MARKUP))
    expect(markup_row).to_contain_text("app:markup")
    expect(markup_row).to_contain_text("markup 1.0.0")  # the app and its version

    connections = page.locator("#connections")
    acme = connections.locator("tr", has=page.get_by_role("rowheader", name="acme", exact=True))
    cells = acme.locator("td")
    expect(cells.nth(0)).to_have_text("mock-erp")
    expect(cells.nth(1)).to_have_text("Everyone")
    expect(cells.nth(2)).to_have_text("active")
    expect(cells.nth(3)).to_contain_text("ok")
    expect(cells.nth(3)).to_contain_text("Connected to erp.mock.local")
    expect(cells.nth(4)).to_have_text(re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d UTC$"))
    sales = connections.locator("tr", has=page.get_by_role("rowheader", name="acme-sales"))
    expect(sales.locator("td").nth(1)).to_have_text(
        "Specific users + groups: user alice, group sales"
    )
    expect(sales.locator("td").nth(2)).to_have_text("inactive")

    apps = page.locator("#apps")
    mock_app = apps.locator("tr", has=page.get_by_role("rowheader", name="mock", exact=True))
    expect(mock_app).to_contain_text("loaded")
    expect(mock_app.locator("td.version")).to_have_text(re.compile(r"^\d+\.\d+"))
    broken = apps.locator("tr", has=page.get_by_role("rowheader", name="broken"))
    expect(broken).to_contain_text("broken")
    expect(broken.locator(".reason")).to_contain_text(
        "<script>alert(2)</script> is not a connector"
    )


def test_markup_in_names_and_descriptions_is_shown_as_text(
    page: Page, web: WebServer, recorded: Recorder
) -> None:
    open_sync_tab(page, web)
    row = page.locator("#connectors tr", has=page.get_by_role("rowheader", name=MARKUP))
    expect(row.locator("th")).to_have_text(MARKUP)
    expect(row.locator(".description")).to_have_text(MARKUP)
    expect(row.locator(".detail")).to_have_text(
        "Markup <b>ERP</b> 1.0.0 by <script>alert(3)</script>"
    )
    assert page.locator("img").count() == 0
    assert page.locator("main b, main script").count() == 0
    assert recorded.dialogs == []


def test_no_secret_in_any_page_or_htmx_answer(
    page: Page, web: WebServer, web_home: WebHome, demo_data: DemoData, recorded: Recorder
) -> None:
    open_sync_tab(page, web)
    page.reload()
    expect(page.locator("#connectors tr.status-pending")).to_have_count(0)
    fragments = [k for k in recorded.bodies if "connector-status" in k]
    assert len(fragments) >= 2, list(recorded.bodies)
    secrets = {
        "connector token": demo_data.mock_token,
        "connection password": demo_data.connection_password,
        "admin password": ADMIN_PASSWORD,
        "secret key": web_home.secret_key,
    }
    for where, body in recorded.bodies.items():
        for what, value in secrets.items():
            assert value not in body, f"{what} in {where}"
    assert "$argon2" not in "".join(recorded.bodies.values())


def test_screenshots_script_writes_the_sync_tab_and_the_dialog(
    page: Page, web: WebServer, tmp_path: Path
) -> None:
    written = take_screenshots(page, web.url, ADMIN, ADMIN_PASSWORD, tmp_path)
    assert [p.name for p in written] == ["sync-tab.png", "connection-dialog.png"]
    assert written[0].read_bytes().startswith(b"\x89PNG")
