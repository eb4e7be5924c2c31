"""The mock ERP's demo login is declared once, by the app, and read through its entry point."""

from __future__ import annotations

from pathlib import Path

import erpsync_mock_erp
from host.apps import MOCK_APP, app_module, mock_demo_login
from host.connector import State

ROOT = Path(__file__).resolve().parents[1]
# `erpsync mock-server --help` documents the login in words: docs/cli.md is generated from it.
DOCUMENTED = {Path("host/cli/serve.py")}


def test_the_demo_login_is_the_apps_declaration_reached_through_its_entry_point() -> None:
    assert app_module(MOCK_APP) is erpsync_mock_erp
    login = mock_demo_login()
    assert login == erpsync_mock_erp.DEMO_LOGIN
    login["password"] = "changed"  # a copy: nobody can change the declaration by accident
    assert mock_demo_login() == erpsync_mock_erp.DEMO_LOGIN


def test_the_mock_accepts_its_demo_login() -> None:
    connector = erpsync_mock_erp.MockErpConnector(customers=1)
    assert connector.test_config(mock_demo_login()).state is State.OK
    wrong = {**mock_demo_login(), "password": "not-it"}
    assert connector.test_config(wrong).state is not State.OK


def test_no_module_outside_the_app_writes_the_demo_password() -> None:
    password = erpsync_mock_erp.DEMO_LOGIN["password"]
    found = [
        path.relative_to(ROOT)
        for folder in ("host", "tests", "bench")
        for path in (ROOT / folder).rglob("*.py")
        if password in path.read_text(encoding="utf-8")
    ]
    assert set(found) <= DOCUMENTED, found
