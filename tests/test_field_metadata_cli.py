"""Field metadata v1.1 at the command line: `connections add` asks group by group under the
group titles, skips fields hidden by the values typed so far, shows help and placeholders,
asks again on a pattern mismatch with the connector's message, and stores no hidden value."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result
from helpers.apps import AppFactory
from helpers.fields_app import FIELDS_APP

Invoke = Callable[..., Result]


@pytest.fixture
def fields_connector(make_app: AppFactory, invoke: Invoke, erpsync_home: Path) -> Invoke:
    make_app("fields", FIELDS_APP)
    added = invoke("connectors", "add", "f", "app:fields")
    assert added.exit_code == 0, added.output
    return invoke


def _interactive(monkeypatch: pytest.MonkeyPatch) -> None:
    """Prompts happen only on a terminal; this bypasses just that tty check."""
    import host.cli.connections

    monkeypatch.setattr(host.cli.connections, "_interactive", lambda no_input: not no_input)


def test_prompts_follow_groups_and_skip_hidden_fields(
    fields_connector: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    _interactive(monkeypatch)
    typed = "\n".join(
        [
            "bob",  # user (no group: first)
            "file",  # source, group Source
            "data.csv",  # file_path: refused by its pattern ...
            "/data/erp.csv",  # ... and asked again
            "n",  # verbose, group Advanced: log_file stays hidden
            "",  # description
        ]
    )
    result = fields_connector("connections", "add", "c", "--connector", "f", input=typed + "\n")
    assert result.exit_code == 0, result.output
    err = result.stderr
    order = [
        "User (user)",
        "== Source ==",
        "Source (source)",
        "The CSV export the ERP writes.",  # help
        "for example: /data/erp.csv",  # placeholder
        "File path (file_path)",
        "file_path: an absolute path such as /data/erp.csv",  # the pattern's message
        "== Advanced ==",
        "Verbose (verbose)",
    ]
    positions = [err.find(text) for text in order]
    assert -1 not in positions, (order, positions, err)
    assert positions == sorted(positions), err
    assert "(api_url)" not in err and "(log_file)" not in err  # hidden: never asked
    shown = json.loads(fields_connector("connections", "show", "c", "--json").stdout)
    assert shown["config"] == {
        "user": "bob",
        "source": "file",
        "file_path": "/data/erp.csv",
        "verbose": False,
    }


def test_a_checkbox_typed_so_far_shows_the_field_it_controls(
    fields_connector: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    _interactive(monkeypatch)
    typed = "\n".join(["", "api", "", "y", "/var/log/erp.log", ""])
    result = fields_connector("connections", "add", "c", "--connector", "f", input=typed + "\n")
    assert result.exit_code == 0, result.output
    assert "API URL (api_url)" in result.stderr and "Log file (log_file)" in result.stderr
    assert "(file_path)" not in result.stderr
    config = json.loads(fields_connector("connections", "show", "c", "--json").stdout)["config"]
    assert config["log_file"] == "/var/log/erp.log" and "file_path" not in config


def test_without_prompts_hidden_values_are_dropped_and_required_when_holds(
    fields_connector: Invoke,
) -> None:
    saved = fields_connector(
        "connections", "add", "c", "--connector", "f", "--no-input",
        "--config", "source=api", "--config", "file_path=/not/used", "--config", "log_file=x",
    )  # fmt: skip
    assert saved.exit_code == 0, saved.output
    assert "file_path: not used unless source is 'file'; not saved" in saved.stderr
    assert "log_file: not used unless verbose is true; not saved" in saved.stderr
    config = json.loads(fields_connector("connections", "show", "c", "--json").stdout)["config"]
    assert config == {"source": "api", "api_url": "https://erp.example.test", "verbose": False}

    missing = fields_connector(
        "connections", "add", "d", "--connector", "f", "--no-input", "--config", "source=file"
    )
    assert missing.exit_code == 1
    assert missing.stderr.strip().splitlines()[-1] == (
        "Error: 1 invalid config value: file_path: is mandatory"
    )
    bad = fields_connector(
        "connections", "add", "d", "--connector", "f", "--no-input", "--json",
        "--config", "source=file", "--config", "file_path=rel",
    )  # fmt: skip
    assert bad.exit_code == 1
    report = json.loads(bad.stdout)["validation"]
    by_name = {f["name"]: f for f in report["fields"]}
    assert by_name["file_path"]["errors"] == ["an absolute path such as /data/erp.csv"]
    assert by_name["api_url"]["visible"] is False and by_name["api_url"]["value"] is None
    assert "Traceback" not in bad.stderr
