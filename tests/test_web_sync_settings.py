"""The web admin's Sync settings and Sync priority pages over real HTTP: a real `erpsync web`
(uvicorn) on a free loopback port, a real mock ERP server behind its connections, and the
CLI to set up and to read back what a page stored (both go through host.sync).

Every POST: what it stores, a bad value refused with one message naming the field (shown
beside it) and nothing stored, and no change without the session's CSRF token.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from helpers import MOCK_PASSWORD
from helpers.mock_server import MockServer, stop_process
from helpers.web import WebHome, WebServer, page_csrf, sign_in, start_web_server

pytestmark = pytest.mark.slow  # a web server, a mock server and CLI runs per test

PAGE = "/settings/sync/settings"
_names = itertools.count(1)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory, mock_server: MockServer) -> WebHome:
    home = WebHome(tmp_path_factory.mktemp("web-sync-settings") / "home")
    home.add_admin()
    home.cli(
        "connectors",
        "add",
        "mock-erp",
        mock_server.url,
        "--token-file",
        str(mock_server.token_file),
    )
    return home


@pytest.fixture(scope="module")
def web(home: WebHome) -> Iterator[WebServer]:
    server = start_web_server(home)
    try:
        yield server
    finally:
        stop_process(server.process)


@pytest.fixture
def client(web: WebServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=web.url, follow_redirects=False, timeout=120) as c:
        answer = sign_in(c)
        assert answer.status_code == 303, answer.text
        yield c


def new_connection(home: WebHome, prefix: str = "conn") -> str:
    """A fresh connection to the mock ERP (saved after a passing test; not active)."""
    name = f"{prefix}{next(_names)}"
    home.cli(
        *("connections", "add", name, "--connector", "mock-erp", "--config", "company=1"),
        *("--config", "server=erp.mock.local", "--config", "username=demo"),
        *("--config", f"password={MOCK_PASSWORD}", "--no-input"),
    )
    return name


def csrf(client: httpx.Client, name: str) -> str:
    page = client.get(PAGE, params={"name": name})
    assert page.status_code == 200, page.text
    return page_csrf(page.text)


def post(client: httpx.Client, path: str, name: str, **fields: Any) -> httpx.Response:
    return client.post(
        f"{PAGE}/{path}", data={"csrf_token": csrf(client, name), "name": name, **fields}
    )


def mapping(home: WebHome, name: str, actor_type: str = "customer") -> dict[str, dict[str, Any]]:
    """ERP field -> its mapping as the CLI reads it."""
    data = json.loads(home.cli("mapping", "show", name, actor_type, "--json"))
    return {f["erp_field"]: f for f in data["types"][0]["fields"]}


def alert(html: str) -> str:
    """The text of the page's error message (above the sections)."""
    found = re.search(r'id="settings-outcome" class="error".*?<p>(.*?)</p>', html, re.S)
    assert found, html[:3000]
    return found.group(1)


def test_the_sync_tab_links_every_connection_to_its_settings_and_to_the_priority(
    client: httpx.Client, home: WebHome
) -> None:
    name = new_connection(home)
    tab = client.get("/settings/sync")
    assert f'href="{PAGE}?name={name}"' in tab.text
    assert 'href="/settings/sync/priority"' in tab.text


