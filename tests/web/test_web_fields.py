"""Field metadata v1.1 in the connection dialog, in a real Chromium against the real mock ERP:
the "Advanced" group is a fieldset, "Why writes are refused" shows only while "Read only" is
ticked (no inline script: the CSP allows /static only), placeholders and help are drawn, a
pattern's message comes back beside its field, and a hidden value is never saved."""

from __future__ import annotations

import json

import pytest
from helpers import MOCK_PASSWORD
from helpers.web import ADMIN, ADMIN_PASSWORD, DemoData, WebHome, WebServer
from playwright.sync_api import Locator, Page, expect

pytestmark = pytest.mark.slow


def sign_in(page: Page, web: WebServer, target: str = "/settings/sync") -> None:
    page.goto(web.url + "/login?next=" + target)
    page.get_by_label("Admin name").fill(ADMIN)
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_label("Password").press("Enter")
    expect(page).to_have_url(web.url + target)


def ok_button(page: Page) -> Locator:
    return page.get_by_role("button", name="OK", exact=True)


def test_a_conditional_field_shows_hides_and_is_not_saved_hidden(
    page: Page, web: WebServer, web_home: WebHome, demo_data: DemoData
) -> None:
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    sign_in(page, web)
    page.get_by_role("link", name="Define new ERP connection").click()
    expect(page.get_by_role("heading", name="Define new ERP connection")).to_be_visible()
    page.wait_for_load_state("load")  # htmx listens to the drop-down once loaded
    page.get_by_role("textbox", name="Name", exact=True).fill("fields")
    page.get_by_label("Sync connector").select_option(demo_data.connector)

    advanced = page.locator("fieldset.field-group", has=page.locator("legend", has_text="Advanced"))
    expect(advanced).to_be_visible()
    expect(advanced.get_by_label("Read only")).not_to_be_checked()
    reason = page.get_by_label("Why writes are refused")
    expect(reason).to_be_hidden()
    expect(page.get_by_label("Server or file path")).to_have_attribute(
        "placeholder", "erp.example.com"
    )
    expect(page.get_by_text("Format: a host name or file path, without spaces")).to_be_visible()

    page.get_by_label("Read only").check()
    expect(reason).to_be_visible()
    expect(reason).to_be_enabled()
    expect(reason).to_have_attribute("placeholder", "Month-end closing: ask finance")
    expect(page.get_by_text("Shown in the error a write gets")).to_be_visible()
    page.get_by_label("Read only").uncheck()
    expect(reason).to_be_hidden()
    page.get_by_label("Read only").check()
    reason.fill("Ask finance")

    # A value not matching its pattern: the connector's message beside the field.
    page.get_by_label("Server or file path").fill("two words")
    page.get_by_label("Username").fill("demo")
    page.get_by_label("Password").fill(MOCK_PASSWORD)
    page.get_by_role("button", name="Test ERP connection").click()
    expect(page.locator("#err-1")).to_have_text("a host name or file path, without spaces")
    expect(ok_button(page)).to_be_disabled()

    # Hidden again before the test: its typed value is not sent, not saved.
    page.get_by_label("Server or file path").fill("erp.mock.local")
    page.get_by_label("Read only").uncheck()
    page.get_by_role("button", name="Test ERP connection").click()
    expect(page.get_by_role("status")).to_contain_text("Test passed")
    expect(ok_button(page)).to_be_enabled()
    page.get_by_label("Read only").check()  # shown again: a change, test again
    expect(ok_button(page)).to_be_disabled()
    page.get_by_label("Read only").uncheck()
    expect(ok_button(page)).to_be_enabled()
    ok_button(page).click()
    expect(page.locator("#sync-outcome")).to_have_text("Added connection 'fields'.")
    config = json.loads(web_home.cli("connections", "show", "fields", "--json"))["config"]
    assert config["read_only"] is False and "read_only_reason" not in config
    assert errors == [], errors
