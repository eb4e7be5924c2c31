"""Connector answers are untrusted (issue #10, items 1, 2, 5 and 10).

A connector that is not ours (tests/helpers/hostile_connector.py: a plain http.server, so no
server-side scrubbing helps) repeats the password and the Authorization header in every
explanation, label and list text, and puts terminal escapes into its info, labels and list
names. The real `erpsync` CLI is run against it; no secret may reach stdout, stderr, JSON,
the registry file (with its -wal and -shm) or the audit log, and no raw control or format
character may reach a terminal.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import Result
from helpers import MOCK_PASSWORD
from helpers.cli import assert_one_line_error
from helpers.hostile_connector import HostileConnector, hostile_connector

from host.protocol.scrub import MASK, WITHHELD, Scrubber, withheld_line

Invoke = Callable[..., Result]

PASSWORD = "LeakMe999"
TOKEN = "EVIL-tok-4f1c9e2b77"
CONFIG = ["--config", "server=erp.example.test", "--config", "username=bob"]
RAW_CONTROLS = ("\x1b", "\x07", "\r", "\x9b", "\u200b", "\u202e", "\x00", "\x7f")


@pytest.fixture
def evil() -> Iterator[HostileConnector]:
    with hostile_connector() as server:
        yield server


@pytest.fixture
def cli(invoke: Invoke, erpsync_home: Path) -> Callable[..., Result]:
    """Run erpsync and check every output for secrets and raw terminal controls."""

    def run(*args: str, expect: int = 0, secrets: tuple[str, ...] = (PASSWORD, TOKEN)) -> Result:
        result = invoke(*args)
        assert result.exit_code == expect, (args, result.exit_code, result.output)
        assert "Traceback" not in result.output
        assert_clean(result.stdout + result.stderr, secrets)
        return result

    return run


def assert_clean(text: str, secrets: tuple[str, ...] = (PASSWORD, TOKEN)) -> None:
    for secret in secrets:
        assert secret.casefold() not in text.casefold(), (secret, text)
    for ch in RAW_CONTROLS:
        assert ch not in text, (repr(ch), text)
    assert all(unicodedata.category(ch) not in ("Cc", "Cf") for ch in text if ch != "\n"), text


def assert_registry_clean(home: Path, secrets: tuple[str, ...] = (PASSWORD, TOKEN)) -> None:
    """The registry file, its WAL and shared memory hold no secret in clear."""
    files = [p for p in home.glob("registry.db*") if p.is_file()]
    assert any(p.name == "registry.db" for p in files), files
    for path in files:
        data = path.read_bytes()
        for secret in secrets:
            assert secret.encode() not in data, (path.name, secret)


def add_evil(cli: Callable[..., Result], evil: HostileConnector, name: str = "evil") -> Result:
    return cli("connectors", "add", name, evil.url, "--token", TOKEN)


# --- item 1: a connector that repeats a secret ------------------------------------------------


def test_a_connector_repeating_the_password_and_token_in_a_failed_test_never_shows_them(
    cli: Callable[..., Result], evil: HostileConnector, erpsync_home: Path
) -> None:
    """The issue's attack: `connections add ... --no-input` printed "Login failed for bob
    with password LeakMe999 (auth Bearer EVIL...)"."""
    add_evil(cli, evil)
    failed = cli(
        "connections", "add", "acme", "--connector", "evil", *CONFIG,
        "--config", f"password={PASSWORD}", "--no-input", expect=3,
    )  # fmt: skip
    line = assert_one_line_error(failed, 3)
    assert "connection test failed, nothing was saved" in line
    assert f"Login failed for bob with password {MASK} (auth Bearer {MASK})" in line
    as_json = cli(
        "connections", "add", "acme", "--connector", "evil", *CONFIG,
        "--config", f"password={PASSWORD}", "--no-input", "--json", expect=3,
    )  # fmt: skip
    assert "Login failed" in as_json.stderr
    assert cli("connections", "list", "--json").stdout.strip() == "[]"
    assert_registry_clean(erpsync_home)