def test_the_page_shows_types_fields_proposal_defaults_lists_and_status(
    client: httpx.Client, home: WebHome
) -> None:
    name = new_connection(home)
    page = client.get(PAGE, params={"name": name})
    assert page.status_code == 200
    html = page.text
    for actor_type, entity in [("customer", "company"), ("person", "person")]:
        assert f"Sync ERP {actor_type} → CRM {entity}</button>" in html
    assert html.count('class="badge muted">not synced') >= 3
    # The field-mapping table: a CRM field select per ERP field, automatic mapping proposed.
    assert re.search(r'<option value="name" selected>name \(text\)</option>', html)
    assert "proposed: name, both ways" in html
    assert "proposed: postalzip, both ways" in html
    assert "Apply the automatic mapping" in html
    # Defaults: NAME is mandatory in the ERP (forced), CustNo is read-only (no default row).
    defaults = html[html.index('id="defaults-customer"') :]
    defaults = defaults[: defaults.index("</table>")]
    assert re.search(r"<code>NAME</code>.*?mandatory in the ERP", defaults, re.S)
    assert "<code>CustNo</code>" not in defaults
    # List mapping: the ERP list of a mapped list field, its unmapped items reported.
    assert "ERP countries → CRM country" in html
    assert re.search(r"\d+ items? unmapped: NO, SE", html)
    # Activation: the core's reason; status idle, no run yet.
    assert "no actor type enabled for sync" in html
    assert 'id="sync-status" class="badge ok">idle' in html
    assert "No sync run yet." in html


def test_an_unknown_connection_is_said_on_the_sync_tab(client: httpx.Client) -> None:
    answer = client.get(PAGE, params={"name": "no-such"})
    assert answer.status_code == 422
    assert "There is no connection &#39;no-such&#39;." in answer.text


def test_activation_needs_configured_settings_exactly_as_the_cli(
    client: httpx.Client, home: WebHome
) -> None:
    name = new_connection(home)
    refused = post(client, "activation", name, action="activate")
    assert refused.status_code == 422
    assert f"Connection &#39;{name}&#39; was not activated:" in refused.text
    assert "<li>no actor type enabled for sync" in refused.text
    rows = json.loads(home.cli("connections", "list", "--json"))
    assert next(r for r in rows if r["name"] == name)["active"] is False
    enabled = post(client, "type", name, actor_type="customer", action="enable")
    assert enabled.status_code == 303
    assert enabled.headers["location"] == f"{PAGE}?name={name}#type-customer"
    page = client.get(enabled.headers["location"])
    found = re.search(
        r"Sync of ERP customer to CRM company enabled\. List items mapped by key or name: "
        r"(\d+) of (\d+)\.",
        page.text,
    )
    assert found and 0 < int(found.group(1)) <= int(found.group(2)), page.text[:3000]
    # ... as `erpsync mapping enable` does: the country list's items are mapped.
    assert list_mapping(home, name)["countries:NO"] == "NO"
    assert "The sync settings are complete; it can be activated." in page.text
    activated = post(client, "activation", name, action="activate")
    assert activated.status_code == 303, activated.text
    rows = json.loads(home.cli("connections", "list", "--json"))
    assert next(r for r in rows if r["name"] == name)["active"] is True
    assert post(client, "activation", name, action="deactivate").status_code == 303
    rows = json.loads(home.cli("connections", "list", "--json"))
    assert next(r for r in rows if r["name"] == name)["active"] is False


def test_a_field_mapping_is_saved_and_the_erp_tab_order_moves(
    client: httpx.Client, home: WebHome
) -> None:
    name = new_connection(home)
    saved = post(
        client,
        "field",
        name,
        actor_type="customer",
        erp_field="DEPARTMENT",
        crm_field="department",
        direction="erp_to_crm",
        rank="35",
        in_search="on",
    )
    assert saved.status_code == 303, saved.text
    after = mapping(home, name)["DEPARTMENT"]
    assert after["crm_field"] == "department"
    assert after["direction"] == "erp_to_crm"
    assert after["on_tab"] is False  # the checkbox was not sent: unticked
    assert after["rank"] == 35
    assert after["in_search"] is True
    page = client.get(saved.headers["location"]).text
    assert "customer.DEPARTMENT → department, ERP → CRM." in page
    before = list(mapping(home, name))
    moved = post(client, "field", name, actor_type="customer", erp_field="PHONE", action="up")
    assert moved.status_code == 303
    order = list(mapping(home, name))
    at = before.index("PHONE")
    assert order[at - 1] == "PHONE" and order[at] == before[at - 1]
    down = post(client, "field", name, actor_type="customer", erp_field="PHONE", action="down")
    assert down.status_code == 303
    assert list(mapping(home, name)) == before


