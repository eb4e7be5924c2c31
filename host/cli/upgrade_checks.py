"""What `apps install` says after an app changed version (host.admin.upgrades checks the
connections it supplies) and which installed apps have connections (`apps list`)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from host.cli.errors import safe

if TYPE_CHECKING:
    from host.apps import AppRecord


def connections_per_app(apps: Iterable[AppRecord], db_path: str | None) -> dict[str, int]:
    """App name -> how many saved connections reach one of its connectors. Read with plain
    sqlite3, read-only (`apps list` stays light and never creates or migrates a registry)."""
    from host.cli.appusage import uses_connector
    from host.home import default_db_path

    path = Path(db_path) if db_path else default_db_path()
    if not path.is_file():
        return {}
    query = (  # not host.registry: importing that package costs `apps list` tens of ms
        "select k.url, count(c.guid) from connectors k join connections c "
        "on c.connector = k.name group by k.url"
    )
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30.0)
        try:
            by_url = {str(url): int(n) for url, n in conn.execute(query)}
        finally:
            conn.close()
    except sqlite3.Error:
        return {}
    found = {}
    for app in apps:
        ids = set(app.connectors)
        found[app.name] = sum(n for url, n in by_url.items() if ids and uses_connector(url, ids))
    return found


def check_apps(app_names: Sequence[str], db_path: str | None) -> list[dict[str, Any]]:
    """Run the upgrade check on every registered connector that reaches one of these apps."""
    from host.admin.upgrades import check_all
    from host.cli.appusage import connector_uses
    from host.cli.common import open_registry, run_async
    from host.cli.errors import translate_errors

    uses = connector_uses(sorted(app_names), db_path)
    if not uses:
        return []
    with translate_errors():
        registry = open_registry(db_path, create=False)
        try:
            checks = run_async(check_all(registry, [u.connector for u in uses]), spinner=False)
        finally:
            registry.close()
    return [c.to_dict() for c in checks]


def echo_checks(checks: Sequence[dict[str, Any]]) -> None:
    """One line per connection checked: fine (migrated keys named) or needs attention."""
    for check in checks:
        name = safe(check["connector"])
        if check["error"] and not check["connections"]:
            click.echo(f"Connector {name} not checked: {safe(check['error'], 1000)}")
            continue
        for outcome in check["connections"]:
            who = f"Connection {safe(outcome['connection'])} (connector {name})"
            if outcome["needs_attention"]:
                reasons = "; ".join(outcome["reasons"])
                click.echo(f"{who} needs attention: {safe(reasons, 2000)}")
            elif outcome["migrated_keys"]:
                keys = ", ".join(outcome["migrated_keys"])
                click.echo(f"{who} is fine; its config was migrated ({safe(keys)})")
            else:
                click.echo(f"{who} is fine")