def test_connector_texts_are_scrubbed_in_info_labels_and_list_names(
    cli: Callable[..., Result], evil: HostileConnector, erpsync_home: Path
) -> None:
    """Info vendor/description, field labels/descriptions and list item texts repeat the
    Authorization header (and, for a saved connection, the password)."""
    added = add_evil(cli, evil)
    assert "Evil ERP" in added.stdout and f"Bearer {MASK}" in added.stdout
    shown = cli("connectors", "show", "evil", "--check", "--json")
    info = json.loads(shown.stdout)["info"]
    assert info["vendor"].startswith(f"Evil AS Bearer {MASK}")
    assert info["description"] == f"sends Bearer {MASK}"
    assert info["id"] == "evil"
    cli("connectors", "show", "evil", "--check")
    evil.test_config_mode = "ok"
    saved = cli(
        "connections", "add", "acme", "--connector", "evil", *CONFIG,
        "--config", f"password={PASSWORD}", "--config", "company=2", "--no-input",
    )  # fmt: skip
    assert f"Connected as bob with password {MASK}" in saved.stdout
    show = json.loads(cli("connections", "show", "acme", "--json").stdout)
    labels = [f["display_name"] for f in show["actor_types"]["customer"]["fields"]]
    assert f"Password {MASK}" in labels
    assert_registry_clean(erpsync_home)


def test_the_client_scrubs_whatever_the_connector_is_written_in(evil: HostileConnector) -> None:
    """The ConnectorClient itself: explanations, labels, list texts and error messages."""
    import asyncio

    from host.client import CallFailed, ConnectorClient

    guid = "11111111-2222-3333-4444-555555555555"

    async def go() -> list[str]:
        texts: list[str] = []
        async with ConnectorClient(evil.url, token=TOKEN) as client:
            info = await client.info()
            texts += [str(v) for v in info.values()]
            fields = await client.config_fields()
            texts += [f.display_name + f.description for f in fields]
            config = {"server": "s", "username": "bob", "password": PASSWORD}
            response = await client.test_config(config)
            texts += [response.user_explanation, response.tech_explanation]
            saved = await client.save_connection(guid, config)
            texts.append(saved.user_explanation)
            tested = await client.test_connection(guid)
            texts += [tested.user_explanation, tested.tech_explanation]
            texts += list((await client.get_list(guid, "companies")).values())
            try:
                await client.search_actors(guid, "customer", "x")
            except CallFailed as exc:
                texts += [str(exc), exc.response.user_explanation, exc.response.tech_explanation]
            else:
                raise AssertionError("the hostile connector answers not_supported")
        return texts

    texts = asyncio.run(go())
    for text in texts:
        assert PASSWORD not in text and TOKEN not in text, text
    assert any(f"password {MASK}" in t for t in texts)


# --- item 2: stored in clear --------------------------------------------------------------------


def test_a_repeated_password_is_never_stored_as_the_last_test_message(
    cli: Callable[..., Result], evil: HostileConnector, erpsync_home: Path
) -> None:
    """POST /v1/connections/{guid}/test repeats the password: test, list, show, test --all,
    activate and the registry file must not hold it."""
    add_evil(cli, evil)
    evil.test_config_mode = "ok"
    cli("connections", "add", "acme", "--connector", "evil", *CONFIG,
        "--config", f"password={PASSWORD}", "--no-input")  # fmt: skip
    cli("connections", "add", "beta", "--connector", "evil", *CONFIG,
        "--config", "password=Other-Secret-42", "--no-input")  # fmt: skip
    evil.test_connection_mode = "warning"
    tested = cli("connections", "test", "acme", "--json")
    assert json.loads(tested.stdout)["message"].startswith(f"Connected as bob with password {MASK}")
    evil.test_connection_mode = "error"
    cli("connections", "test", "acme", expect=3)
    cli("connections", "test", "acme", "--json", expect=3)
    every = cli(
        "connections", "test", "--all", expect=3, secrets=(PASSWORD, TOKEN, "Other-Secret-42")
    )
    assert "Login failed" in every.stdout
    cli("connections", "test", "--all", "--json", expect=3)
    rows = json.loads(cli("connections", "list", "--json").stdout)
    assert [r["last_test"]["message"].startswith("Login failed for bob") for r in rows] == [
        True,
        True,
    ]
    cli("connections", "list")
    cli("connections", "show", "acme")
    cli("connections", "show", "acme", "--json")
    refused = cli("connections", "activate", "acme", expect=1)
    assert "the last test failed: Login failed for bob" in refused.stderr
    cli("connections", "activate", "acme", "--json", expect=1)
    evil.test_connection_mode = "ok"
    edited = cli("connections", "edit", "acme", "--config", "password=New-Secret-77",
                 "--no-input", secrets=(PASSWORD, TOKEN, "New-Secret-77"))  # fmt: skip
    assert f"and tested: Connected as bob with password {MASK}" in edited.stdout
    audit = cli("audit", "--json")
    assert json.loads(audit.stdout)
    cli("audit")
    assert_registry_clean(erpsync_home, (PASSWORD, TOKEN, "Other-Secret-42", "New-Secret-77"))


