"""Which registered connectors (and their connections) use an installed app, asked before
`apps disable` and `apps uninstall` take the app away from under them.

A connector uses an app's connector <id> when its URL is `app:<id>` (run in-process), or an
http(s) URL on a loopback address whose path ends in `/connectors/<id>`: what `erpsync serve`
from this same install serves. A URL on another host is served by another install and is
not affected.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from host.cli.errors import CliError

MAX_LISTED = 10


@dataclass
class ConnectorUse:
    connector: str
    url: str
    connections: list[str] = field(default_factory=list)

    def describe(self) -> str:
        used_by = ", ".join(self.connections) if self.connections else "no connection yet"
        return f"connector {self.connector!r} ({self.url}; {used_by})"


def app_connector_ids(app_names: Iterable[str]) -> set[str]:
    """The connector ids the named apps register, disabled or not (each app is imported)."""
    from host.apps import load_apps

    ids: set[str] = set()
    for name in app_names:
        record = load_apps(disabled=(), allowed={name}, only=name).app(name)
        if record is not None:
            ids.update(record.connectors)
    return ids


def _is_loopback(host: str | None) -> bool:
    if host is None:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def uses_connector(url: str, connector_ids: set[str]) -> bool:
    """True when a connector URL reaches one of `connector_ids` of this install."""
    if url.startswith("app:"):
        return url[4:] in connector_ids
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or not _is_loopback(host):
        return False
    segments = parts.path.rstrip("/").split("/")
    return len(segments) >= 2 and segments[-2] == "connectors" and segments[-1] in connector_ids


def connector_uses(app_names: list[str], db_path: str | None) -> list[ConnectorUse]:
    """The registered connectors that reach the apps' connectors; none without a registry.

    The apps are imported (to learn their connector ids) only when some connector could
    reach an installed app at all, so disabling an app nothing uses never runs its code.
    """
    from host.cli.common import open_registry
    from host.home import default_db_path

    if not app_names or not Path(db_path or default_db_path()).exists():
        return []
    registry = open_registry(db_path, create=False)
    try:
        candidates = [c for c in registry.connectors() if _may_reach_an_app(c.url)]
        if not candidates:
            return []
        ids = app_connector_ids(app_names)
        return [
            ConnectorUse(c.name, c.url, registry.connection_names_using(c.name))
            for c in candidates
            if uses_connector(c.url, ids)
        ]
    finally:
        registry.close()


def _may_reach_an_app(url: str) -> bool:
    """`app:` URLs and loopback URLs of the /connectors/<id> shape, whatever the id."""
    if url.startswith("app:"):
        return True
    segments = url.rstrip("/").split("/")
    return (
        len(segments) >= 2 and segments[-2] == "connectors" and uses_connector(url, {segments[-1]})
    )


def refuse_while_used(
    verb: str, app_names: Iterable[str], force: bool, db_path: str | None
) -> list[ConnectorUse]:
    """Refuse (one line, exit 1) to `verb` apps that registered connectors use, unless
    `force`; forced, the uses are named in a warning on stderr and the caller goes on."""
    import click

    names = sorted(set(app_names))
    uses = connector_uses(names, db_path)
    if not uses:
        return []
    listed = "; ".join(u.describe() for u in uses[:MAX_LISTED])
    if len(uses) > MAX_LISTED:
        listed += f"; and {len(uses) - MAX_LISTED} more"
    apps = ", ".join(repr(n) for n in names)
    what = f"app {apps}" if len(names) == 1 else f"apps {apps}"
    if not force:
        raise CliError(
            f"{what} in use by {listed}; give --force to {verb} anyway (those connectors "
            "then stop working), or remove or re-point them first"
        )
    click.echo(f"warning: {what} in use by {listed}; those connectors stop working", err=True)
    return uses