def test_a_mapping_whose_types_cannot_convert_is_refused_beside_its_field(
    client: httpx.Client, home: WebHome
) -> None:
    name = new_connection(home)
    before = mapping(home, name)
    refused = post(
        client,
        "field",
        name,
        actor_type="customer",
        erp_field="CUSTGROUP",
        crm_field="vatno",
        direction="both",
        rank="1",
        on_tab="on",
    )
    assert refused.status_code == 422
    reason = (
        "mapping refused: CUSTGROUP (list) and vatno (text): a CRM text cannot be written "
        "to an ERP list"
    )
    assert alert(refused.text) == f"Nothing was saved: {reason}"
    row = re.search(
        r'<tr id="row-(f-0-\d+)" class="field-row refused" data-erp-field="CUSTGROUP">.*?'
        r'<p id="(f-0-\d+)-error" class="field-error" role="alert">(.*?)</p>',
        refused.text,
        re.S,
    )
    assert row, "the reason is not beside the field"
    assert row.group(1) == row.group(2) and row.group(3) == reason
    assert mapping(home, name) == before  # nothing of the post stored, not even the rank


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"rank": "abc"}, "rank &#39;abc&#39; of customer.NAME is not a whole number"),
        ({"rank": "99999999"}, "rank 99999999 of customer.NAME is out of range"),
        ({"direction": "sideways"}, "direction &#39;sideways&#39; is not one of"),
        ({"crm_field": "nosuch"}, "CRM company has no field &#39;nosuch&#39;"),
        ({"in_search": "on", "erp_field": "URL"}, "customer.URL is not a searchable field"),
        ({"erp_field": "NOPE"}, "customer has no ERP field &#39;NOPE&#39;"),
        ({"action": "sideways"}, "action &#39;sideways&#39; is not one of save, up, down"),
    ],
)
def test_a_bad_field_value_is_refused_naming_it_and_nothing_is_saved(
    client: httpx.Client, home: WebHome, fields: dict[str, str], message: str
) -> None:
    name = new_connection(home)
    before = mapping(home, name)
    posted = {
        "actor_type": "customer",
        "erp_field": "NAME",
        "crm_field": "department",
        "direction": "both",
        "rank": "3",
        **fields,
    }
    refused = post(client, "field", name, **posted)
    assert refused.status_code == 422
    assert message in alert(refused.text)
    assert mapping(home, name) == before


def test_the_automatic_mapping_proposal_is_applied_in_one_change(
    client: httpx.Client, home: WebHome
) -> None:
    name = new_connection(home)
    assert mapping(home, name)["NAME"]["direction"] is None
    applied = post(client, "type", name, actor_type="customer", action="propose")
    assert applied.status_code == 303
    after = mapping(home, name)
    assert after["NAME"]["direction"] == "both"
    assert after["CustNo"]["crm_field"] is None  # no CRM field named like it
    assert (
        "proposed:"
        not in client.get(applied.headers["location"])
        .text.split('id="type-person"')[0]
        .split('id="type-customer"')[1]
    )


def test_create_in_erp_and_disable_an_actor_type(client: httpx.Client, home: WebHome) -> None:
    name = new_connection(home)
    assert post(client, "type", name, actor_type="customer", action="create-on").status_code == 303
    assert post(client, "type", name, actor_type="customer", action="enable").status_code == 303
    data = json.loads(home.cli("mapping", "show", name, "customer", "--json"))["types"][0]
    assert data["create_in_erp"] is True and data["enabled"] is True
    assert post(client, "type", name, actor_type="customer", action="disable").status_code == 303
    data = json.loads(home.cli("mapping", "show", name, "customer", "--json"))["types"][0]
    assert data["enabled"] is False
    refused = post(client, "type", name, actor_type="wizard", action="enable")
    assert refused.status_code == 422
    assert "the connection offers no actor type &#39;wizard&#39;" in alert(refused.text)


