"""The seed's dialogs in a real Chromium against a real mock ERP server: add a connector,
define an ERP connection (OK only after a passing test of exactly the values in the form),
the scope dialog, edit with a stored password, the Sync tab's connection buttons."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from helpers import MOCK_PASSWORD
from helpers.mock_server import MockServer
from helpers.web import ADMIN, ADMIN_PASSWORD, MARKUP, DemoData, WebHome, WebServer
from playwright.sync_api import Locator, Page, Response, expect

pytestmark = pytest.mark.slow

WRONG_PASSWORD = "not-the-erp-password"


@dataclass
class Bodies:
    """Every answer the page received: pages, htmx fragments, static files."""

    seen: dict[str, str] = field(default_factory=dict)

    def on_response(self, response: Response) -> None:
        with contextlib.suppress(Exception):  # a redirect has no body
            self.seen[f"{response.request.method} {response.url}"] = response.text()


@pytest.fixture
def bodies(page: Page) -> Iterator[Bodies]:
    recorder = Bodies()
    page.on("response", recorder.on_response)
    yield recorder


def sign_in(page: Page, web: WebServer, target: str = "/settings/sync") -> None:
    page.goto(web.url + "/login?next=" + target)
    page.get_by_label("Admin name").fill(ADMIN)
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_label("Password").press("Enter")
    expect(page).to_have_url(web.url + target)
    # The URL changes when the new page is committed, before its scripts ran: a drop-down
    # changed then fires no htmx request, and its fields never come (seen once under load).
    page.wait_for_load_state("load")


def connection_row(page: Page, name: str) -> Locator:
    return page.locator("#connections tr", has=page.get_by_role("rowheader", name=name, exact=True))


def ok_button(page: Page) -> Locator:
    return page.get_by_role("button", name="OK", exact=True)


def test_the_seed_flow(
    page: Page,
    web: WebServer,
    web_home: WebHome,
    mock_server: MockServer,
    demo_data: DemoData,
    bodies: Bodies,
) -> None:
    sign_in(page, web)
    # Add connector: a wrong token is refused in place, the right one shows who answered.
    page.get_by_role("link", name="Add connector").click()
    expect(page.get_by_role("heading", name="Add sync connector")).to_be_visible()
    page.wait_for_load_state("load")  # OK posts through htmx once the page is loaded
    page.get_by_role("textbox", name="Name", exact=True).fill("seed-erp")
    page.get_by_label("Connector URL").fill(mock_server.url)
    page.get_by_label("Token").fill("a-wrong-token")
    page.get_by_role("button", name="OK").click()
    expect(page.get_by_role("alert")).to_contain_text("the connector refused the token")
    expect(page.get_by_role("textbox", name="Name", exact=True)).to_have_value("seed-erp")  # kept
    page.get_by_label("Token").fill(demo_data.mock_token)
    page.get_by_label("Token").press("Enter")
    expect(page).to_have_url(web.url + "/settings/sync")
    expect(page.get_by_role("status").first).to_have_text(
        re.compile(r"Added connector 'seed-erp': it answers protocol v1 as Mock ERP .* by ")
    )

    # Define new ERP connection.
    page.get_by_role("link", name="Define new ERP connection").click()
    expect(page.get_by_role("heading", name="Define new ERP connection")).to_be_visible()
    page.wait_for_load_state("load")  # htmx listens to the drop-down once loaded
    page.get_by_role("textbox", name="Name", exact=True).fill("seed")
    page.get_by_label("Sync connector").select_option("seed-erp")
    expect(page.get_by_label("Server or file path")).to_have_value("erp.mock.local")  # default
    expect(page.get_by_label("Company number")).to_have_value("1")
    expect(page.get_by_label("Username")).to_have_attribute("maxlength", "100")
    expect(page.get_by_label("Password")).to_have_attribute("type", "password")
    expect(page.get_by_label("Decimal separator")).to_have_value(".")
    expect(page.get_by_label("Read only")).not_to_be_checked()
    expect(page.locator(".label-text")).to_have_text("Demo login: see the erpsync README")
    expect(ok_button(page)).to_be_disabled()

    # A mandatory field left empty: its error beside it, OK stays disabled.
    page.get_by_role("button", name="Test ERP connection").click()
    expect(page.locator("#err-2")).to_have_text("is mandatory")
    expect(page.locator("#err-3")).to_have_text("is mandatory")
    expect(ok_button(page)).to_be_disabled()

    # The wrong password: the test fails, says what to check, every value stays typed.
    page.get_by_label("Username").fill("demo")
    page.get_by_label("Password").fill(WRONG_PASSWORD)
    page.get_by_label("Description").fill("Made in the browser")
    page.get_by_role("button", name="Test ERP connection").click()
    expect(page.get_by_role("alert")).to_contain_text("wrong username or password")
    expect(page.get_by_role("alert")).to_contain_text("Check the connector URL")
    expect(page.locator("#err-2")).to_have_text("")
    expect(page.get_by_label("Password")).to_have_value(WRONG_PASSWORD)
    expect(page.get_by_label("Username")).to_have_value("demo")
    expect(page.get_by_label("Description")).to_have_value("Made in the browser")
    expect(ok_button(page)).to_be_disabled()

    # Fixed: the test passes, and only now OK is enabled.
    page.get_by_label("Password").fill(MOCK_PASSWORD)
    expect(ok_button(page)).to_be_disabled()
    page.get_by_role("button", name="Test ERP connection").click()
    expect(page.get_by_role("status")).to_contain_text("Test passed")
    expect(ok_button(page)).to_be_enabled()
    # Any change of a config value disables it again; the same value as tested enables it.
    page.get_by_label("Company number").fill("2")
    expect(ok_button(page)).to_be_disabled()
    expect(page.locator("#ok-hint")).to_contain_text("test again")
    page.get_by_label("Company number").fill("1")
    expect(ok_button(page)).to_be_enabled()
    page.get_by_label("Read only").check()
    expect(ok_button(page)).to_be_disabled()
    page.get_by_label("Read only").uncheck()
    expect(ok_button(page)).to_be_enabled()
    page.get_by_role("textbox", name="Name", exact=True).fill("")  # the name is mandatory too
    expect(ok_button(page)).to_be_disabled()
    page.get_by_role("textbox", name="Name", exact=True).fill("seed")
    ok_button(page).click()

    expect(page).to_have_url(web.url + "/settings/sync")
    expect(page.locator("#sync-outcome")).to_have_text("Added connection 'seed'.")
    row = connection_row(page, "seed")
    expect(row.locator("td").nth(0)).to_have_text("seed-erp")
    expect(row.locator("td").nth(1)).to_have_text("Everyone")
    expect(row.locator("td").nth(2)).to_have_text("inactive")
    expect(row.locator("td").nth(3)).to_contain_text("ok")

    # Activate: refused with its reasons until customer sync is enabled (CLI), then active.
    row.get_by_role("button", name="Activate connection seed").click()
    expect(page.locator("#connections-outcome")).to_contain_text(
        "Connection 'seed' was not activated:"
    )
    expect(page.locator("#connections-outcome li")).to_contain_text(["no actor type enabled"])
    web_home.cli("mapping", "enable", "seed", "customer")
    connection_row(page, "seed").get_by_role("button", name="Activate connection seed").click()
    expect(page.locator("#connections-outcome")).to_have_text("Activated connection 'seed'.")
    expect(connection_row(page, "seed").locator("td").nth(2)).to_have_text("active")
    shown = json.loads(web_home.cli("connections", "show", "seed", "--json"))
    assert shown["active"] is True and shown["description"] == "Made in the browser"

    # Nothing the browser received held a secret.
    secrets = {
        "connection password": MOCK_PASSWORD,
        "wrong password typed": WRONG_PASSWORD,
        "connector token": demo_data.mock_token,
        "admin password": ADMIN_PASSWORD,
        "secret key": web_home.secret_key,
    }
    assert any("/connections/test" in k for k in bodies.seen), list(bodies.seen)
    for where, body in bodies.seen.items():
        for what, value in secrets.items():
            assert value not in body, f"{what} in {where}"


def test_a_crafted_post_of_an_untested_connection_is_refused(
    page: Page, web: WebServer, web_home: WebHome, demo_data: DemoData
) -> None:
    sign_in(page, web, "/settings/sync/connections/new")
    token = page.locator('meta[name="csrf-token"]').get_attribute("content") or ""
    values = {
        "name": "crafted",
        "connector": demo_data.connector,
        "scope": "everyone",
        "cfg.server": "erp.mock.local",
        "cfg.username": "demo",
        "cfg.password": MOCK_PASSWORD,
        "cfg.company": "1",
        "cfg.decimal_separator": ".",
    }
    headers = {"X-CSRF-Token": token, "HX-Request": "true"}
    untested = page.request.post(
        web.url + "/settings/sync/connections/save", form=values, headers=headers
    )
    assert untested.status == 422
    assert "OK saves only values whose test passed" in untested.text()
    # A signature from a passing test of other values does not cover these.
    tested = page.request.post(
        web.url + "/settings/sync/connections/test",
        form={**values, "cfg.company": "2"},
        headers=headers,
    )
    assert 'data-passed="true"' in tested.text()
    signature = re.search(r'name="tested_token" value="([0-9a-f]{64})"', tested.text())
    assert signature
    other = page.request.post(
        web.url + "/settings/sync/connections/save",
        form={**values, "tested_token": signature.group(1)},
        headers=headers,
    )
    assert other.status == 422
    assert "crafted" not in web_home.cli("connections", "list")
    # The same signature with the values it was made for is accepted.
    same = page.request.post(
        web.url + "/settings/sync/connections/save",
        form={**values, "cfg.company": "2", "tested_token": signature.group(1)},
        headers=headers,
    )
    assert same.status == 204 and same.headers["hx-redirect"] == "/settings/sync"
    assert "crafted" in web_home.cli("connections", "list")
    web_home.cli("connections", "remove", "crafted")


def test_the_scope_dialog_picks_users_and_groups_with_the_keyboard(
    page: Page, web: WebServer, web_home: WebHome, demo_data: DemoData
) -> None:
    web_home.cli("users", "add", "zoe")
    web_home.cli("groups", "add", "zoo-keepers")
    sign_in(page, web, "/settings/sync/connections/new")
    page.get_by_role("textbox", name="Name", exact=True).fill("scoped")
    page.get_by_label("Sync connector").select_option(demo_data.connector)
    page.get_by_label("Username").fill("demo")
    page.get_by_label("Password").fill(MOCK_PASSWORD)
    page.get_by_role("button", name="Choose users and groups…").focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Choose users and groups")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label("Search users and groups")).to_be_focused()
    expect(dialog.get_by_label("alice", exact=True)).to_be_visible()  # blank search: all
    page.keyboard.type("zo")
    expect(dialog.get_by_label("alice", exact=True)).to_have_count(0)
    expect(dialog.get_by_label("zoe", exact=True)).to_be_visible()
    page.keyboard.press("Tab")
    expect(dialog.get_by_label("zoe", exact=True)).to_be_focused()
    page.keyboard.press("Space")
    dialog.get_by_label(re.compile(r"^zoo-keepers")).check()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(page.get_by_label("Specific users + groups")).to_be_checked()
    picked = page.locator("#scope-picked-list li span")
    expect(picked).to_have_text(["user zoe", "group zoo-keepers"])
    # Re-opened, the picks are ticked; unticking one removes it.
    page.get_by_role("button", name="Choose users and groups…").click()
    page.get_by_label("Search users and groups").fill("zoe")
    expect(dialog.get_by_label("zoe", exact=True)).to_be_checked()
    dialog.get_by_label("zoe", exact=True).uncheck()
    dialog.get_by_role("button", name="Done").click()
    expect(picked).to_have_text(["group zoo-keepers"])
    page.get_by_role("button", name="Test ERP connection").click()
    expect(ok_button(page)).to_be_enabled()
    ok_button(page).click()
    expect(page).to_have_url(web.url + "/settings/sync")
    expect(connection_row(page, "scoped").locator("td").nth(1)).to_have_text(
        "Specific users + groups: group zoo-keepers"
    )
    web_home.cli("connections", "remove", "scoped")


def test_edit_keeps_the_stored_password_and_never_shows_it(
    page: Page, web: WebServer, web_home: WebHome, demo_data: DemoData, bodies: Bodies
) -> None:
    sign_in(page, web)
    row = connection_row(page, demo_data.restricted)  # inactive: its config may change
    row.get_by_role("link", name=f"Edit connection {demo_data.restricted}").click()
    expect(page.get_by_role("heading", name="Edit ERP connection")).to_be_visible()
    page.wait_for_load_state("load")  # the test button is htmx's once the page is loaded
    password = page.get_by_label("Password")
    expect(password).to_have_value("")
    expect(password).to_have_attribute("placeholder", "unchanged")
    expect(page.get_by_label("Sync connector")).to_be_disabled()
    expect(page.locator("#scope-picked-list li span")).to_have_text(["user alice", "group sales"])
    page.get_by_label("Description").fill("Edited in the browser")
    page.get_by_label("Company number").fill("3")
    # The empty password is the stored one, merged host-side for the test.
    page.get_by_role("button", name="Test ERP connection").click()
    expect(page.get_by_role("status")).to_contain_text("Test passed")
    ok_button(page).click()
    expect(page.locator("#sync-outcome")).to_have_text(
        f"Saved connection '{demo_data.restricted}'."
    )
    shown = json.loads(web_home.cli("connections", "show", demo_data.restricted, "--json"))
    assert shown["config"]["company"] == 3 and shown["description"] == "Edited in the browser"
    assert shown["config"]["password"] == "****"
    web_home.cli("connections", "test", demo_data.restricted)  # the stored password works
    for where, body in bodies.seen.items():
        assert demo_data.connection_password not in body, where


def test_an_active_connection_edits_without_its_config(
    page: Page, web: WebServer, demo_data: DemoData
) -> None:
    sign_in(page, web, f"/settings/sync/connections/edit?name={demo_data.connection}")
    expect(page.locator("#config-locked")).to_contain_text("Deactivate it first")
    expect(page.get_by_label("Username")).to_be_disabled()
    expect(page.get_by_role("button", name="Test ERP connection")).to_have_count(0)
    expect(ok_button(page)).to_be_enabled()


def test_test_all_deactivate_and_remove_from_the_sync_tab(
    page: Page, web: WebServer, web_home: WebHome, demo_data: DemoData
) -> None:
    web_home.cli(
        *("connections", "add", "doomed", "--connector", demo_data.connector),
        *("--config", "username=demo", "--config", f"password={MOCK_PASSWORD}", "--no-input"),
    )
    sign_in(page, web)
    page.get_by_role("button", name="Test all").click()
    expect(page.locator("#test-all-job")).to_have_text(
        re.compile(r"Tested \d+ connections: \d+ passed, 0 failed\.")
    )
    page.once("dialog", lambda dialog: dialog.dismiss())
    connection_row(page, "doomed").get_by_role("button", name="Remove connection doomed").click()
    expect(connection_row(page, "doomed")).to_have_count(1)
    page.once("dialog", lambda dialog: dialog.accept())
    connection_row(page, "doomed").get_by_role("button", name="Remove connection doomed").click()
    expect(page.locator("#connections-outcome")).to_have_text("Removed connection 'doomed'.")
    expect(connection_row(page, "doomed")).to_have_count(0)
    assert "doomed" not in web_home.cli("connections", "list")


def test_markup_in_a_connector_name_is_text_in_the_dialogs(
    page: Page, web: WebServer, demo_data: DemoData
) -> None:
    sign_in(page, web, "/settings/sync/connections/new")
    options = page.get_by_label("Sync connector").locator("option")
    expect(options).to_contain_text([MARKUP])
    page.get_by_label("Sync connector").select_option(MARKUP)
    expect(page.locator("#config-fields")).to_be_visible()
    page.goto(web.url + "/settings/sync/connectors/edit?name=" + MARKUP)
    expect(page.get_by_role("textbox", name="Name", exact=True)).to_have_value(MARKUP)
    assert page.locator("main img").count() == 0
