"""The Sync settings and Sync priority pages in a real Chromium against a real `erpsync web`
and a real mock ERP server: configure a mapping and activate, reorder the priority, and the
docs' screenshot of the page."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import MOCK_PASSWORD
from helpers.web import (
    ADMIN,
    ADMIN_PASSWORD,
    DemoData,
    WebHome,
    WebServer,
    take_sync_settings_screenshot,
)
from playwright.sync_api import ConsoleMessage, Locator, Page, expect

pytestmark = pytest.mark.slow

_names = itertools.count(1)


@pytest.fixture
def console(page: Page) -> Iterator[list[str]]:
    """Every console error of the page (a CSP violation is one)."""
    seen: list[str] = []

    def record(message: ConsoleMessage) -> None:
        if message.type == "error":
            seen.append(message.text)

    page.on("console", record)
    yield seen


def new_connection(home: WebHome, prefix: str) -> str:
    name = f"{prefix}{next(_names)}"
    home.cli(
        *("connections", "add", name, "--connector", "mock-erp", "--config", "company=1"),
        *("--config", "server=erp.mock.local", "--config", "username=demo"),
        *("--config", f"password={MOCK_PASSWORD}", "--no-input"),
    )
    return name


def sign_in(page: Page, web: WebServer) -> None:
    page.goto(web.url + "/login")
    page.get_by_label("Admin name").fill(ADMIN)
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_label("Password").press("Enter")
    expect(page).to_have_url(web.url + "/settings/sync")


def outcome(page: Page) -> Locator:
    return page.locator("#settings-outcome")


def test_configure_a_mapping_and_activate(
    page: Page, web: WebServer, web_home: WebHome, demo_data: DemoData, console: list[str]
) -> None:
    name = new_connection(web_home, "browser")
    sign_in(page, web)
    page.get_by_role("link", name=f"Sync settings of connection {name}").click()
    expect(page.get_by_role("heading", name=f"Sync settings of {name}")).to_be_visible()
    expect(page.locator("#activation-reasons")).to_contain_text("no actor type enabled for sync")

    # Activation is the core's decision: refused with its reason until a type syncs.
    page.get_by_role("button", name="Activate").click()
    expect(outcome(page)).to_contain_text(f"Connection '{name}' was not activated:")
    expect(outcome(page)).to_contain_text("no actor type enabled for sync")

    page.get_by_role("button", name="Sync ERP customer → CRM company").click()
    expect(outcome(page)).to_contain_text("Sync of ERP customer to CRM company enabled.")
    expect(page.locator("#type-customer h2")).to_contain_text("syncs")

    # Map the customer group to the CRM category, ERP -> CRM, and take it off the ERP tab.
    page.get_by_label("CRM field for customer.CUSTGROUP").select_option("category")
    page.get_by_label("Direction of customer.CUSTGROUP").select_option("erp_to_crm")
    page.get_by_label("Show customer.CUSTGROUP on the ERP tab").uncheck()
    page.get_by_role("button", name="Save customer.CUSTGROUP").click()
    expect(outcome(page)).to_have_text("customer.CUSTGROUP → category, ERP → CRM.")
    expect(page.get_by_label("CRM field for customer.CUSTGROUP")).to_have_value("category")
    expect(page.get_by_label("Show customer.CUSTGROUP on the ERP tab")).not_to_be_checked()
    # Its list is mapped on the same page now: ERP customer_groups -> CRM category.
    expect(page.locator("#lists")).to_contain_text("ERP customer_groups → CRM category")

    # A mapping whose types cannot convert: refused beside the field, nothing stored.
    page.get_by_label("CRM field for customer.CREDITLIMIT").select_option("vatno")
    page.get_by_label("Direction of customer.CREDITLIMIT").select_option("both")
    page.get_by_role("button", name="Save customer.CREDITLIMIT").click()
    row = page.locator("tr.field-row.refused")
    expect(row).to_have_attribute("data-erp-field", "CREDITLIMIT")
    beside = page.locator("tr.refused + tr .field-error")
    expect(beside).to_have_text(
        "mapping refused: CREDITLIMIT (double) and vatno (text): a CRM text cannot be written "
        "to an ERP double"
    )
    expect(page.get_by_label("CRM field for customer.CREDITLIMIT")).to_have_value("")
    expect(page.get_by_label("CRM field for customer.CREDITLIMIT")).to_have_attribute(
        "aria-invalid", "true"
    )

    page.get_by_role("button", name="Activate").click()
    expect(outcome(page)).to_have_text(f"Activated connection '{name}'.")
    expect(page.locator("#activation .badge")).to_have_text("active")
    shown = json.loads(web_home.cli("mapping", "show", name, "customer", "--json"))
    group = next(f for f in shown["types"][0]["fields"] if f["erp_field"] == "CUSTGROUP")
    assert (group["crm_field"], group["direction"], group["on_tab"]) == (
        "category",
        "erp_to_crm",
        False,
    )
    rows = json.loads(web_home.cli("connections", "list", "--json"))
    assert next(r for r in rows if r["name"] == name)["active"] is True
    assert not [m for m in console if "Content Security Policy" in m], console


def priority_order(page: Page) -> list[str]:
    rows = page.locator("#priority tbody tr")
    found: list[str] = rows.evaluate_all("rows => rows.map(r => r.dataset.connection)")
    return found


def test_reorder_the_sync_priority(
    page: Page, web: WebServer, web_home: WebHome, demo_data: DemoData, console: list[str]
) -> None:
    first, second = new_connection(web_home, "prio"), new_connection(web_home, "prio")
    sign_in(page, web)
    page.get_by_role("link", name="Sync priority").click()
    expect(page.get_by_role("heading", name="Sync priority")).to_be_visible()
    before = priority_order(page)
    assert first in before and second in before
    at = before.index(second)
    page.get_by_role("button", name=f"Move {second} up").click()
    expect(page.locator("#priority-outcome")).to_contain_text("Sync priority: ")
    expected = [*before]
    expected.insert(at - 1, expected.pop(at))
    assert priority_order(page) == expected
    # The first row cannot move up; the last cannot move down.
    expect(page.get_by_role("button", name=f"Move {expected[0]} up")).to_be_disabled()
    expect(page.get_by_role("button", name=f"Move {expected[-1]} down")).to_be_disabled()
    page.get_by_role("button", name=f"Move {expected[0]} down").click()
    expect(page.locator("#priority-outcome")).to_contain_text("Sync priority: ")
    expected.insert(1, expected.pop(0))
    assert priority_order(page) == expected
    shown = json.loads(web_home.cli("sync", "priority", "show", "--json"))
    assert [r["connection"] for r in shown] == expected
    assert not [m for m in console if "Content Security Policy" in m], console


def test_the_sync_settings_screenshot(
    page: Page, web: WebServer, demo_data: DemoData, tmp_path: Path
) -> None:
    sign_in(page, web)
    written = take_sync_settings_screenshot(page, web.url, tmp_path)
    assert written.name == "sync-settings.png"
    assert written.read_bytes().startswith(b"\x89PNG")
    expect(page.locator("#runs tbody tr").first).to_contain_text("ok")


def test_download_the_settings_file_and_upload_it_to_another_connection(
    page: Page, web: WebServer, web_home: WebHome, demo_data: DemoData, tmp_path: Path
) -> None:
    target = new_connection(web_home, "copy")
    sign_in(page, web)
    page.goto(web.url + "/settings/sync/settings?name=acme")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download settings file").click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.name == "acme-sync.json"
    assert json.loads(saved.read_text())["types"]["customer"]["enabled"] is True

    page.goto(web.url + f"/settings/sync/settings?name={target}")
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    page.get_by_label("Settings file to import").set_input_files(broken)
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.locator("#import-outcome")).to_contain_text("broken.json: not a JSON file")
    # htmx sent the upload with the CSRF header; a refused file changed nothing.
    exported = json.loads(web_home.cli("mapping", "export", target))
    assert exported["types"]["customer"]["enabled"] is False

    page.get_by_label("Settings file to import").set_input_files(saved)
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.locator("main > #settings-outcome")).to_have_text(
        "Sync settings replaced from acme-sync.json."
    )
    expect(page.locator("#type-customer h2")).to_contain_text("syncs")
    exported = json.loads(web_home.cli("mapping", "export", target))
    assert exported["types"] == json.loads(saved.read_text())["types"]