def defaults(home: WebHome, name: str) -> dict[str, dict[str, Any]]:
    data = json.loads(home.cli("defaults", "show", name, "customer", "--json"))
    return {d["erp_field"]: d for d in data["defaults"]}


def test_default_values_value_ask_and_forced_mandatory(client: httpx.Client, home: WebHome) -> None:
    name = new_connection(home)
    saved = post(
        client,
        "default",
        name,
        actor_type="customer",
        erp_field="PAYTERMS",
        value="NET14",
        ask="on",
    )
    assert saved.status_code == 303, saved.text
    assert defaults(home, name)["PAYTERMS"] == {
        "erp_field": "PAYTERMS",
        "value": "NET14",
        "ask": True,
        "mandatory": False,
        "forced": False,
    }
    before = defaults(home, name)
    # Not a number for a decimal field; a mandatory field made optional (a crafted post: the
    # page sends mandatory=on for it); a read-only field.
    bad = post(
        client, "default", name, actor_type="customer", erp_field="CREDITLIMIT", value="lots"
    )
    assert bad.status_code == 422
    assert "default for customer.CREDITLIMIT" in alert(bad.text)
    assert 'class="default-row refused"' in bad.text
    forced = post(client, "default", name, actor_type="customer", erp_field="NAME", value="x")
    assert forced.status_code == 422
    assert alert(forced.text) == (
        "Nothing was saved: customer.NAME is mandatory in the ERP; it stays mandatory"
    )
    readonly = post(client, "default", name, actor_type="customer", erp_field="CustNo", value="1")
    assert readonly.status_code == 422
    assert "customer.CustNo is readonly; the ERP sets it" in alert(readonly.text)
    # A list field's default must be an item of the ERP list the connector has now.
    unknown = post(
        client, "default", name, actor_type="customer", erp_field="PAYTERMS", value="NET999"
    )
    assert unknown.status_code == 422
    assert "&#39;NET999&#39; is not an item of ERP list payment_terms" in alert(unknown.text)
    assert defaults(home, name) == before


def list_mapping(home: WebHome, name: str) -> dict[str, str | None]:
    data = json.loads(home.cli("mapping", "lists", name, "--json"))
    return {f"{r['erp_list']}:{r['erp_item']}": r["crm_item"] for r in data["items"]}


def test_list_mapping_proposes_saves_and_refuses_a_duplicate_whole(
    client: httpx.Client, home: WebHome
) -> None:
    name = new_connection(home)
    page = client.get(PAGE, params={"name": name}).text
    erp_items = re.findall(r'name="erp_item" value="([^"]+)"', page)
    assert erp_items[:2] == ["NO", "SE"]
    # A second list in use (customer groups -> category), left unmapped: each list's own
    # button proposes for that list alone.
    home.cli(
        *("mapping", "set", name, "customer", "CUSTGROUP", "--crm-field", "category"),
        *("--direction", "erp_to_crm"),
    )
    auto = post(client, "lists", name, erp_list="countries", action="auto")
    assert auto.status_code == 303
    mapped = list_mapping(home, name)
    assert mapped["countries:NO"] == "NO"
    groups = {k: v for k, v in mapped.items() if k.startswith("customer_groups:")}
    assert groups and all(v is None for v in groups.values())
    auto = post(client, "lists", name, erp_list="customer_groups", action="auto")
    assert auto.status_code == 303
    assert any(v for k, v in list_mapping(home, name).items() if k.startswith("customer_groups:"))
    unknown = post(client, "lists", name, erp_list="nope", action="auto")
    assert unknown.status_code == 422
    assert "no mapped list field uses ERP list &#39;nope&#39;" in alert(unknown.text)
    # Save the whole list: NO unmapped, SE -> DK (DK unmapped then, so one to one holds).
    items = ["NO", "SE", "DK"]
    chosen = ["", "DK", ""]
    saved = client.post(
        f"{PAGE}/lists",
        data={
            "csrf_token": csrf(client, name),
            "name": name,
            "erp_list": "countries",
            "action": "save",
            "erp_item": items,
            "crm_item": chosen,
        },
    )
    assert saved.status_code == 303, saved.text
    now = list_mapping(home, name)
    assert now["countries:NO"] is None and now["countries:SE"] == "DK"
    assert now["countries:DK"] is None
    page = client.get(saved.headers["location"]).text
    assert re.search(r"unmapped: NO, DK", page)
    before = list_mapping(home, name)
    for crm, message in [
        (["NO", "NO", ""], "CRM item country/NO is mapped twice; the mapping is one to one"),
        (["XX", "", ""], "CRM list country has no item &#39;XX&#39;"),
    ]:
        refused = client.post(
            f"{PAGE}/lists",
            data={
                "csrf_token": csrf(client, name),
                "name": name,
                "erp_list": "countries",
                "erp_item": items,
                "crm_item": crm,
            },
        )
        assert refused.status_code == 422
        assert message in alert(refused.text)
        assert 'class="field-error" role="alert"' in refused.text
        assert list_mapping(home, name) == before


