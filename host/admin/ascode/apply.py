"""Carry out a plan: the admin core's own workflows, in dependency order.

Users and groups first, then connectors (each new URL or token checked by its info), then
connections: a new or changed config is tested by the connector before it is saved, by
host.admin.connections (the rule the CLI and the web follow); an unchanged one is not
re-tested. Sync settings go through host.sync.settings_file. The first failure stops the
run: what was done stays done, and applying the file again picks up where it stopped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from host.admin.ascode.document import ConnectionSpec, path_of
from host.admin.ascode.plan import CREATE, DELETE, Plan, Step
from host.admin.errors import InvalidInput, admin_errors

if TYPE_CHECKING:
    from host.admin.forms import ConfigCheck, Form
    from host.registry import Registry

OnStep = Callable[[Step], None]


async def apply_plan(
    registry: Registry,
    plan: Plan,
    on_step: OnStep | None = None,
    on_start: OnStep | None = None,
) -> list[Step]:
    """Carry out `plan`'s pending steps in order; `on_start` and `on_step` are called before
    and after each one. Returns the steps done; an AdminError stops it (the steps done
    before it stay done). Then records where the file takes each secret from (even with
    nothing pending), so an export writes the same references."""
    from host.admin.ascode.refs import remember

    done: list[Step] = []
    pending = [s for s in plan.pending if s.action != DELETE]
    pending += _deletion_order([s for s in plan.pending if s.action == DELETE])
    try:
        for step in pending:
            if on_start is not None:
                on_start(step)
            if step.action == DELETE:
                await _delete(registry, step)
            else:
                await _carry_out(registry, plan, step)
            done.append(step)
            if on_step is not None:
                on_step(step)
    finally:
        with admin_errors():  # where the secrets came from, for the next export
            remember(registry, plan.desired)
    return done


def _deletion_order(steps: list[Step]) -> list[Step]:
    """Connections before the connectors they use, groups before their users."""
    order = {"connection": 0, "connector": 1, "group": 2, "user": 3}
    return sorted(steps, key=lambda s: (order.get(s.kind, 9), s.name))


async def _carry_out(registry: Registry, plan: Plan, step: Step) -> None:
    desired = plan.desired
    if step.kind == "user":
        with admin_errors():
            registry.add_user(step.name)
    elif step.kind == "group":
        _group(registry, step, desired.groups[step.name])
    elif step.kind == "connector":
        await _connector(registry, plan, step)
    elif step.kind == "connection":
        await _connection(registry, plan, desired.connections[step.name], step)
    elif step.kind == "sync priority":
        from host.sync.settings import set_priority

        with _sync_errors("sync_priority"):
            set_priority(registry, desired.sync_priority or [])


def _group(registry: Registry, step: Step, members: list[str]) -> None:
    with admin_errors():
        if step.action == CREATE:
            registry.add_group(step.name)
        now = {g["name"]: set(g["members"]) for g in registry.groups()}[step.name]
        for user in sorted(set(members) - now):
            registry.add_member(step.name, user)
        for user in sorted(now - set(members)):
            registry.remove_member(step.name, user)


async def _connector(registry: Registry, plan: Plan, step: Step) -> None:
    from host.admin import connectors

    spec = plan.desired.connectors[step.name]
    token, bundle = plan.tokens[step.name], plan.bundles[step.name]
    if step.action == CREATE:
        await connectors.add(registry, spec.name, spec.url, token, bundle)
        return
    reachable = [c for c in ("url", "token") if c in step.changes]
    if reachable or ("ca_bundle" in step.changes and bundle is not None):
        await connectors.edit(
            registry,
            spec.name,
            url=spec.url if "url" in step.changes else None,
            token=token if "token" in step.changes and token else None,
            clear_token="token" in step.changes and token is None,
            ca_bundle=bundle if "ca_bundle" in step.changes else None,
        )
    if "ca_bundle" in step.changes and bundle is None:
        with admin_errors():  # `edit` cannot drop a CA bundle; the file has none now
            registry.update_connector(spec.name, ca_bundle=None)


async def _tested(
    registry: Registry,
    form: Form,
    values: Mapping[str, Any],
    current: Mapping[str, Any] | None,
) -> ConfigCheck:
    """`values` checked and tested by the connector as the whole config (the file is the
    whole truth: a key it leaves out is not kept from the stored config); `current`'s
    secrets are scrubbed from the answer too."""
    from host.admin.forms import ConfigCheck, test_config, validate

    report = validate(form, values)
    check = ConfigCheck(form, report, report.values())
    if report.ok:
        check.response = await test_config(registry, form, check.config, current)
    check.raise_unless_passed()
    return check


async def _connection(registry: Registry, plan: Plan, conn: ConnectionSpec, step: Step) -> None:
    from host.admin import connections
    from host.admin.forms import form

    values = plan.configs[conn.name]
    if step.action == CREATE:
        check = await _tested(registry, await form(registry, conn.connector), values, None)
        await connections.add(
            registry,
            conn.name,
            check,
            users=conn.users,
            groups=conn.groups,
            description=conn.description,
        )
    else:
        record = connections.get(registry, conn.name)
        config_changed = any(c.startswith("config.") for c in step.changes)
        check = None
        if config_changed:
            with admin_errors():
                current = registry.connection_config(record.guid, without_lost=True)
            check = await _tested(registry, await form(registry, conn.connector), values, current)
            if record.active:
                connections.deactivate(registry, conn.name)
        scope_changed = "scope" in step.changes
        if config_changed or scope_changed or "description" in step.changes:
            editing = connections.start_edit(
                registry,
                conn.name,
                config=config_changed,
                description=conn.description if "description" in step.changes else None,
                users=conn.users if scope_changed else (),
                groups=conn.groups if scope_changed else (),
                scope=conn.scope if scope_changed else None,
            )
            await connections.edit(registry, editing, check)
    if conn.sync is not None and "sync" in step.changes:
        from host.sync.settings import EXPORT_FORMAT, import_settings

        document = {**conn.sync, "format": EXPORT_FORMAT, "connection": conn.name}
        with _sync_errors(path_of("connections", conn.name, "sync")):
            import_settings(registry, conn.name, document)
    active = connections.get(registry, conn.name).active
    if conn.active and not active:
        await connections.activate(registry, conn.name)
    elif active and not conn.active:
        connections.deactivate(registry, conn.name)


async def _delete(registry: Registry, step: Step) -> None:
    from host.admin import connections, connectors

    if step.kind == "connection":
        await connections.remove(registry, step.name)
    elif step.kind == "connector":
        connectors.remove(registry, step.name)
    elif step.kind == "group":
        with admin_errors():
            registry.remove_group(step.name)
    elif step.kind == "user":
        with admin_errors():
            registry.remove_user(step.name)


@contextmanager
def _sync_errors(path: str) -> Iterator[None]:
    """A sync settings error (host.sync.SyncError) as the admin's InvalidInput, naming where."""
    from host.sync import SyncError

    try:
        yield
    except SyncError as exc:
        raise InvalidInput(f"{path}: {exc}") from exc
