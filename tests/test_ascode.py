"""Issue #16, connections as code: `erpsync export` and `erpsync apply`.

Real parts: the session's `erpsync mock-server` subprocess on a loopback port (with its bearer
token), a counting app installed through a real entry point and run in-process (`app:counter`:
it logs every config test it is asked for), real registries in temporary homes, the real CLI.
Canary secrets (the mock server's token, the mock's password, the counting app's API key, a
wrong password) are searched for, as bytes, in every file, plan, JSON document and error.
"""

from __future__ import annotations

import json
import ssl
import threading
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import Result
from cryptography.fernet import Fernet
from helpers.apps import AppFactory
from helpers.cli import assert_one_line_error, heavy_modules_after_help
from helpers.faults import self_signed_cert
from helpers.mock_server import MockServer
from hypothesis import given, settings
from hypothesis import strategies as st

from erpsync_mock_erp import DEMO_LOGIN
from host.admin.ascode import SecretRef, parse
from host.admin.ascode.tomlwrite import dumps as toml_dumps

Invoke = Callable[..., Result]

MOCK_PASSWORD = DEMO_LOGIN["password"]  # the mock accepts only its demo login
API_KEY = "Cnry-Key/7f3a+9c1e@5b"
WRONG = "Wrng-Pw/0c4e+2b7d@9a"

COUNTER_APP = """
    import os

    from host import Access, ConfigField, Connector, FieldType, Response, hookimpl

    KEY = {key!r}


    class Counter(Connector):
        id = "counter"
        name = "Counting ERP"
        vendor = "Tests"
        version = "1.0.0"
        blocking = False
        config_fields = [
            ConfigField("host", "Host", FieldType.TEXT, access=Access.MANDATORY, rank=10),
            ConfigField(
                "api_key", "API key", FieldType.PASSWORD, access=Access.MANDATORY, rank=20
            ),
            ConfigField("port", "Port", FieldType.INTEGER, default=443, rank=30),
        ]

        def test_config(self, config):
            with open(os.environ["ASCODE_TEST_LOG"], "a", encoding="utf-8") as log:
                log.write(str(config.get("host")) + "\\n")
            if config.get("api_key") != KEY:
                return Response.error("The API key was refused.", "bad key", "login_failed")
            return Response.success("Connected to " + str(config.get("host")))


    @hookimpl
    def register_connectors(register):
        register(Counter())
"""


@dataclass
class Env:
    invoke: Invoke
    tmp: Path
    mock: MockServer
    log: Path

    def secrets(self, **extra: str) -> dict[str, str]:
        """The environment `apply` reads the exported references from."""
        return {
            "ERPSYNC_TOKEN_MOCK_ERP": self.mock.token,
            "ERPSYNC_SECRET_ACME_PASSWORD": MOCK_PASSWORD,
            "ERPSYNC_SECRET_BETA_API_KEY": API_KEY,
            **extra,
        }

    def run(self, *args: str, db: Path | None = None, env: dict[str, str] | None = None) -> Result:
        db_args = ("--db", str(db)) if db is not None else ()
        return self.invoke(*args, *db_args, env=env)

    def ok(self, *args: str, db: Path | None = None, env: dict[str, str] | None = None) -> Result:
        result = self.run(*args, db=db, env=env)
        assert result.exit_code == 0, (args, result.stdout, result.stderr)
        return result

    def tests_asked(self) -> list[str]:
        return self.log.read_text().splitlines() if self.log.exists() else []


