"""Users & groups in a real Chromium: add and remove users, groups and memberships on the page
with the keyboard, refusals shown in place, the CLI sees the same registry."""

from __future__ import annotations

import json

import pytest
from helpers.web import ADMIN, ADMIN_PASSWORD, WebHome, WebServer
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.slow


def open_people(page: Page, web: WebServer) -> None:
    page.goto(web.url + "/login?next=/settings/users")
    page.get_by_label("Admin name").fill(ADMIN)
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_label("Password").press("Enter")
    expect(page).to_have_url(web.url + "/settings/users")
    expect(page.get_by_role("link", name="Users & groups")).to_have_attribute(
        "aria-current", "page"
    )
    page.wait_for_load_state("load")  # the forms post through htmx once the page is loaded


def test_users_groups_and_members_are_managed_on_the_page(
    page: Page, web: WebServer, web_home: WebHome
) -> None:
    open_people(page, web)
    users = page.locator("#users")
    # The keyboard alone: type a name, Enter submits (htmx swaps the section in place).
    page.get_by_label("New user name").fill("carol")
    page.get_by_label("New user name").press("Enter")
    expect(page.get_by_role("status")).to_have_text("Added user 'carol'.")
    expect(users.get_by_role("rowheader", name="carol")).to_be_visible()
    page.get_by_label("New group name").fill("support")
    page.get_by_role("button", name="Add group").click()
    expect(page.get_by_role("status")).to_have_text("Added group 'support'.")

    page.get_by_label("User to add to group support").select_option("carol")
    page.get_by_role("button", name="Add the chosen user to group support").click()
    expect(page.get_by_role("status")).to_have_text("User 'carol' is a member of group 'support'.")
    carol = users.locator("tr", has=page.get_by_role("rowheader", name="carol"))
    expect(carol.locator("td").first).to_have_text("support")
    listed = json.loads(web_home.cli("users", "list", "--json"))
    assert {"name": "carol", "groups": ["support"]}.items() <= {
        k: v for u in listed if u["name"] == "carol" for k, v in u.items()
    }.items()

    page.get_by_role("button", name="Remove carol from group support").click()
    expect(page.get_by_role("status")).to_have_text("Removed user 'carol' from group 'support'.")
    expect(carol.locator("td").first).to_have_text("\u2013")  # an en dash: no group

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Remove user carol").click()
    expect(page.get_by_role("status")).to_have_text("Removed user 'carol'.")
    expect(users.get_by_role("rowheader", name="carol")).to_have_count(0)
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Remove group support").click()
    expect(page.get_by_role("status")).to_have_text("Removed group 'support'.")
    assert "support" not in web_home.cli("groups", "list")


def test_a_refused_name_is_said_in_place_and_nothing_is_added(
    page: Page, web: WebServer, web_home: WebHome
) -> None:
    open_people(page, web)
    page.get_by_label("New user name").fill("alice")  # made by the demo data
    page.get_by_label("New user name").press("Enter")
    expect(page.get_by_role("alert")).to_have_text("a user named 'alice' already exists")
    page.get_by_label("New group name").fill("a" * 100 + "b")  # maxlength stops the browser
    expect(page.get_by_label("New group name")).to_have_value("a" * 100)
    # A name the rule refuses, posted past the browser's checks, is refused by the server.
    token = page.locator('meta[name="csrf-token"]').get_attribute("content")
    answer = page.request.post(
        web.url + "/settings/groups/add",
        form={"name": "bad\u202ename"},
        headers={"X-CSRF-Token": token or "", "HX-Request": "true"},
    )
    assert answer.status == 422
    assert "contains a format character (U+202E)" in answer.text()
    assert "bad" not in web_home.cli("groups", "list")


def test_declining_the_confirmation_removes_nothing(
    page: Page, web: WebServer, web_home: WebHome
) -> None:
    web_home.cli("users", "add", "dave")
    open_people(page, web)
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.get_by_role("button", name="Remove user dave").click()
    expect(page.locator("#users").get_by_role("rowheader", name="dave")).to_be_visible()
    assert "dave" in web_home.cli("users", "list")