def test_the_settings_file_downloads_and_uploads_all_or_nothing(
    client: httpx.Client, home: WebHome
) -> None:
    name = new_connection(home)
    assert post(client, "type", name, actor_type="customer", action="enable").status_code == 303
    exported = client.get(f"{PAGE}/export", params={"name": name})
    assert exported.status_code == 200
    assert exported.headers["content-disposition"] == f'attachment; filename="{name}-sync.json"'
    document = exported.json()
    assert document["format"] == "erpsync-sync-settings/1"
    assert document == json.loads(home.cli("mapping", "export", name))
    other = new_connection(home)
    token = csrf(client, other)
    url = f"{PAGE}/import?name={other}"

    def upload(content: bytes, **headers: str) -> httpx.Response:
        files = {"file": ("settings.json", content, "application/json")}
        return client.post(url, files=files, headers={"X-CSRF-Token": token, **headers})

    assert upload(b"{not json").status_code == 422
    assert "settings.json: not a JSON file" in alert(upload(b"{not json").text)
    broken = dict(document, types={"customer": {"enabled": True, "fields": [{"x": 1}]}})
    refused = upload(json.dumps(broken).encode())
    assert refused.status_code == 422
    assert "sync settings file:" in alert(refused.text)
    assert json.loads(home.cli("mapping", "export", other))["types"]["customer"]["enabled"] is False
    done = upload(exported.content, **{"HX-Request": "true"})
    assert done.status_code == 204
    assert done.headers["hx-redirect"] == f"{PAGE}?name={other}"
    copied = json.loads(home.cli("mapping", "export", other))
    assert copied["types"] == document["types"]
    no_token = client.post(url, files={"file": ("s.json", exported.content, "application/json")})
    assert no_token.status_code == 403


def test_the_priority_page_lists_and_moves_connections(client: httpx.Client, home: WebHome) -> None:
    first, second = new_connection(home, "prio"), new_connection(home, "prio")
    page = client.get("/settings/sync/priority")
    assert page.status_code == 200
    names = re.findall(r'<tr data-connection="([^"]+)">', page.text)
    assert first in names and second in names
    token = page_csrf(page.text)
    moved = client.post(
        "/settings/sync/priority/move", data={"csrf_token": token, "name": second, "move": "up"}
    )
    assert moved.status_code == 303
    shown = json.loads(home.cli("sync", "priority", "show", "--json"))
    order = [r["connection"] for r in shown]
    assert order.index(second) == names.index(second) - 1
    after = client.get("/settings/sync/priority").text
    assert re.findall(r'<tr data-connection="([^"]+)">', after) == order
    assert "Sync priority: " in after
    for fields, message in [
        ({"name": second, "move": "sideways"}, "move &#39;sideways&#39; is not up or down"),
        ({"name": "no-such", "move": "up"}, "no-such"),
    ]:
        refused = client.post("/settings/sync/priority/move", data={"csrf_token": token, **fields})
        assert refused.status_code == 422
        assert message in refused.text
    assert json.loads(home.cli("sync", "priority", "show", "--json")) == shown