@pytest.fixture
def env(
    invoke: Invoke,
    erpsync_home: Path,
    tmp_path: Path,
    mock_server: MockServer,
    make_app: AppFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> Env:
    log = tmp_path / "config-tests.log"
    monkeypatch.setenv("ASCODE_TEST_LOG", str(log))
    make_app("counter", COUNTER_APP.format(key=API_KEY))
    return Env(invoke, tmp_path, mock_server, log)


def build_home(env: Env) -> None:
    """Home A, through the CLI: users, a group, two connectors (one with a token), two
    connections (one restricted, one active with sync settings) and a sync priority."""
    (env.tmp / "pw").write_text(MOCK_PASSWORD)
    (env.tmp / "key").write_text(API_KEY)
    for args in [
        ("users", "add", "alice"),
        ("users", "add", "bob"),
        ("groups", "add", "sales"),
        ("groups", "add-member", "sales", "alice"),
        ("connectors", "add", "mock-erp", env.mock.url, "--token-file", str(env.mock.token_file)),
        ("connectors", "add", "counter", "app:counter"),
        (
            "connections",
            "add",
            "acme",
            "--connector",
            "mock-erp",
            "--config",
            "username=demo",
            "--config",
            f"password=@{env.tmp / 'pw'}",
            "--config",
            "company=2",
            "--description",
            'Acme AS \u2013 "main" ERP',
            "--no-input",
        ),
        (
            "connections",
            "add",
            "beta",
            "--connector",
            "counter",
            "--config",
            "host=erp.beta.example",
            "--config",
            f"api_key=@{env.tmp / 'key'}",
            "--user",
            "bob",
            "--group",
            "sales",
            "--no-input",
        ),
        ("mapping", "enable", "acme", "customer"),
        (
            "mapping",
            "set",
            "acme",
            "customer",
            "NAME",
            "--crm-field",
            "name",
            "--direction",
            "both",
        ),
        (
            "mapping",
            "set",
            "acme",
            "customer",
            "CUSTGROUP",
            "--crm-field",
            "category",
            "--direction",
            "erp_to_crm",
        ),
        ("mapping", "lists", "acme", "--auto"),
        ("defaults", "set", "acme", "customer", "CURRENCY", "--value", "EUR"),
        ("defaults", "set", "acme", "customer", "PAYTERMS", "--ask"),
        ("sync", "interval", "acme", "600"),
        ("connections", "activate", "acme"),
        ("sync", "priority", "set", "acme"),
    ]:
        env.ok(*args)


def canaries(env: Env) -> dict[str, bytes]:
    return {
        "connector token": env.mock.token.encode(),
        "mock password": MOCK_PASSWORD.encode(),
        "API key": API_KEY.encode(),
        "wrong password": WRONG.encode(),
    }


def assert_no_canary(env: Env, where: str, data: bytes | str) -> None:
    raw = data.encode() if isinstance(data, str) else data
    for name, canary in canaries(env).items():
        assert canary not in raw, f"the {name} leaked into {where}"
        assert json.dumps(canary.decode())[1:-1].encode() not in raw, f"{name} in {where}"


# --- the round trip ----------------------------------------------------------------------------


@pytest.mark.slow
def test_export_apply_on_an_empty_home_export_gives_the_same_file(env: Env) -> None:
    build_home(env)
    exported = env.ok("export").stdout
    first = env.tmp / "home.toml"
    env.ok("export", "-o", str(first))
    assert first.read_text(encoding="utf-8") == exported
    assert_no_canary(env, "the exported TOML", first.read_bytes())
    document = tomllib.loads(exported)
    assert document["connectors"]["mock-erp"]["token"] == {"env": "ERPSYNC_TOKEN_MOCK_ERP"}
    assert document["connections"]["acme"]["config"]["password"] == {
        "env": "ERPSYNC_SECRET_ACME_PASSWORD"
    }
    assert document["connections"]["beta"]["users"] == ["bob"]
    sync = document["connections"]["acme"]["sync"]
    assert sync["interval_seconds"] == 600
    assert sync["lists"]["customer_groups"]["PUB"] == ["category", "4"]
    assert {"erp_field": "PAYTERMS", "ask": True, "mandatory": False} in (
        sync["types"]["customer"]["defaults"]
    )
    assert document["sync_priority"] == ["acme"]

    # Home B: empty, and its own key (no secret travels in any form but the references).
    home_b = env.tmp / "b" / "registry.db"
    key_b = {"ERPSYNC_SECRET_KEY": Fernet.generate_key().decode()}
    asked = len(env.tests_asked())
    applied = env.ok("apply", str(first), db=home_b, env={**key_b, **env.secrets()})
    assert (
        "+ connection acme: config, sync (tested by the connector before it is saved; "
        "activated)" in applied.stdout
    )
    assert "Applied 8 changes." in applied.stdout
    assert len(env.tests_asked()) > asked  # beta was tested by its connector before saving
    again = env.ok("export", db=home_b, env=key_b).stdout
    assert again == exported  # byte for byte

    # Applying it again changes nothing and tests nothing.
    asked = len(env.tests_asked())
    unchanged = env.ok("apply", str(first), db=home_b, env={**key_b, **env.secrets()})
    assert "Plan: 0 to create, 0 to update, 7 unchanged." in unchanged.stdout
    assert "Nothing to change." in unchanged.stdout
    assert len(env.tests_asked()) == asked

    # The same through YAML.
    yaml_file = env.tmp / "home.yaml"
    env.ok("export", "-o", str(yaml_file))
    assert_no_canary(env, "the exported YAML", yaml_file.read_bytes())
    home_c = env.tmp / "c" / "registry.db"
    env.ok("apply", str(yaml_file), db=home_c, env={**key_b, **env.secrets()})
    assert env.ok("export", "--format", "yaml", db=home_c, env=key_b).stdout == (
        yaml_file.read_text(encoding="utf-8")
    )
    assert env.ok("export", db=home_c, env=key_b).stdout == exported


# --- secrets ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_no_secret_in_the_file_the_plan_json_or_errors(env: Env) -> None:
    build_home(env)
    file = env.tmp / "home.toml"
    env.ok("export", "-o", str(file))
    home_b = env.tmp / "b" / "registry.db"
    outputs: dict[str, Result] = {
        "dry run": env.ok("apply", str(file), "--dry-run", db=home_b, env=env.secrets()),
        "dry run --json": env.ok(
            "apply", str(file), "--dry-run", "--json", db=home_b, env=env.secrets()
        ),
        "a missing variable": env.run("apply", str(file), db=home_b, env={}),
    }
    # Neither a dry run nor a file that cannot be applied writes anything, not even a registry.
    assert not home_b.exists()
    outputs |= {
        "a wrong password": env.run(
            "apply", str(file), db=home_b, env=env.secrets(ERPSYNC_SECRET_ACME_PASSWORD=WRONG)
        ),
        "a wrong password, --json": env.run(
            "apply",
            str(file),
            "--json",
            db=home_b,
            env=env.secrets(ERPSYNC_SECRET_ACME_PASSWORD=WRONG),
        ),
        "apply --json": env.ok("apply", str(file), "--json", db=home_b, env=env.secrets()),
    }
    assert f"(No registry at {home_b} yet: planned from an empty home.)" in (
        outputs["dry run"].stdout
    )
    plan = json.loads(outputs["dry run --json"].stdout)
    assert plan["dry_run"] is True
    assert {s["name"] for s in plan["plan"]["steps"] if s["kind"] == "connection"} == {
        "acme",
        "beta",
    }
    assert outputs["a wrong password"].exit_code == 3  # the connector refused: nothing saved
    assert "connection acme" in outputs["a wrong password"].stderr
    # A secret written into the file is refused without being repeated.
    inline = env.tmp / "inline.toml"
    inline.write_text(
        file.read_text().replace(
            'password = { env = "ERPSYNC_SECRET_ACME_PASSWORD" }', f'password = "{WRONG}"'
        )
    )
    outputs["a secret in the file"] = env.run("apply", str(inline), db=home_b, env=env.secrets())
    outputs["a secret in the file, --json"] = env.run(
        "apply", str(inline), "--json", db=home_b, env=env.secrets()
    )
    assert outputs["a secret in the file"].exit_code == 1
    assert "connections.acme.config.password: a secret field holds a value" in (
        outputs["a secret in the file"].stderr
    )
    for name, result in outputs.items():
        assert "Traceback" not in result.output, name
        assert_no_canary(env, f"{name} (stdout)", result.stdout_bytes)
        assert_no_canary(env, f"{name} (stderr)", result.stderr_bytes)
    assert_no_canary(env, "home B's export", env.ok("export", db=home_b).stdout)


# --- checking the file -----------------------------------------------------------------------


def test_every_problem_is_one_line_naming_its_path_and_nothing_is_written(
    env: Env, tmp_path: Path
) -> None:
    env.ok("connectors", "add", "counter", "app:counter")
    file = tmp_path / "bad.toml"
    file.write_text(
        """
format = "erpsync-home/1"
users = ["alice"]

[groups]
sales = ["alice", "nobody"]

[connectors.counter]
url = "app:counter"
colour = "blue"

[connections.beta]
connector = "counter"
groups = ["sales", "ghosts"]
active = "yes"

[connections.beta.config]
host = "erp.beta.example"
api_key = { env = "ASCODE_UNSET_VARIABLE" }
port = "eighty"
speed = 3

[connections.gamma]
connector = "missing"
""",
        encoding="utf-8",
    )
    before = env.ok("audit", "--json").stdout
    result = env.run("apply", str(file))
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert lines[-1] == f"Error: 6 problems in {file}; nothing was changed"
    assert sorted(lines[:-1]) == sorted(
        f"{file}: {problem}"
        for problem in [
            "connectors.counter.colour: unknown key (expected one of: url, token, ca_bundle)",
            "connections.beta.active: expected true or false, got a string",
            "groups.sales[1]: no user 'nobody'",
            "connections.beta.groups[1]: no group 'ghosts'",
            "connections.beta.config.api_key: environment variable ASCODE_UNSET_VARIABLE "
            "is not set",
            "connections.gamma.connector: no connector 'missing'",
        ]
    )
    assert env.ok("audit", "--json").stdout == before
    assert env.ok("users", "list", "--json").stdout.strip() == "[]"


def test_config_values_are_checked_by_the_connectors_fields(env: Env, tmp_path: Path) -> None:
    env.ok("connectors", "add", "counter", "app:counter")
    file = tmp_path / "bad.toml"
    file.write_text(
        """
format = "erpsync-home/1"

[connections.beta]
connector = "counter"

[connections.beta.config]
api_key = { env = "ASCODE_UNSET_VARIABLE" }
port = "eighty"
speed = 3
""",
        encoding="utf-8",
    )
    result = env.run("apply", str(file), "--json")
    assert result.exit_code == 1, result.output
    problems = json.loads(result.stdout)["problems"]
    assert set(problems) == {
        "connections.beta.config.api_key: environment variable ASCODE_UNSET_VARIABLE is not set",
        "connections.beta.config.host: is mandatory",
        "connections.beta.config.port: expected a whole number, got 'eighty'",
        "connections.beta.config.speed: not a config field of connector 'counter'",
    }
    assert [line.split(": ", 1)[1] for line in result.stderr.splitlines()[:-1]] == problems
    assert env.ok("connections", "list", "--json").stdout.strip() == "[]"


def test_the_files_problems_are_named_even_when_a_connector_cannot_be_reached(
    env: Env, tmp_path: Path
) -> None:
    file = tmp_path / "far.toml"
    file.write_text(
        """
format = "erpsync-home/1"
sync_priority = "beta"

[connectors.far]
url = "http://127.0.0.1:9/connectors/far"

[connections.beta]
connector = "far"
config = { host = "erp.example" }
""",
        encoding="utf-8",
    )
    result = env.run("apply", str(file), "--dry-run")
    assert result.exit_code == 1, result.output
    lines = result.stderr.splitlines()
    assert lines[0].startswith(f"{file}: sync_priority: expected a list")
    assert lines[-1] == f"Error: 1 problem in {file}; nothing was changed"


# --- changes ---------------------------------------------------------------------------------


def add_beta(env: Env, *extra: str, name: str = "beta") -> None:
    (env.tmp / "key").write_text(API_KEY)
    env.ok(
        "connections",
        "add",
        name,
        "--connector",
        "counter",
        "--config",
        "host=erp.beta.example",
        "--config",
        f"api_key=@{env.tmp / 'key'}",
        "--no-input",
        *extra,
    )


def test_a_changed_connection_is_tested_before_it_is_saved(env: Env) -> None:
    env.ok("users", "add", "bob")
    env.ok("connectors", "add", "counter", "app:counter")
    add_beta(env)
    file = env.tmp / "home.toml"
    env.ok("export", "-o", str(file))
    text = file.read_text()
    text = text.replace("port = 443", "port = 8443")
    text = text.replace('description = ""', 'description = "the beta ERP"')
    text = text.replace('scope = "everyone"', 'scope = "restricted"\nusers = ["bob"]')
    file.write_text(text)
    asked = len(env.tests_asked())
    plan = env.ok("apply", str(file), "--dry-run", env=env.secrets()).stdout
    assert (
        "  ~ connection beta: description, scope, config.port "
        "(tested by the connector before it is saved)"
    ) in plan
    assert len(env.tests_asked()) == asked  # a dry run tests nothing

    refused = env.run("apply", str(file), env=env.secrets(ERPSYNC_SECRET_BETA_API_KEY=WRONG))
    assert refused.exit_code == 3, refused.output
    assert refused.stderr.startswith("Error: connection beta: connection test failed")
    assert "The API key was refused." in refused.stderr
    assert "(0 of 1 changes applied; fix it and apply again)" in refused.stderr
    stored = json.loads(env.ok("connections", "show", "beta", "--json").stdout)
    assert (stored["config"]["port"], stored["description"], stored["scope"]) == (
        443,
        "",
        "everyone",
    )

    applied = env.ok("apply", str(file), env=env.secrets())
    assert "Applied 1 change." in applied.stdout
    stored = json.loads(env.ok("connections", "show", "beta", "--json").stdout)
    assert (stored["config"]["port"], stored["description"], stored["users"]) == (
        8443,
        "the beta ERP",
        ["bob"],
    )
    assert env.ok("export").stdout == file.read_text()


@pytest.mark.slow
def test_an_active_connection_stays_active_and_unchanged_when_its_new_config_fails(
    env: Env,
) -> None:
    build_home(env)
    file = env.tmp / "home.toml"
    env.ok("export", "-o", str(file))
    file.write_text(file.read_text().replace("company = 2", "company = 3"))
    plan = env.ok("apply", str(file), "--dry-run", env=env.secrets()).stdout
    assert (
        "  ~ connection acme: config.company (tested by the connector before it is saved; "
        "deactivated while its config changes; activated again)"
    ) in plan
    refused = env.run("apply", str(file), env=env.secrets(ERPSYNC_SECRET_ACME_PASSWORD=WRONG))
    assert refused.exit_code == 3, refused.output
    acme = json.loads(env.ok("connections", "show", "acme", "--json").stdout)
    assert (acme["active"], acme["config"]["company"]) == (True, 2)
    env.ok("apply", str(file), env=env.secrets())
    acme = json.loads(env.ok("connections", "show", "acme", "--json").stdout)
    assert (acme["active"], acme["config"]["company"]) == (True, 3)
    assert acme["last_test"]["message"].startswith("Connected to erp.mock.local as demo")


def test_what_the_file_does_not_name_is_left_alone_unless_pruned(env: Env) -> None:
    env.ok("users", "add", "alice")
    env.ok("connectors", "add", "counter", "app:counter")
    add_beta(env)
    file = env.tmp / "home.toml"
    env.ok("export", "-o", str(file))
    env.ok("users", "add", "carol")
    env.ok("groups", "add", "ops")
    add_beta(env, name="old")
    kept = env.ok("apply", str(file), env=env.secrets())
    assert (
        "Left alone (not in the file; --prune deletes them): connection old, group ops, user carol"
        in kept.stdout
    )
    assert "Nothing to change." in kept.stdout
    pruned = env.ok("apply", str(file), "--prune", env=env.secrets()).stdout
    assert "  - connection old" in pruned
    assert "Plan: 0 to create, 0 to update, 3 to delete, 3 unchanged." in pruned
    assert "done: - user carol" in pruned
    assert env.ok("export").stdout == file.read_text()


def test_secrets_from_files_next_to_the_applied_file(env: Env) -> None:
    env.ok("connectors", "add", "counter", "app:counter")
    folder = env.tmp / "repo"
    (folder / "secrets").mkdir(parents=True)
    (folder / "secrets" / "beta-key").write_text(API_KEY + "\n")
    file = folder / "home.toml"
    file.write_text(
        'format = "erpsync-home/1"\n\n'
        "[connectors.counter]\n"
        'url = "app:counter"\n\n'
        "[connections.beta]\n"
        'connector = "counter"\n\n'
        "[connections.beta.config]\n"
        'host = "erp.beta.example"\n'
        'api_key = { file = "secrets/beta-key" }\n'
    )
    applied = env.ok("apply", str(file))
    assert "+ connection beta: config" in applied.stdout
    assert env.tests_asked()[-1] == "erp.beta.example"
    # The export names the file the secret came from, not a default variable: the file in
    # git survives a round trip. Never the value.
    exported = env.ok("export").stdout
    assert tomllib.loads(exported)["connections"]["beta"]["config"]["api_key"] == {
        "file": "secrets/beta-key"
    }
    assert API_KEY not in exported
    # Another reference to the same value: nothing to change, but the new reference is kept.
    (folder / "beta.env-key").write_text(API_KEY + "\n")
    moved = folder / "moved.toml"
    moved.write_text(file.read_text().replace("secrets/beta-key", "beta.env-key"))
    assert "Nothing to change." in env.ok("apply", str(moved)).stdout
    assert tomllib.loads(env.ok("export").stdout)["connections"]["beta"]["config"]["api_key"] == {
        "file": "beta.env-key"
    }
    # Removing the connection forgets its references: a new one gets the default name.
    env.ok("connections", "remove", "beta", "--yes")
    env.ok("apply", str(file))
    env.ok("connections", "remove", "beta", "--yes")
    env.ok(
        *("connections", "add", "beta", "--connector", "counter", "--no-input"),
        *("--config", "host=erp.beta.example", "--config", f"api_key={API_KEY}"),
    )
    assert tomllib.loads(env.ok("export").stdout)["connections"]["beta"]["config"]["api_key"] == {
        "env": "ERPSYNC_SECRET_BETA_API_KEY"
    }
    missing = env.tmp / "missing.toml"
    missing.write_text(file.read_text().replace("secrets/beta-key", "secrets/nope"))
    result = env.run("apply", str(missing))
    assert result.exit_code == 1
    assert (
        f"{missing}: connections.beta.config.api_key: file 'secrets/nope': no such file"
        in result.stderr
    )


def test_a_file_that_is_not_toml_is_one_line(env: Env) -> None:
    file = env.tmp / "broken.toml"
    file.write_text('format = "erpsync-home/1"\n[connections\n')
    result = env.run("apply", str(file))
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith(f"{file}: not valid TOML: ")
    assert lines[1] == f"Error: 1 problem in {file}; nothing was changed"
    wrong = env.tmp / "old.toml"
    wrong.write_text('format = "erpsync-home/0"\n')
    result = env.run("apply", str(wrong))
    assert f'{wrong}: format: expected "erpsync-home/1"' in result.stderr


def test_the_registry_key_cannot_be_referenced(env: Env) -> None:
    env.ok("connectors", "add", "counter", "app:counter")
    file = env.tmp / "home.toml"
    file.write_text(
        'format = "erpsync-home/1"\n[connections.beta]\nconnector = "counter"\n'
        '[connections.beta.config]\napi_key = { env = "ERPSYNC_SECRET_KEY" }\n'
    )
    result = env.run("apply", str(file))
    assert "connections.beta.config.api_key.env: ERPSYNC_SECRET_KEY is the key that " in (
        result.stderr
    )


def test_export_and_apply_help_stay_light() -> None:
    assert (
        heavy_modules_after_help(
            [["export", "--help"], ["apply", "--help"]],
            ("fastapi", "sqlite_utils", "httpx", "asyncio", "yaml"),
        )
        == []
    )


# --- the TOML writer -------------------------------------------------------------------------

names = st.text(min_size=1, max_size=12)
scalars = (
    st.text(max_size=20)
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.booleans()
    | st.floats(allow_nan=False)
)
inline = st.dictionaries(names, scalars, max_size=4)
values = scalars | st.lists(scalars, max_size=4) | st.lists(inline, max_size=3)
tables = st.recursive(
    st.dictionaries(names, values, max_size=5),
    lambda children: st.dictionaries(names, children | values, max_size=4),
    max_leaves=20,
)


@given(tables)
@settings(max_examples=300, deadline=None)
def test_tomllib_reads_back_what_the_writer_writes(document: dict[str, object]) -> None:
    assert tomllib.loads(toml_dumps(document)) == document


def test_secret_references_are_written_inline() -> None:
    text = toml_dumps({"config": {"password": {"env": "X"}, "a b": "\x7f\n"}})
    assert text == '[config]\npassword = { env = "X" }\n"a b" = "\\u007f\\n"\n'


# --- connectors over https, the file's own folder --------------------------------------------


class InfoHandler(BaseHTTPRequestHandler):
    """A connector that answers its info only (enough to be registered)."""

    def do_GET(self) -> None:
        data = {
            "id": "tls",
            "name": "TLS ERP",
            "vendor": "t",
            "version": "1",
            "protocol_version": "1.0",
        }
        body = json.dumps(
            {
                "ok": True,
                "state": "ok",
                "user_explanation": "",
                "tech_explanation": "",
                "error_code": "",
                "data": data,
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def https_connector(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    cert_path, key_path = self_signed_cert(tmp_path)
    server = ThreadingHTTPServer(("127.0.0.1", 0), InfoHandler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}/c/tls", cert_path
    finally:
        server.shutdown()
        server.server_close()


def test_a_ca_bundle_is_exported_as_its_path_and_read_relative_to_the_file(
    env: Env, https_connector: tuple[str, Path]
) -> None:
    url, ca_path = https_connector
    env.ok("connectors", "add", "tls", url, "--ca-bundle", str(ca_path))
    exported = env.ok("export").stdout
    assert tomllib.loads(exported)["connectors"]["tls"] == {
        "url": url,
        "ca_bundle": str(ca_path.resolve()),
    }
    # In a repository the bundle sits next to the file: a relative path is read from there.
    repo = env.tmp / "repo"
    repo.mkdir()
    (repo / "corp-ca.pem").write_bytes(ca_path.read_bytes())
    file = repo / "home.toml"
    file.write_text(exported.replace(str(ca_path.resolve()), "corp-ca.pem"))
    home_b = env.tmp / "b" / "registry.db"
    env.ok("apply", str(file), db=home_b)
    assert tomllib.loads(env.ok("export", db=home_b).stdout)["connectors"]["tls"] == {
        "url": url,
        "ca_bundle": str((repo / "corp-ca.pem").resolve()),
    }
    # Without the bundle the connector's certificate does not verify: apply stops there.
    file.write_text(exported.replace(f'ca_bundle = "{ca_path.resolve()}"\n', ""))
    refused = env.run("apply", str(file), db=env.tmp / "c" / "registry.db")
    assert refused.exit_code == 5, refused.output
    assert "certificate does not verify" in refused.stderr


def test_a_missing_file_is_one_line(env: Env) -> None:
    line = assert_one_line_error(env.run("apply", str(env.tmp / "nope.toml")), 1)
    assert line == f"Error: file '{env.tmp / 'nope.toml'}': no such file"


def test_the_sample_in_the_docs_is_a_valid_file() -> None:
    text = (Path(__file__).resolve().parents[1] / "docs/as-code.md").read_text(encoding="utf-8")
    sample = text.split("```toml\n", 1)[1].split("```", 1)[0]
    desired = parse(tomllib.loads(sample))
    assert desired.connections["acme"].config["password"] == SecretRef(
        env="ERPSYNC_SECRET_ACME_PASSWORD"
    )
    assert desired.connections["acme"].sync is not None
