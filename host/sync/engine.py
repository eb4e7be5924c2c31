"""The sync engine: one pass for one connection, and the run around it (status, history).

A pass, for a connection's enabled actor types (parents first):

1. creates the ERP left unconfirmed by a crash are looked up and linked (see `_recover`);
2. ERP -> CRM: the changes feed from the type's stamp (streamed where the connector offers it,
   else plain pages), each page applied (host/sync/apply.py) in ONE crm.db transaction
   together with the resume position that says the page is done. The pass's
   newest last_modified becomes the stamp when the last page is applied. A crash resumes from
   the last committed cursor; a page re-read is skipped by its links' last_modified.
3. CRM -> ERP: records updated after the entity's CRM stamp, in `updated` order, a page at a
   time: linked records send the fields that differ from what both sides last agreed on
   (save), unlinked ones are created where the type creates in the ERP (defaults applied);
   links and the CRM stamp advance in one transaction after the connector answered.

Conflicts: a field changed on both sides between passes: the ERP wins (the pull runs first
and merges field by field). A record the ERP changed after this pass's pull is not pushed
now; it is touched, so the next pass merges it first and then pushes the CRM's part.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

from host.connector import Actor, Page
from host.crm import CrmError, Link
from host.sync import SyncError, state
from host.sync.apply import Counts, apply_actors
from host.sync.fieldmap import TypeSettings, type_settings
from host.sync.lists import list_items
from host.sync.mapping import MISSING, Mapper, same
from host.sync.pipeline import apply_pages, plain_pages
from host.sync.priority import interval_of

if TYPE_CHECKING:
    from host.client import ConnectorClient
    from host.crm.store import SqliteCrm
    from host.registry import ConnectionRecord, ConnectorRecord, Registry

ClientFactory = Callable[["Registry", "ConnectorRecord"], "ConnectorClient"]

PAGE_SIZE = 500
MAX_FAILURES = 5
TYPE_ORDER = ("customer", "supplier", "partner", "project", "person")


@dataclass
class Plan:
    guid: str
    name: str
    mappers: dict[str, Mapper]  # enabled actor types, parents first

    def for_entity(self, entity: str) -> dict[str, Mapper]:
        return {t: m for t, m in self.mappers.items() if m.settings.entity == entity}


def load_plan(registry: Registry, record: ConnectionRecord) -> Plan:
    types = type_settings(registry, record.guid)
    lists = list_items(registry, record.guid)
    enabled = sorted(
        (s for s in types.values() if s.enabled),
        key=lambda s: TYPE_ORDER.index(s.actor_type) if s.actor_type in TYPE_ORDER else 99,
    )
    if not enabled:
        raise SyncError(
            f"connection {record.name!r} has no actor type enabled for sync "
            f"(erpsync mapping enable {record.name} TYPE)"
        )
    return Plan(record.guid, record.name, {s.actor_type: Mapper(s, lists) for s in enabled})


class Pass:
    """One sync pass of one connection; `counts` grows as pages are committed."""

    def __init__(
        self,
        crm: SqliteCrm,
        client: ConnectorClient,
        plan: Plan,
        run_id: int | None = None,
        page_size: int = PAGE_SIZE,
    ) -> None:
        self.crm = crm
        self.client = client
        self.plan = plan
        self.guid = plan.guid
        self.run_id = run_id
        self.page_size = page_size
        self.counts = Counts()

    def _progress(self, counts: Counts) -> None:
        """Add a page's counts; recorded in the run row inside the page's transaction."""
        self.counts.add(counts)
        if self.run_id is not None:
            state.update_run(self.crm, self.run_id, self.counts.to_dict())

    async def run(self) -> Counts:
        await self._recover()
        for mapper in self.plan.mappers.values():
            if mapper.pull:
                await self.pull(mapper)
        for entity in dict.fromkeys(m.settings.entity for m in self.plan.mappers.values()):
            await self.push(entity)
        return self.counts

    # --- ERP -> CRM ----------------------------------------------------------------------

    async def pull(self, mapper: Mapper) -> None:
        """The type's changes over the connector's streamed feed (plain pages where it has
        none): each page applied and checkpointed at its resume position in one commit."""
        actor_type = mapper.settings.actor_type
        cur = state.get_cursor(self.crm, self.guid, actor_type)
        if cur.pass_since is None:
            since, cursor, newest = cur.erp_stamp, "", cur.erp_stamp
        else:
            since, cursor, newest = cur.pass_since, cur.pass_cursor or "", cur.pass_max

        from host.failures import CallFailed

        while True:
            pages = self.client.changes(
                self.guid,
                actor_type,
                since,
                cursor=cursor,
                field_keys=mapper.pull_keys,
                page_size=self.page_size,
            )

            def apply(page: Page) -> None:
                nonlocal newest, cursor
                with self.crm.transaction():  # the page and its resume position, all or nothing
                    counts, page_newest = apply_actors(self.crm, self.guid, mapper, page.actors)
                    newest = max(newest, page_newest)
                    if page.cursor:
                        done = state.Cursor(cur.erp_stamp, since, page.cursor, newest)
                    else:
                        done = state.Cursor(newest or since)
                    state.save_cursor(self.crm, self.guid, actor_type, done)
                    self._progress(counts)
                cursor = page.cursor

            try:
                # an async generator: closed here, so a failed apply ends the stream at once;
                # plain pages are applied in a worker thread while the next one is fetched
                async with contextlib.aclosing(cast("AsyncGenerator[Page, None]", pages)):
                    await apply_pages(pages, apply, in_thread=plain_pages(self.client))
                return
            except CallFailed as exc:
                if exc.response.error_code != "invalid_cursor" or not cursor:
                    raise
                cursor = ""  # the connector forgot the cursor: the pass starts over

    # --- CRM -> ERP ----------------------------------------------------------------------

    async def push(self, entity: str) -> None:
        mappers = {t: m for t, m in self.plan.for_entity(entity).items() if m.push}
        creator = next((m for m in mappers.values() if m.settings.create_in_erp), None)
        if not mappers:
            return
        stamp = state.crm_stamp(self.crm, self.guid, entity)
        while True:
            records = self.crm.changed_since(entity, stamp, self.page_size)
            if not records:
                return
            links = self.crm.links_for_records(self.guid, entity, [r["id"] for r in records])
            counts = Counts()
            saved_links: list[Link] = []
            touched: list[int] = []
            plans: dict[str, list[tuple[Link, dict[str, Any], set[str]]]] = {}
            creates = []
            for record in records:
                mine = [link for link in links.get(record["id"], []) if link.actor_type in mappers]
                if not mine:
                    if creator is not None and not links.get(record["id"]):
                        creates.append(record)
                    continue
                for link in mine:
                    mapper = mappers[link.actor_type]
                    names = {
                        n
                        for n in mapper.pushed_names
                        if not same(record.get(n), link.synced.get(n, MISSING))
                    }
                    if names:
                        plans.setdefault(link.actor_type, []).append((link, record, names))
            for actor_type, planned in plans.items():
                done, stale = await self._save(mappers[actor_type], planned, counts)
                saved_links.extend(done)
                touched.extend(stale)
            for record in creates:
                assert creator is not None
                created = await self._create(creator, record, counts)
                if created is not None:
                    saved_links.append(created)
            stamp = records[-1]["updated"]
            with self.crm.transaction():
                for link in saved_links:
                    self.crm.save_link(link)
                    state.drop_pending(self.crm, self.guid, link.actor_type, link.crm_id)
                # Records the ERP changed meanwhile get a new stamp: seen again next pass.
                self.crm.update_checked(entity, [(rid, {}) for rid in dict.fromkeys(touched)])
                state.set_crm_stamp(self.crm, self.guid, entity, stamp)
                self._progress(counts)

    async def _save(
        self,
        mapper: Mapper,
        planned: list[tuple[Link, dict[str, Any], set[str]]],
        counts: Counts,
    ) -> tuple[list[Link], list[int]]:
        """Save changed fields of linked actors; returns updated links and records to touch."""
        from host.failures import CallFailed

        actor_type = mapper.settings.actor_type
        keys = [link.erp_key for link, _, _ in planned]
        probe = mapper.pull_keys[:1] or [mapper.push[0][1]]
        current = {
            a.erp_key: a for a in await self.client.get_actors(self.guid, actor_type, keys, probe)
        }
        ready: list[tuple[Link, dict[str, Any], set[str]]] = []
        touched: list[int] = []
        for link, record, names in planned:
            found = current.get(link.erp_key)
            if found is None:
                counts.errors += 1
                counts.messages.append(f"{actor_type} {link.erp_key}: gone from the ERP")
            elif link.last_modified and found.last_modified > link.last_modified:
                counts.conflicts += 1  # the ERP changed it after our pull: merge first
                touched.append(record["id"])
            else:
                ready.append((link, record, names))
        if not ready:
            return [], touched
        actors = [
            Actor(actor_type, link.erp_key, field_values=mapper.to_erp(record, names))
            for link, record, names in ready
        ]
        try:
            answers = await self.client.save_actors(self.guid, actors)
            results: list[Actor | Exception] = list(answers)
        except CallFailed:
            results = []  # one bad actor fails the batch: save them one by one
            for actor in actors:
                try:
                    results.extend(await self.client.save_actors(self.guid, [actor]))
                except CallFailed as exc:
                    results.append(exc)
        done: list[Link] = []
        for (link, record, names), result in zip(ready, results, strict=False):
            if isinstance(result, Exception):
                counts.errors += 1
                counts.messages.append(f"{actor_type} {link.erp_key}: {result}")
                continue
            link.synced.update({n: record.get(n) for n in names})
            link.last_modified = result.last_modified
            done.append(link)
            counts.pushed += 1
        return done, touched

    async def _create(self, mapper: Mapper, record: dict[str, Any], counts: Counts) -> Link | None:
        """Create the ERP actor of an unlinked CRM record, with defaults; None if refused."""
        from host.failures import CallFailed

        settings = mapper.settings
        values, problem = creation_values(settings, mapper, record)
        parent_type, parent_key = "", ""
        if problem is None and settings.entity == "person":
            parent_type, parent_key, problem = self._parent_of(record)
        if problem is not None:
            counts.errors += 1
            counts.messages.append(f"{settings.entity} {record['id']}: {problem}")
            return None
        since = state.get_cursor(self.crm, self.guid, settings.actor_type).erp_stamp
        # The intent is committed first: if we die after the ERP created the actor but before
        # the link is committed, the next pass finds the actor instead of creating it again.
        state.add_pending(
            self.crm, self.guid, settings.actor_type, settings.entity, record["id"], values, since
        )
        actor = Actor(settings.actor_type, "", "", parent_type, parent_key, values)
        try:
            created = await self.client.create_actor(self.guid, actor)
        except CallFailed as exc:
            with self.crm.transaction():
                state.drop_pending(self.crm, self.guid, settings.actor_type, record["id"])
            counts.errors += 1
            counts.messages.append(f"{settings.entity} {record['id']}: {exc}")
            return None
        counts.pushed += 1
        synced = {n: record.get(n) for n in mapper.pushed_names}
        # No last_modified: the next pass reads the new actor back and merges what the ERP
        # filled in itself (its defaults, e.g. COUNTRY) into the record, keeping CRM edits.
        return Link(
            self.guid,
            settings.actor_type,
            created.erp_key,
            settings.entity,
            record["id"],
            "",
            synced,
        )

    def _parent_of(self, record: dict[str, Any]) -> tuple[str, str, str | None]:
        company = record.get("company_id")
        if not company:
            return "", "", None
        for link in self.crm.links_of("company", int(company)):
            if link.connection == self.guid and link.actor_type == "customer":
                return "customer", link.erp_key, None
        return "", "", f"its company {company} is not linked to a customer of this connection"

    async def _recover(self) -> None:
        """Link actors whose create the ERP confirmed but this side never recorded."""
        for intent in state.pending(self.crm, self.guid):
            mapper = self.plan.mappers.get(intent["actor_type"])
            found: Actor | None = None
            if mapper is not None:
                sent = intent["sent"]
                async for actor in self.client.changed_since(
                    self.guid, intent["actor_type"], intent["since"], field_keys=list(sent)
                ):
                    values = actor.field_values
                    if all(same(values.get(k), v) for k, v in sent.items()):
                        taken = self.crm.links_for_keys(
                            self.guid, intent["actor_type"], [actor.erp_key]
                        )
                        if not taken:
                            found = actor
                            break
            with self.crm.transaction():
                if found is not None and mapper is not None:
                    record = self.crm.get(intent["entity"], intent["crm_id"]) or {}
                    self.crm.save_link(
                        Link(
                            self.guid,
                            intent["actor_type"],
                            found.erp_key,
                            intent["entity"],
                            intent["crm_id"],
                            "",  # read back and merged by the pull, as after a create
                            {n: record.get(n) for n in mapper.pushed_names},
                        )
                    )
                state.drop_pending(self.crm, self.guid, intent["actor_type"], intent["crm_id"])


def creation_values(
    settings: TypeSettings, mapper: Mapper, record: dict[str, Any]
) -> tuple[dict[str, Any], str | None]:
    """The field values of a new ERP actor: mapped CRM values, then defaults; or a problem."""
    values = {k: v for k, v in mapper.to_erp(record).items() if v not in (None, "")}
    for key, default in settings.defaults.items():
        if key in values:
            continue
        if default.value is not None:
            values[key] = default.value
        elif default.ask:
            return values, f"needs a value for {key} (its default is 'ask'); set it in the CRM"
    missing = [
        k for k, d in settings.defaults.items() if d.mandatory and values.get(k) in (None, "")
    ]
    if missing:
        return (
            values,
            f"mandatory ERP field{'s' if len(missing) > 1 else ''} empty: {', '.join(missing)}",
        )
    return values, None


# --- a run: status and history around a pass ----------------------------------------------------


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


async def run_connection(
    registry: Registry,
    crm: SqliteCrm,
    record: ConnectionRecord,
    client_factory: ClientFactory,
    *,
    page_size: int = PAGE_SIZE,
    max_failures: int = MAX_FAILURES,
) -> dict[str, Any]:
    """One pass with its run row and status; failures counted, the connection stopped after
    `max_failures` in a row. Returns the finished run row."""
    from host.failures import ConnectorClientError
    from host.registry import RegistryError
    from host.registry.secrets import SecretKeyError

    skipped = await _needs_attention(registry, record)
    if skipped is not None:
        last = state.runs(crm, record.guid, 1)
        # One history row per reason, not one per interval: the status carries it meanwhile.
        if not last or (last[0]["status"], last[0]["message"]) != ("skipped", skipped):
            run_id = state.start_run(crm, record.guid)
            state.finish_run(crm, run_id, Counts().to_dict(), "skipped", skipped)
        with crm.transaction():
            later = _now() + timedelta(seconds=interval_of(registry, record.guid))
            state.set_status(
                crm,
                record.guid,
                status=state.IDLE,
                reason=skipped,
                worker="",
                next_due_at=later.isoformat(),
            )
        return state.runs(crm, record.guid, 1)[0]
    previous = state.status(crm, record.guid)
    run_id = state.start_run(crm, record.guid)
    job: Pass | None = None
    interval = interval_of(registry, record.guid)
    try:
        plan = load_plan(registry, record)
        client = client_factory(registry, registry.connector(record.connector))
        async with client:
            job = Pass(crm, client, plan, run_id, page_size)
            counts = await job.run()
    except Exception as exc:  # every failure is recorded; the worker goes on with others
        counts = job.counts if job is not None else Counts()
        failures = int(previous["failures"]) + 1
        stopped = failures >= max_failures
        expected = (ConnectorClientError, SyncError, CrmError, RegistryError, SecretKeyError)
        reason = str(exc) if isinstance(exc, expected) else f"{type(exc).__name__}: {exc}"
        if not isinstance(exc, expected):
            import logging

            log = logging.getLogger("erpsync.sync")
            log.error("sync of %s failed: %s", record.name, reason)
            log.debug("sync of %s failed", record.name, exc_info=True)
        state.finish_run(crm, run_id, counts.to_dict(), "failed", reason)
        if stopped:
            reason = (
                f"stopped after {failures} failed runs in a row; last: {reason} "
                f"(fix it, then erpsync sync start {record.name})"
            )
        with crm.transaction():
            state.set_status(
                crm,
                record.guid,
                status=state.STOPPED if stopped else state.FAILING,
                reason=reason,
                failures=failures,
                last_run_at=_now().isoformat(),
                next_due_at=(_now() + timedelta(seconds=interval)).isoformat(),
                worker="",
            )
        return state.runs(crm, record.guid, 1)[0]
    except BaseException:
        counts = job.counts if job is not None else Counts()
        state.finish_run(crm, run_id, counts.to_dict(), "interrupted", "the run was interrupted")
        with crm.transaction():
            state.set_status(crm, record.guid, status=state.IDLE, worker="")
        raise
    message = "; ".join(counts.messages[:3])
    if counts.errors:
        message = f"{counts.errors} record error(s): {message}"
    state.finish_run(crm, run_id, counts.to_dict(), "ok", message)
    with crm.transaction():
        state.set_status(
            crm,
            record.guid,
            status=state.IDLE,
            reason="",
            failures=0,
            last_run_at=_now().isoformat(),
            next_due_at=(_now() + timedelta(seconds=interval)).isoformat(),
            worker="",
        )
    return state.runs(crm, record.guid, 1)[0]


async def _needs_attention(registry: Registry, record: ConnectionRecord) -> str | None:
    """Why an app upgrade keeps this connection from syncing (host.admin.upgrades), after the
    lazy check of its connector; None when it may sync."""
    from host.admin.upgrades import attention_reasons

    reasons = await attention_reasons(registry, record)
    if not reasons:
        return None
    return (
        "skipped: needs attention after an app upgrade ("
        + "; ".join(reasons)
        + f"); edit and re-test it (erpsync connections edit {record.name})"
    )


def due_connections(registry: Registry, crm: SqliteCrm) -> list[ConnectionRecord]:
    """Active connections whose interval has passed, not stopped, in sync priority order."""
    from host.sync.priority import schedule

    now = _now().isoformat()
    due = []
    for row in schedule(registry):
        if not row["active"]:
            continue
        st = state.status(crm, row["guid"])
        if st["status"] == state.STOPPED:
            continue
        if st["next_due_at"] and st["next_due_at"] > now:
            continue
        record = registry.connection_by_guid(row["guid"])
        if record is not None:
            due.append(record)
    return due


def start(crm: SqliteCrm, guid: str) -> None:
    """Let a stopped connection sync again (failures reset)."""
    with crm.transaction():
        state.set_status(crm, guid, status=state.IDLE, reason="", failures=0, next_due_at=None)


def stop(crm: SqliteCrm, guid: str, reason: str = "stopped by an admin") -> None:
    with crm.transaction():
        state.set_status(crm, guid, status=state.STOPPED, reason=reason)
