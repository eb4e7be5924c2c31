"""Whether a saved connection works: test many at once with progress, and activation with
every reason it cannot be (its last test, its mandatory fields, the connector, the sync
settings). Re-exported by host.admin.connections."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from host.admin.clients import client_for_connector
from host.admin.errors import (
    NEEDS_ATTENTION,
    ActivationRefused,
    admin_errors,
    from_client_error,
)
from host.admin.forms import explain

if TYPE_CHECKING:
    from host.client import ConnectorClient
    from host.registry import ConnectionRecord, Registry

PASSED = ("ok", "ok_with_info", "warning")
Progress = Callable[[int, int], None]
"""Called with (tests done, tests in all) each time one ends."""


@dataclass
class TestOutcome:
    """One saved connection's test: `kind` is None when it passed, else the admin error
    kind of why not (test_failed, unreachable, busy, protocol_mismatch)."""

    __test__ = False  # not a pytest test class

    name: str
    connector: str
    state: str
    message: str
    kind: str | None = None

    @property
    def passed(self) -> bool:
        return self.state in PASSED

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "connector": self.connector,
            "state": self.state,
            "message": self.message,
        }


async def test_many(
    registry: Registry,
    records: list[ConnectionRecord],
    *,
    concurrency: int = 16,
    timeout_each: float | None = None,
    progress: Progress | None = None,
) -> list[TestOutcome]:
    """Have the connectors test saved connections, at most `concurrency` at once, each
    within `timeout_each` seconds; record each result. One client (and one protocol check)
    per connector. `progress(done, total)` is called as each test ends."""
    from host.admin.upgrades import check_if_changed
    from host.deadline import Deadline, applying

    for connector in sorted({r.connector for r in records}):
        await check_if_changed(registry, connector)  # an app upgraded since: check first
    clients: dict[str, ConnectorClient] = {}
    checks: dict[str, asyncio.Future[Any]] = {}
    gate = asyncio.Semaphore(concurrency)
    done = 0

    async def one(record: ConnectionRecord) -> TestOutcome:
        nonlocal done
        try:
            async with gate:
                deadline = Deadline.after(timeout_each) if timeout_each is not None else None
                with applying(deadline):  # each connection gets the whole timeout
                    return await _test_one(registry, record, clients, checks)
        finally:
            done += 1
            if progress is not None:
                progress(done, len(records))

    try:
        with admin_errors():
            results = list(await asyncio.gather(*(one(r) for r in records)))
    finally:
        for client in clients.values():
            await client.aclose()
    with admin_errors(), registry.transaction():
        for record, outcome in zip(records, results, strict=True):
            registry.record_test(record.guid, outcome.state, outcome.message)
    return results


async def _test_one(
    registry: Registry,
    record: ConnectionRecord,
    clients: dict[str, ConnectorClient],
    checks: dict[str, asyncio.Future[Any]],
) -> TestOutcome:
    from host.failures import ConnectorClientError

    name, connector = record.name, record.connector
    try:
        if connector not in clients:
            clients[connector] = client_for_connector(registry, registry.connector(connector))
            checks[connector] = asyncio.ensure_future(clients[connector].info())
        await asyncio.shield(checks[connector])
        response = await clients[connector].test_connection(record.guid)
    except ConnectorClientError as exc:
        error = from_client_error(exc)
        state = "unreachable" if exc.retry else "error"
        return TestOutcome(name, connector, state, str(exc), error.kind)
    if response.ok:
        return TestOutcome(name, connector, response.state.value, response.user_explanation)
    return TestOutcome(name, connector, response.state.value, explain(response), "test_failed")


async def activate(registry: Registry, name: str) -> ConnectionRecord:
    """Activate connection `name`, or raise ActivationRefused with every reason it cannot
    be: an app upgrade that broke it, its last test, its mandatory fields, the connector,
    the sync settings."""
    from host.admin.upgrades import check_if_changed
    from host.sync.settings import activation_reasons

    with admin_errors():
        record = registry.connection(name)
    await check_if_changed(registry, record.connector)  # an app upgraded since: check first
    with admin_errors():
        record = registry.connection(name)
    reasons, blocked_by = await _blockers(registry, record)
    if record.attention:
        reasons.insert(
            0,
            "it needs attention after an app upgrade ("
            + "; ".join(record.attention)
            + f"): edit and re-test it (erpsync connections edit {name})",
        )
        blocked_by = blocked_by or NEEDS_ATTENTION
    with admin_errors():
        reasons += activation_reasons(registry, record.guid)
        if reasons:
            raise ActivationRefused(
                f"cannot activate {name!r}: " + "; ".join(reasons), reasons, blocked_by
            )
        if not record.active:
            registry.set_active(record.guid, True)
        return registry.connection(name)


async def _blockers(registry: Registry, record: ConnectionRecord) -> tuple[list[str], str | None]:
    """Reasons not to activate, and the kind of the connector's failure when it could not
    be asked for its fields."""
    from host.failures import ConnectorClientError
    from host.protocol.validation import validate_config

    reasons = []
    if record.last_test_state is None:
        reasons.append("it was never tested (erpsync connections test)")
    elif not record.last_test_passed:
        reasons.append(
            f"the last test failed: {record.last_test_message or record.last_test_state}"
        )
    with admin_errors():
        client = client_for_connector(registry, registry.connector(record.connector))
    try:
        async with client:
            await client.info()
            declared = await client.config_fields()
    except ConnectorClientError as exc:
        reasons.append(f"the connector cannot be asked for its fields: {exc}")
        return reasons, from_client_error(exc).kind
    stored = registry.connection_config(record.guid) or {}
    report = validate_config(declared, stored)
    missing = [f.key for f in report.fields if "is mandatory" in f.errors]
    if missing:
        reasons.append(
            f"mandatory field{'s' if len(missing) > 1 else ''} missing: " + ", ".join(missing)
        )
    return reasons, None