def test_run_now_records_a_pass_in_the_history(client: httpx.Client, home: WebHome) -> None:
    name = new_connection(home)
    inactive = post(client, "run", name)
    assert inactive.status_code == 422
    assert "the connection is not active; activate it first" in alert(inactive.text)
    assert post(client, "type", name, actor_type="customer", action="enable").status_code == 303
    assert post(client, "activation", name, action="activate").status_code == 303
    ran = post(client, "run", name)
    assert ran.status_code == 303, ran.text
    page = client.get(ran.headers["location"]).text
    found = re.search(r"Sync pass of &#39;\w+&#39; ok: read (\d+), created (\d+)", page)
    assert found and int(found.group(1)) > 0 and found.group(1) == found.group(2)
    runs = page[page.index('id="runs"') :]
    assert re.search(r'badge ok">ok</span></td>\s*<td>' + found.group(1) + "</td>", runs)
    history = json.loads(home.cli("sync", "history", "--connection", name, "--json"))
    assert history[0]["read"] == int(found.group(1))


POSTS = [
    (f"{PAGE}/type", {"actor_type": "customer", "action": "enable"}),
    (f"{PAGE}/field", {"actor_type": "customer", "erp_field": "NAME", "crm_field": ""}),
    (f"{PAGE}/default", {"actor_type": "customer", "erp_field": "PAYTERMS", "value": "NET14"}),
    (f"{PAGE}/lists", {"erp_list": "countries", "action": "auto"}),
    (f"{PAGE}/activation", {"action": "activate"}),
    (f"{PAGE}/run", {"action": "start"}),
    ("/settings/sync/priority/move", {"move": "up"}),
]


@pytest.mark.parametrize(("path", "fields"), POSTS, ids=[p for p, _ in POSTS])
def test_every_post_without_the_sessions_csrf_token_is_refused(
    client: httpx.Client, home: WebHome, path: str, fields: dict[str, str]
) -> None:
    name = new_connection(home, "csrf")
    export = home.cli("mapping", "export", name)
    priority = home.cli("sync", "priority", "show", "--json")
    for token in (None, "forged"):
        data = {"name": name, **fields}
        if token:
            data["csrf_token"] = token
        answer = client.post(path, data=data)
        assert answer.status_code == 403
        assert "CSRF check" in answer.text
    assert home.cli("mapping", "export", name) == export
    assert home.cli("sync", "priority", "show", "--json") == priority


def test_a_secret_in_a_sync_message_is_never_shown(client: httpx.Client, home: WebHome) -> None:
    """The sync's texts (a run's message, the status reason) are checked against the
    connection's secrets by the page itself, as the Sync tab checks test messages."""
    from host.crm import open_crm
    from host.sync import state

    name = new_connection(home)
    guid = next(
        r for r in json.loads(home.cli("connections", "list", "--json")) if r["name"] == name
    )["guid"]
    crm = open_crm(home.path / "registry.db")
    try:
        run_id = state.start_run(crm, guid)
        leak = f"the ERP refused password {MOCK_PASSWORD} for demo"
        state.finish_run(crm, run_id, {"read": 3}, "failed", leak)
        with crm.transaction():
            state.set_status(crm, guid, status=state.FAILING, reason=leak, failures=1)
    finally:
        crm.close()
    page = client.get(PAGE, params={"name": name})
    assert page.status_code == 200
    assert MOCK_PASSWORD not in page.text
    assert 'id="sync-status" class="badge error">failing' in page.text
    shown = "the ERP refused password **** for demo"
    assert f'<span id="sync-reason" class="detail">{shown}</span>' in page.text
    assert f">{shown}</span>" in page.text[page.text.index('id="runs"') :]
    runs = page.text[page.text.index('id="runs"') :]
    assert re.search(r'badge error">failed</span></td>\s*<td>3</td>', runs)


