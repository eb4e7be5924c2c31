"""Import from the ERP: search with the searchable fields, preview, import, resumable.

- `preview` asks the connector's advanced search (or its text search when there is no
  criterion) and shows each row with its mapped CRM values and whether it is linked already.
- `run_import` imports the selected ERP keys (fetched by key in pages) or everything the
  criteria match. "Everything" streams the connector's changed_since pages from the start and
  keeps the actors the criteria match (checked here with host.search, the same operator
  semantics a connector's advanced search has), so no search result cap applies.
- Each page is applied (host/sync/apply.py: created or updated through links, never duplicated)
  in one crm.db transaction with the job's cursor. An interrupted job resumes where it stopped:
  the same command finds the unfinished job with the same criteria and goes on.
- A full import (no criterion) also moves the connection's sync stamp for that type to the
  newest actor it saw, so the first sync pass afterwards moves only what changed since.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncGenerator, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from host.connector import ConnectorError, Page, Restriction
from host.sync import SyncError, state
from host.sync.apply import Counts, apply_actors
from host.sync.fieldmap import TypeSettings
from host.sync.mapping import Mapper
from host.sync.pipeline import apply_pages, plain_pages

if TYPE_CHECKING:
    from host.client import ConnectorClient
    from host.crm.store import SqliteCrm

Progress = Callable[[dict[str, Any]], None]


@dataclass
class Criteria:
    """What to import: ERP keys, or restrictions (ANDed); neither means everything."""

    restrictions: list[Restriction] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "restrictions": [[r.field_key, r.operator, list(r.values)] for r in self.restrictions],
            "keys": list(self.keys),
        }

    @property
    def everything(self) -> bool:
        return not self.restrictions and not self.keys


def parse_where(text: str) -> Restriction:
    """'FIELD OPERATOR VALUE[,VALUE...]', e.g. 'POSTALCITY = OSLO', 'CREDITLIMIT between 1,9'."""
    parts = text.strip().split(None, 2)
    if len(parts) < 3:
        raise SyncError(
            f"--where {text!r} is not 'FIELD OPERATOR VALUE' (e.g. 'POSTALCITY = OSLO' or "
            "'CREDITLIMIT between 1000,50000')"
        )
    key, operator, rest = parts
    values = (
        tuple(v.strip() for v in rest.split(","))
        if operator.lower()
        in (
            "between",
            "oneof",
            "notoneof",
        )
        else (rest.strip(),)
    )
    return Restriction(key, operator, values)


def check_criteria(
    settings: TypeSettings, restrictions: Sequence[Restriction]
) -> list[Restriction]:
    """Only searchable fields, with an operator of their type and values that fit it.

    Returns the restrictions with native values of each field's declared type (`--where` gives
    strings; the wire takes only native JSON: `CREDITLIMIT >= 1000` sends 1000.0)."""
    from host.search import native_restriction

    typed: list[Restriction] = []
    for r in restrictions:
        if r.field_key not in settings.searchable:
            raise SyncError(
                f"{settings.actor_type}.{r.field_key} is not searchable; searchable fields: "
                f"{', '.join(settings.searchable) or 'none'}"
            )
        try:
            typed.append(native_restriction(r, settings.erp_fields[r.field_key].type))
        except ConnectorError as exc:
            raise SyncError(
                f"--where {r.field_key} {r.operator}: {exc.response.user_explanation}"
            ) from None
    return typed


def _mapper_for_import(settings: TypeSettings, lists: Any) -> Mapper:
    mapper = Mapper(settings, lists)
    if not mapper.pull:
        raise SyncError(
            f"{settings.actor_type} has no field mapped ERP -> CRM; map some first "
            f"(erpsync mapping enable CONNECTION {settings.actor_type})"
        )
    return mapper


async def preview(
    client: ConnectorClient,
    crm: SqliteCrm,
    guid: str,
    mapper: Mapper,
    criteria: Criteria,
    limit: int = 20,
) -> list[dict[str, Any]]:
    """The first `limit` matches, each with its ERP values, mapped CRM values and link."""
    settings = mapper.settings
    restrictions = check_criteria(settings, criteria.restrictions)
    shown = [f.erp_field for f in settings.fields if f.in_search] or mapper.pull_keys
    keys = list(dict.fromkeys([*shown, *mapper.pull_keys]))
    if criteria.keys:
        actors = await client.get_actors(guid, settings.actor_type, criteria.keys[:limit], keys)
    elif criteria.restrictions:
        actors = await client.search_advanced(guid, settings.actor_type, restrictions, keys)
    else:
        page = await client.changes_page(
            guid, settings.actor_type, "", limit=limit, field_keys=keys
        )
        actors = page.actors
    actors = actors[:limit]
    links = crm.links_for_keys(guid, settings.actor_type, [a.erp_key for a in actors])
    return [
        {
            "erp_key": a.erp_key,
            "erp": {k: a.field_values.get(k) for k in shown},
            "crm": mapper.to_crm(a.field_values),
            "linked_to": links[a.erp_key].crm_id if a.erp_key in links else None,
        }
        for a in actors
    ]


async def run_import(
    client: ConnectorClient,
    crm: SqliteCrm,
    guid: str,
    mapper: Mapper,
    criteria: Criteria,
    *,
    page_size: int = 500,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Import (or resume importing) what `criteria` select; returns the finished job row."""
    from host.search import compile_restrictions

    settings = mapper.settings
    restrictions = check_criteria(settings, criteria.restrictions)
    found = state.find_job(crm, guid, settings.actor_type, criteria.to_dict())
    job_id = (
        found["id"] if found else state.new_job(crm, guid, settings.actor_type, criteria.to_dict())
    )
    job = state.job(crm, job_id) or {}
    totals = Counts(
        read=job.get("read", 0), created=job.get("created", 0), updated=job.get("updated", 0)
    )
    newest = job.get("max_stamp", "")
    fields = mapper.pull_keys
    match = compile_restrictions(settings.erp_fields, restrictions)
    needed = list(dict.fromkeys([*fields, *(r.field_key for r in criteria.restrictions)]))

    def commit(actors: Sequence[Any], cursor: str, done: bool) -> None:
        nonlocal newest
        with crm.transaction():
            counts, page_newest = apply_actors(crm, guid, mapper, actors, force=True)
            newest = max(newest, page_newest)
            totals.add(counts)
            state.advance_job(
                crm,
                job_id,
                cursor=cursor,
                done=int(done),
                read=totals.read,
                created=totals.created,
                updated=totals.updated,
                max_stamp=newest,
            )
            if done and criteria.everything and newest:
                cur = state.get_cursor(crm, guid, settings.actor_type)
                if cur.pass_since is None and cur.erp_stamp < newest:
                    state.save_cursor(crm, guid, settings.actor_type, state.Cursor(newest))
        if progress is not None:
            progress({"job": job_id, **totals.to_dict()})

    if criteria.keys:
        start = int(job.get("cursor") or 0)
        keys = criteria.keys
        while start < len(keys):
            chunk = keys[start : start + page_size]
            actors = await client.get_actors(guid, settings.actor_type, chunk, fields)
            start += len(chunk)
            commit(actors, str(start), start >= len(keys))
        if not keys:
            commit([], "", True)
    else:
        pages = client.changes(
            guid,
            settings.actor_type,
            "",
            cursor=job.get("cursor") or "",
            field_keys=needed,
            page_size=page_size,
        )

        def apply(page: Page) -> None:
            chosen = [a for a in page.actors if match(a)] if criteria.restrictions else page.actors
            if criteria.restrictions:
                totals.read += len(page.actors) - len(chosen)  # read, not chosen
            commit(chosen, page.cursor, not page.cursor)

        # an async generator: closed here, so a failed commit ends the stream at once; pages
        # of a connector without the streamed feed are applied in a worker thread while the
        # next one is fetched (host/sync/pipeline.py)
        async with contextlib.aclosing(cast("AsyncGenerator[Page, None]", pages)):
            await apply_pages(pages, apply, in_thread=plain_pages(client))
    result = state.job(crm, job_id) or {}
    result["criteria"] = json.loads(result.get("criteria") or "{}")
    result["unmapped_list_items"] = mapper.unmapped
    return result