def test_the_registry_scrubs_a_test_message_whoever_composed_it(erpsync_home: Path) -> None:
    """Defence in depth: a message handed to the registry repeating the connection's
    password or the connector's token is stored scrubbed."""
    from host.registry import Registry

    registry = Registry.open()
    registry.add_connector("evil", "http://127.0.0.1:9/evil", TOKEN)
    record = registry.add_connection(
        guid="11111111-2222-3333-4444-555555555555",
        name="acme",
        connector="evil",
        config={"username": "bob", "password": PASSWORD},
        secret_keys=["password"],
        test_state="ok",
        test_message=f"hello {PASSWORD}",
    )
    assert record.last_test_message == f"hello {MASK}"
    registry.record_test(record.guid, "error", f"token {TOKEN} and {PASSWORD}")
    assert registry.connection("acme").last_test_message == f"token {MASK} and {MASK}"
    registry.close()
    assert_registry_clean(erpsync_home)


# --- conformance report -------------------------------------------------------------------------


def test_the_conformance_report_masks_the_password_and_token(
    cli: Callable[..., Result], evil: HostileConnector
) -> None:
    """`apps check` printed "Connected ... (password ...)" from a connector's message."""
    evil.test_config_mode = "ok"
    args = ["apps", "check", evil.url, "--token", TOKEN, *CONFIG, "--config",
            f"password={PASSWORD}"]  # fmt: skip
    human = cli(*args, expect=3)
    assert "Conformance of evil" in human.stdout
    report = json.loads(cli(*args, "--json", expect=3).stdout)
    assert PASSWORD not in json.dumps(report) and TOKEN not in json.dumps(report)
    assert MASK in json.dumps(report)


def test_the_conformance_runner_masks_its_report() -> None:
    """The pytest plugin and `apps check` share run_suite: the report it returns is masked."""
    from host.conformance.model import CheckResult, Status, SuiteReport
    from host.conformance.runner import scrub_report

    report = SuiteReport(target="x", connector={"id": "evil", "vendor": f"v {TOKEN}"})
    report.results.append(
        CheckResult("a", "A", Status.FAIL, f"Connected (password {PASSWORD})", "x", [TOKEN])
    )
    scrub_report(report, Scrubber([PASSWORD, TOKEN]))
    assert report.results[0].message == f"Connected (password {MASK})"
    assert report.results[0].got == [MASK]
    assert report.connector["vendor"] == f"v {MASK}"


# --- item 5: scrubbing by substring -------------------------------------------------------------


def test_a_password_inside_a_word_withholds_the_text_instead_of_hinting(
    invoke: Invoke, erpsync_home: Path
) -> None:
    """Password ".local" with server "erp.mock.local": the mock ERP's "Login to
    erp.mock.local failed" became "Login to erp.mock**** failed", hinting at the password."""
    assert invoke("connectors", "add", "mock", "app:mock").exit_code == 0
    result = invoke(
        "connections", "add", "acme", "--connector", "mock", "--config", "server=erp.mock.local",
        "--config", "username=demo", "--config", "password=.local", "--no-input",
    )  # fmt: skip
    line = assert_one_line_error(result, 3)
    assert "****" not in line and "erp.mock" not in line, line
    assert "error_code: login_failed" in line and WITHHELD in line


@pytest.mark.parametrize("password", ["7", "ab", "xyz", "pass"])
def test_a_short_password_repeated_by_the_connector_is_not_shown(
    cli: Callable[..., Result], evil: HostileConnector, password: str
) -> None:
    """Passwords of 1-4 characters were not scrubbed at all."""
    add_evil(cli, evil)
    failed = cli(
        "connections", "add", "acme", "--connector", "evil", *CONFIG,
        "--config", f"password={password}", "--no-input", expect=3,
    )  # fmt: skip
    line = assert_one_line_error(failed, 3)
    assert f"password {password}" not in line
    assert "test config failed (error_code: login_failed)" in line and WITHHELD in line


def test_the_scrubber_masks_whole_tokens_and_withholds_anything_that_would_hint() -> None:
    scrub = Scrubber(["LeakMe999", ".local", "7", "", None, "   "])
    assert scrub.text("password LeakMe999 is wrong") == f"password {MASK} is wrong"
    assert scrub.text("password=LEAKME999;") == f"password={MASK};"
    assert scrub.text("no secret here") == "no secret here"
    assert scrub.text("version 2017 of it") == "version 2017 of it"  # "7" inside a word
    for leaky in (
        "host erp.mock.local",  # a long secret inside a larger word
        "xLeakMe999y",
        "code 7 failed",  # a short secret as a whole token: masking would hint
        "Leak\u200bMe999",  # zero-width characters woven into it
    ):
        assert scrub.text(leaky, operation="test config", error_code="e1") == withheld_line(
            "test config", "e1"
        ), leaky
    assert withheld_line("info") == f"info: {WITHHELD}"
    assert Scrubber().text("anything LeakMe999") == "anything LeakMe999"