def test_a_hostile_connectors_texts_are_escaped_and_its_secrets_never_shown(
    client: httpx.Client, home: WebHome, tmp_path: Path
) -> None:
    """A connector that is not ours puts the connection's password, its own token, markup and
    terminal escapes into its field labels and list texts: the page shows none of it raw."""
    from helpers.hostile_connector import hostile_connector

    token, password = "evil-token-0123456789abcdef", "hunter2-is-a-long-password"
    token_file = tmp_path / "evil.token"
    token_file.write_text(token + "\n", encoding="utf-8")
    with hostile_connector() as evil:
        evil.test_config_mode = "ok"
        connector = f"evil{next(_names)}"
        home.cli("connectors", "add", connector, evil.url, "--token-file", str(token_file))
        name = f"hostile{next(_names)}"
        home.cli(
            *("connections", "add", name, "--connector", connector, "--no-input"),
            *("--config", "server=erp.evil.local", "--config", "username=bob"),
            *("--config", f"password={password}", "--config", "company=1"),
        )
        # Its list field mapped: the page then shows the connector's list item texts too.
        home.cli("mapping", "set", name, "customer", "company", "--crm-field", "category")
        page = client.get(PAGE, params={"name": name})
    assert page.status_code == 200, page.text
    html = page.text
    assert "ERP companies → CRM category" in html
    assert re.search(r"<code>1</code> <span class=\"detail\">Main company\\x1b\[2J", html)
    assert password not in html and token not in html
    assert "\x1b" not in html and "\u202e" not in html and "\x07" not in html
    assert "<script" not in html.split("</head>")[1]
    # ... and what it sent is there, as text: control characters made visible, the secret masked.
    assert "<code>server</code>" in html and "Server\\x1b[2J" in html
    assert "Password **** · password" in html
    # Its password-type actor field takes no default: no input for one, a crafted post refused.
    assert "a secret: no default (ask for it on create)" in html
    secret_default = post(
        client, "default", name, actor_type="customer", erp_field="password", value="x" * 12
    )
    assert secret_default.status_code == 422
    assert "customer.password is a secret field; it takes no default" in alert(secret_default.text)
    assert "x" * 12 not in home.cli("defaults", "show", name, "customer", "--json")


def test_a_settings_file_over_the_limit_is_refused_unread(
    client: httpx.Client, home: WebHome
) -> None:
    from host.sync.settings import SETTINGS_FILE_LIMIT

    name = new_connection(home)
    before = home.cli("mapping", "export", name)
    big = b"{" + b" " * (SETTINGS_FILE_LIMIT + 128 * 1024) + b"}"
    answer = client.post(
        f"{PAGE}/import?name={name}",
        files={"file": ("big.json", big, "application/json")},
        headers={"X-CSRF-Token": csrf(client, name)},
    )
    assert answer.status_code == 422
    assert alert(answer.text) == (
        "Nothing was saved: the settings file is larger than 16 MiB; it is not one"
    )
    assert home.cli("mapping", "export", name) == before


def test_a_stopped_connection_starts_again(client: httpx.Client, home: WebHome) -> None:
    from host.crm import open_crm
    from host.sync import state

    name = new_connection(home)
    rows = json.loads(home.cli("connections", "list", "--json"))
    guid = next(r for r in rows if r["name"] == name)["guid"]
    crm = open_crm(home.path / "registry.db")
    try:
        with crm.transaction():
            state.set_status(crm, guid, status=state.STOPPED, reason="stopped after 5 failed runs")
    finally:
        crm.close()
    page = client.get(PAGE, params={"name": name}).text
    assert 'id="sync-status" class="badge error">stopped' in page
    assert "stopped after 5 failed runs" in page
    started = post(client, "run", name, action="start")
    assert started.status_code == 303
    page = client.get(started.headers["location"]).text
    assert f"Sync of &#39;{name}&#39; started again." in page
    assert 'id="sync-status" class="badge ok">idle' in page
    assert "Start again" not in page
