"""`erpsync doctor`: find (and with --repair, mend) what a crash or an outage left behind.

A process killed between the connector's save and the registry's commit leaves a GUID the
connector holds but the registry does not; a connector restarted without state forgets GUIDs
the registry still has. Both sides are compared per connector, and mended from the registry,
which is the source of truth.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import click

from host.cli.common import (
    client_for_connector,
    db_option,
    emit_json,
    json_option,
    open_registry,
    print_table,
    run_async,
)
from host.cli.errors import CliError

if TYPE_CHECKING:
    from host.registry import ConnectorRecord, Registry

OK, PROBLEM, REPAIRED, SKIPPED = "ok", "problem", "repaired", "skipped"


@dataclass
class Finding:
    check: str
    status: str
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {"check": self.check, "status": self.status, "detail": self.detail}


def check_registry(registry: Registry) -> list[Finding]:
    verdict = registry.db.execute("PRAGMA integrity_check").fetchone()[0]
    findings = [
        Finding("registry integrity", OK if verdict == "ok" else PROBLEM, str(verdict)),
    ]
    unreadable = registry.undecryptable_secrets()
    findings.append(
        Finding(
            "secrets decrypt",
            PROBLEM if unreadable else OK,
            f"cannot decrypt: {', '.join(unreadable)}" if unreadable else "every secret decrypts",
        )
    )
    return findings


def check_apps() -> list[Finding]:
    from host.apps import AppStatus, load_apps

    broken = [a for a in load_apps().apps if a.status == AppStatus.BROKEN]
    if not broken:
        return [Finding("apps", OK, "no broken app")]
    return [Finding(f"app {a.name}", PROBLEM, a.error) for a in broken]


async def check_connector(
    registry: Registry, record: ConnectorRecord, repair: bool
) -> list[Finding]:
    """Compare the GUIDs a connector holds with the registry's, and mend from the registry."""
    from host.client import CallFailed, ConnectorClientError

    check = f"connector {record.name}"
    try:
        client = client_for_connector(registry, record)
    except CliError as exc:  # an invalid stored URL, an app no longer installed: this one only
        return [Finding(check, PROBLEM, exc.message)]
    ours = {c.guid: c.name for c in registry.connections() if c.connector == record.name}
    async with client:
        try:
            await client.info()
        except ConnectorClientError as exc:
            return [Finding(check, PROBLEM, str(exc))]
        if record.url.startswith("app:"):
            return [Finding(check, OK, "in-process app: holds nothing between commands")]
        try:
            held = set(await client.held_connections())
        except CallFailed as exc:
            return [Finding(check, SKIPPED, f"cannot list the GUIDs it holds: {exc}")]
        findings = []
        for guid in sorted(set(ours) - held):
            name = ours[guid]
            if repair:
                config = registry.connection_config(guid) or {}
                saved = await client.save_connection(guid, config)
                status = REPAIRED if saved.ok else PROBLEM
                detail = "config re-sent" if saved.ok else saved.user_explanation
            else:
                status, detail = PROBLEM, "the connector does not hold it; --repair re-sends it"
            findings.append(Finding(f"{check}: connection {name}", status, detail))
        for guid in sorted(held - set(ours)):
            if repair:
                deleted = await client.delete_connection(guid)
                status = REPAIRED if deleted.ok else PROBLEM
                detail = "deleted on the connector" if deleted.ok else deleted.user_explanation
            else:
                status, detail = PROBLEM, "held by the connector, unknown here; --repair deletes it"
            findings.append(Finding(f"{check}: orphan GUID {guid}", status, detail))
    if not findings:
        findings.append(Finding(check, OK, f"{len(ours)} connection(s) in step"))
    return findings


@click.command()
@click.option("--repair", is_flag=True, help="Mend what can be mended, from the registry.")
@json_option
@db_option
def doctor(repair: bool, as_json: bool, db_path: str | None) -> None:
    """Check the registry, the secrets, the apps and every connector against the registry.

    Finds connections a connector forgot (re-sent with --repair) and GUIDs a connector holds
    that the registry does not know (deleted on the connector with --repair), as a crash
    between the two saves can leave. Exits 1 when a problem remains.

    \b
    Examples:
        erpsync doctor
        erpsync doctor --repair --json
    """
    registry = open_registry(db_path, create=False)
    findings = check_registry(registry) + check_apps()

    async def connectors() -> list[Finding]:
        found: list[Finding] = []
        for record in registry.connectors():
            found += await check_connector(registry, record, repair)
        return found

    findings += run_async(connectors())
    problems = [f for f in findings if f.status == PROBLEM]
    if as_json:
        emit_json({"ok": not problems, "findings": [f.to_dict() for f in findings]})
    else:
        print_table([f.to_dict() for f in findings], ["check", "status", "detail"])
    if problems:
        raise CliError(
            f"{len(problems)} problem{'s' if len(problems) > 1 else ''} found"
            + ("" if repair else "; run erpsync doctor --repair to mend what can be mended")
        )
