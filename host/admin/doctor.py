"""Find, and with `repair` mend, what a crash or an outage left behind (`erpsync doctor`).

A process killed between the connector's save and the registry's commit leaves a GUID the
connector holds but the registry does not; a connector restarted without state forgets GUIDs
the registry still has. Both sides are compared per connector, and mended from the registry,
which is the source of truth.

A GUID is deleted on a connector only when this registry can prove it created and lost it:
`connections add` journals each GUID (table guid_journal, committed) before the connector's
save. A held GUID registered under another connector record (two records for one server) is
left alone, and so is every GUID the journal does not know (another registry's, sharing the
connector): it is reported as foreign. Secrets that cannot be decrypted are reported per
record, and the rest is checked all the same. Each connector's connections are checked
against what it is now (host.admin.upgrades): an app upgrade that broke one is a problem.
File modes: the registry, its -wal and -shm,
and the key file must be owner-only (0600), their directory 0700. Every repair is audited.

Plain Python: findings are returned, never printed; each face renders them.
"""

from __future__ import annotations

import os
import shlex
import socket
import stat
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from host.admin.clients import client_for_connector
from host.admin.errors import AdminError
from host.text import printable, safe

if TYPE_CHECKING:
    from host.registry import ConnectionRecord, ConnectorRecord, Registry

OK, PROBLEM, REPAIRED, SKIPPED, WARNING = "ok", "problem", "repaired", "skipped", "warning"
SHOWN_GUIDS = 10
"""Foreign GUIDs named per connector; the rest are counted."""
MAX_FINDING_LENGTH = 2000
"""A finding's detail is cut here (as the CLI cuts an error): a stored URL can be long."""
RUNNING_ADD_WINDOW = timedelta(days=1)
"""A journalled GUID whose process still runs is being saved, unless it is older than this
(its pid was then reused by another process)."""


@dataclass
class Finding:
    check: str
    status: str
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {"check": self.check, "status": self.status, "detail": self.detail}


def check_files(registry: Registry, repair: bool) -> list[Finding]:
    """The registry, its -wal/-shm, the key file (0600) and their directory (0700) must be
    owner-only: anyone who reads the key and the registry reads every secret."""
    from host.registry.secrets import KEY_FILE_NAME

    if os.name == "nt":
        return [Finding("file modes", SKIPPED, "not checked on Windows (use the folder's ACL)")]
    if registry.in_memory:
        return [Finding("file modes", SKIPPED, f"no registry at {registry.path}")]
    db = registry.path
    key_dir = registry.secrets.key_dir
    targets = [(db.parent, 0o700)]
    if key_dir != db.parent:
        targets.append((key_dir, 0o700))
    targets += [(Path(f"{db}{suffix}"), 0o600) for suffix in ("", "-wal", "-shm")]
    targets += [(key_dir / name, 0o600) for name in (KEY_FILE_NAME, KEY_FILE_NAME + ".new")]
    findings = []
    for path, want in targets:
        try:
            info = path.stat()
        except FileNotFoundError:
            continue
        mode = stat.S_IMODE(info.st_mode)
        if not mode & 0o077:
            continue
        fixed = mode & 0o700
        check = f"mode of {path}"
        command = f"chmod {fixed:o} {shlex.quote(str(path))}"
        if not repair:
            findings.append(
                Finding(
                    check,
                    PROBLEM,
                    f"{mode:04o} lets other users in; want {want:04o}: {command} "
                    "(or erpsync doctor --repair)",
                )
            )
            continue
        if info.st_uid != os.getuid():
            findings.append(
                Finding(check, PROBLEM, f"{mode:04o} and not yours: move the registry elsewhere")
            )
            continue
        try:
            os.chmod(path, fixed)
        except OSError as exc:
            findings.append(Finding(check, PROBLEM, f"{command} failed: {exc.strerror}"))
            continue
        with registry.transaction():
            registry.audit("doctor.chmod", str(path), f"{mode:04o} -> {fixed:04o}")
        findings.append(Finding(check, REPAIRED, f"{mode:04o} -> {fixed:04o}"))
    if not findings:
        findings.append(Finding("file modes", OK, "registry, key and their directory are private"))
    return findings