# --- item 10: control and format characters -----------------------------------------------------


def test_connector_escape_codes_are_escaped_in_every_human_output(
    cli: Callable[..., Result], evil: HostileConnector
) -> None:
    """Info name/vendor with ESC, OSC, BEL and a forged line; labels and list names too."""
    added = add_evil(cli, evil)
    assert "FORGED: active yes" in added.stdout  # shown, but on the same line, escaped
    assert len(added.stdout.strip().splitlines()) == 1
    assert "\\x1b[2J" in added.stdout
    cli("connectors", "show", "evil", "--check")
    cli("connectors", "list")
    evil.test_config_mode = "ok"
    cli("connections", "add", "acme", "--connector", "evil", *CONFIG,
        "--config", f"password={PASSWORD}", "--no-input")  # fmt: skip
    cli("connections", "show", "acme")
    cli("connections", "list")
    evil.test_connection_mode = "error"
    cli("connections", "test", "--all", expect=3)
    cli("apps", "check", evil.url, "--token", TOKEN, *CONFIG, "--config",
        f"password={PASSWORD}", expect=3)  # fmt: skip


def test_json_output_carries_no_raw_terminal_control(
    cli: Callable[..., Result], evil: HostileConnector
) -> None:
    added = add_evil(cli, evil)
    shown = cli("connectors", "show", "evil", "--check", "--json")
    info = json.loads(shown.stdout)["info"]
    assert "\x1b[2J" in info["name"] and "\u200b" in info["name"]  # the value, intact
    assert "\\u001b" in shown.stdout and "\\u200b" in shown.stdout and "\\u009b" in shown.stdout
    assert added.exit_code == 0


def test_admin_text_is_escaped_and_long_values_are_cut(
    cli: Callable[..., Result], invoke: Invoke
) -> None:
    """--description with a newline and ESC, ESC in the audit's admin name, a long value."""
    assert invoke("connectors", "add", "mock", "app:mock").exit_code == 0
    forged = "line one\n\x1b[2JFORGED: active yes\u202e"
    cli("connections", "add", "acme", "--connector", "mock", "--config", "username=demo",
        "--config", f"password={MOCK_PASSWORD}", "--no-input", "--description", forged)  # fmt: skip
    shown = cli("connections", "show", "acme")
    assert "line one\\n\\x1b[2JFORGED: active yes\\u202e" in shown.stdout
    assert json.loads(cli("connections", "show", "acme", "--json").stdout)["description"] == forged
    cli("connections", "edit", "acme", "--description", "x" * 5000)
    long = cli("connections", "show", "acme")
    assert "…[+4800 chars]" in long.stdout and "x" * 201 not in long.stdout
    result = invoke("users", "add", "alice", env={"ERPSYNC_ADMIN": "root\x1b]0;owned\x07\nFAKE"})
    assert result.exit_code == 0
    audit = cli("audit")
    assert "root\\x1b]0;owned\\x07\\nFAKE" in audit.stdout


@pytest.mark.parametrize(
    ("kind", "name", "what"),
    [
        ("users", "al\u200bice", "format"),
        ("groups", "sales\u202e", "format"),
        ("users", "bob\x1b[31m", "control"),
        ("users", "a\u2028b", "control"),
    ],
)
def test_names_with_control_or_format_characters_are_refused(
    invoke: Invoke, erpsync_home: Path, kind: str, name: str, what: str
) -> None:
    line = assert_one_line_error(invoke(kind, "add", name), 1)
    assert f"contains a {what} character" in line
    assert_clean(line)


def test_connection_and_connector_names_are_checked_the_same_way(
    invoke: Invoke, erpsync_home: Path
) -> None:
    line = assert_one_line_error(invoke("connectors", "add", "mo\u200bck", "app:mock"), 1)
    assert "format character (U+200B)" in line
    assert invoke("connectors", "add", "mock", "app:mock").exit_code == 0
    line = assert_one_line_error(
        invoke("connections", "add", "ac\u2066me", "--connector", "mock", "--no-input"), 1
    )
    assert "format character" in line


def test_names_are_nfc_normalised(invoke: Invoke, erpsync_home: Path) -> None:
    decomposed = unicodedata.normalize("NFD", "Åse")
    assert decomposed != "Åse"
    assert invoke("users", "add", decomposed).exit_code == 0
    names = [u["name"] for u in json.loads(invoke("users", "list", "--json").stdout)]
    assert names == ["Åse"]
    line = assert_one_line_error(invoke("users", "add", "Åse"), 1)
    assert "already" in line or "exists" in line