def check_registry(registry: Registry) -> list[Finding]:
    verdict = registry.db.execute("PRAGMA integrity_check").fetchone()[0]
    findings = [
        Finding("registry integrity", OK if verdict == "ok" else PROBLEM, str(verdict)),
    ]
    unreadable = registry.undecryptable_secrets()
    if not unreadable:
        findings.append(Finding("secrets decrypt", OK, "every secret decrypts"))
        return findings
    # Why (the key is missing, or another one) once; then each record and its way out.
    findings.append(Finding("secret key", PROBLEM, unreadable[0][2]))
    for kind, name, _ in unreadable:
        what = "token" if kind == "connector" else "passwords"
        findings.append(
            Finding(
                f"secrets of {kind} {name}",
                PROBLEM,
                f"cannot decrypt its {what}: restore the key, or run erpsync secrets reset "
                f"--{kind} {name} and re-enter them with erpsync {kind}s edit",
            )
        )
    return findings


def check_apps() -> list[Finding]:
    from host.apps import AppStatus, load_apps

    broken = [a for a in load_apps().apps if a.status == AppStatus.BROKEN]
    if not broken:
        return [Finding("apps", OK, "no broken app")]
    return [Finding(f"app {a.name}", PROBLEM, a.error) for a in broken]


def being_saved(entry: dict[str, Any]) -> bool:
    """Whether a journalled GUID is still being saved by a running `connections add`."""
    if entry["state"] != "handed" or not entry.get("pid") or entry["pid"] == os.getpid():
        return False
    if entry.get("host") != socket.gethostname():
        return False
    try:
        age = datetime.now(UTC) - datetime.fromisoformat(entry["created_at"])
    except (TypeError, ValueError):
        return False
    if age > RUNNING_ADD_WINDOW:
        return False
    if os.name == "nt":  # no signal 0 there (os.kill terminates): an add takes minutes at most
        return age < timedelta(hours=1)
    try:
        os.kill(entry["pid"], 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


async def check_connector(
    registry: Registry,
    record: ConnectorRecord,
    repair: bool,
    registered: dict[str, ConnectionRecord],
    journal: dict[str, dict[str, Any]],
) -> list[Finding]:
    """Compare the GUIDs a connector holds with the registry's, and mend from the registry:
    re-send what it forgot, delete only what this registry created and lost."""
    from host.failures import CallFailed, ConnectorClientError
    from host.registry.secrets import SecretKeyError

    check = f"connector {record.name}"
    try:
        client = client_for_connector(registry, record)
    except SecretKeyError:
        return [Finding(check, SKIPPED, "not checked: its token cannot be decrypted (see above)")]
    except AdminError as exc:  # an invalid stored URL, an app no longer installed: this one only
        return [Finding(check, PROBLEM, safe(exc, MAX_FINDING_LENGTH))]
    ours = {g: c.name for g, c in registered.items() if c.connector == record.name}
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
            findings.append(await _resend(registry, client, check, guid, ours[guid], repair))
        others: dict[str, int] = {}
        foreign: list[str] = []
        for guid in sorted(held - set(ours)):
            if guid in registered:
                owner = registered[guid].connector
                others[owner] = others.get(owner, 0) + 1
            elif guid in journal:
                findings.append(
                    await _orphan(registry, client, record, guid, journal[guid], repair)
                )
            else:
                foreign.append(guid)
        for owner, count in sorted(others.items()):
            findings.append(
                Finding(
                    f"{check}: connections of connector {owner}",
                    WARNING,
                    f"it also holds {count} connection(s) registered under connector {owner}: "
                    "two records for one connector; left alone",
                )
            )
        if foreign:
            shown = ", ".join(printable(g)[:40] for g in foreign[:SHOWN_GUIDS])
            more = len(foreign) - SHOWN_GUIDS
            findings.append(
                Finding(
                    f"{check}: foreign GUIDs",
                    WARNING,
                    f"{len(foreign)} GUID(s) this registry never handed out (another "
                    "registry's, or older than its GUID journal), left alone: "
                    + shown
                    + (f" and {more} more" if more > 0 else ""),
                )
            )
    if not findings:
        findings.append(Finding(check, OK, f"{len(ours)} connection(s) in step"))
    return findings


async def _resend(
    registry: Registry, client: Any, check: str, guid: str, name: str, repair: bool
) -> Finding:
    """A connection the connector forgot: re-send its config from the registry."""
    from host.registry.secrets import SecretKeyError

    label = f"{check}: connection {name}"
    if not repair:
        return Finding(label, PROBLEM, "the connector does not hold it; --repair re-sends it")
    try:
        config = registry.connection_config(guid) or {}
    except SecretKeyError:
        return Finding(label, PROBLEM, "not re-sent: its passwords cannot be decrypted")
    saved = await client.save_connection(guid, config)
    if not saved.ok:
        return Finding(label, PROBLEM, printable(saved.user_explanation or saved.error_code))
    with registry.transaction():
        registry.audit("doctor.resend", name, f"{check}; GUID {guid}")
    return Finding(label, REPAIRED, "config re-sent")


async def _orphan(
    registry: Registry,
    client: Any,
    record: ConnectorRecord,
    guid: str,
    entry: dict[str, Any],
    repair: bool,
) -> Finding:
    """A GUID this registry handed out and no connection holds any more."""
    label = f"connector {record.name}: orphan GUID {guid}"
    if being_saved(entry):
        return Finding(
            label, SKIPPED, f"being saved by a running command (pid {entry['pid']}); left alone"
        )
    why = f"handed out here (journal: {entry['state']}), registered by no connection"
    fresh = registry.connection_by_guid(guid)
    if fresh is not None:  # a `connections add` committed since doctor started
        return Finding(label, OK, f"registered meanwhile as connection {fresh.name}")
    if not repair:
        return Finding(label, PROBLEM, f"{why}; --repair deletes it on the connector")
    deleted = await client.delete_connection(guid)
    if not deleted.ok and deleted.error_code != "unknown_connection":
        return Finding(label, PROBLEM, printable(deleted.user_explanation or deleted.error_code))
    registry.mark_journal(
        guid, "deleted", "doctor.delete-orphan", guid, f"connector {record.name}; {why}"
    )
    return Finding(label, REPAIRED, "deleted on the connector")


def local_checks(registry: Registry, repair: bool) -> list[Finding]:
    """What needs no connector: file modes, the database, the secrets, the apps."""
    return check_files(registry, repair) + check_registry(registry) + check_apps()


async def check_connectors(
    registry: Registry, repair: bool, timeout: float | None = None
) -> list[Finding]:
    """Every connector in turn, each with its own `timeout` (seconds; None: unbounded)."""
    from host.deadline import Deadline, applying

    registered = {c.guid: c for c in registry.connections()}
    journal = registry.journal()
    found: list[Finding] = []
    used = {c.connector for c in registered.values()}
    for record in registry.connectors():
        with applying(Deadline.after(timeout) if timeout is not None else None):
            found += await check_connector(registry, record, repair, registered, journal)
            if record.name in used:
                found += await check_versions(registry, record)
    return found


async def check_versions(registry: Registry, record: ConnectorRecord) -> list[Finding]:
    """The upgrade check of one connector (host.admin.upgrades): each connection an app
    upgrade broke is a problem, with its reasons; it marks them needs-attention."""
    from host.admin.upgrades import check_connector as check_upgrade

    label = f"versions {record.name}"
    try:
        checked = await check_upgrade(registry, record.name)
    except AdminError as exc:
        return [Finding(label, SKIPPED, safe(exc, MAX_FINDING_LENGTH))]
    found = [
        Finding(
            f"connection {o.connection}",
            PROBLEM,
            safe(
                "needs attention after an app upgrade: " + "; ".join(o.reasons),
                MAX_FINDING_LENGTH,
            ),
        )
        for o in checked.flagged
    ]
    if checked.error is not None and not found:
        return [Finding(label, SKIPPED, f"not checked: {safe(checked.error, MAX_FINDING_LENGTH)}")]
    if not found:
        version = checked.versions.get("connector_version") or "?"
        found.append(
            Finding(
                label,
                OK,
                f"{len(checked.outcomes)} connection(s) fit connector version {safe(version)}",
            )
        )
    return found


def problems(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.status == PROBLEM]
