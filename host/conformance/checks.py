"""The checks: the connector contract of protocol v1 as data, in the order they run.

Each check is a coroutine taking the run's Context, registered with `@check(id, title, why)`.
It returns an optional note, or raises `fail(...)` (expected vs got) or `skip(...)` (why).
Checks are independent: one failing never stops the others; a check that needs something
another one could not get skips and names it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from itertools import pairwise
from typing import Any

from host.client import CallFailed
from host.conformance.context import (
    SAMPLE_TEXT,
    Context,
    describe,
    describe_response,
    error_code_of,
    fresh_guid,
)
from host.conformance.model import (
    Check,
    CheckFailed,
    CheckFunction,
    CheckSkipped,
    Need,
    fail,
    skip,
)
from host.connector import (
    ACTOR_TYPES,
    ALL_ZERO_GUID,
    SECRET_KEY_PATTERN,
    Access,
    Actor,
    Field,
    FieldType,
    Response,
    Restriction,
)
from host.protocol import PROTOCOL_VERSION, is_supported_version
from host.protocol import operations as ops
from host.protocol.scrub import secret_keys

CHECKS: list[Check] = []
"""Every check, in run order; `erpsync apps check` and the pytest plugin both run these."""

MAX_ACTORS = 2000
"""Changed-since checks read at most this many actors per type, so a big ERP stays fast."""

MAX_PAGES = 200
BIG_PAGE = 1000
WRONG_PASSWORD = "erpsync-conformance-wrong-password"


def check(
    check_id: str, title: str, why: str, needs: Iterable[Need] = ()
) -> Callable[[CheckFunction], CheckFunction]:
    """Register a check function under `check_id`; the order of registration is run order."""

    def register(function: CheckFunction) -> CheckFunction:
        if any(c.id == check_id for c in CHECKS):
            raise ValueError(f"check {check_id!r} is registered twice")
        CHECKS.append(Check(check_id, title, why, function, frozenset(needs)))
        return function

    return register


# --- helpers ---------------------------------------------------------------------------------


def stamp_key(stamp: str) -> tuple[int, int, str]:
    """Order of last_modified stamps: digit strings as numbers, anything else as text (ISO
    8601 UTC stamps of one shape sort as text)."""
    text = stamp.strip()
    return (0, int(text), "") if text.isdigit() else (1, 0, text)


def pick_field_keys(fields: Sequence[Field]) -> list[str]:
    """Two field keys to ask for (the first and the last), so a connector that ignores the
    request and answers every field is caught."""
    keys = [f.key for f in fields if f.type is not FieldType.LABEL]
    return keys if len(keys) <= 2 else [keys[0], keys[-1]]


def actor_problems(
    actors: Iterable[Actor], actor_type: str, field_keys: Sequence[str]
) -> list[str]:
    """What is wrong with actors answered for `actor_type` with `field_keys` requested."""
    problems = []
    for actor in actors:
        name = actor.erp_key or "(no erp_key)"
        if actor.actor_type != actor_type:
            problems.append(f"{name} has actor_type {actor.actor_type!r}")
        if not actor.erp_key:
            problems.append("an actor has no erp_key")
        if not actor.last_modified:
            problems.append(f"{name} has no last_modified")
        if field_keys and sorted(actor.field_values) != sorted(field_keys):
            problems.append(f"{name} has fields {sorted(actor.field_values)}")
    return problems


async def per_type(
    ctx: Context, body: Callable[[str], Awaitable[str | None]], types: list[str] | None = None
) -> str:
    """Run `body` for every actor type; fail with all types' problems, skip if all skipped."""
    if types is None:
        types = list(dict.fromkeys(await ctx.actor_types()))
    failures: list[tuple[str, CheckFailed]] = []
    skipped: dict[str, list[str]] = {}  # reason -> actor types
    notes: list[str] = []
    for actor_type in types:
        try:
            note = await body(actor_type)
        except CheckFailed as exc:
            failures.append((actor_type, exc))
            continue
        except CheckSkipped as exc:
            skipped.setdefault(exc.reason, []).append(actor_type)
            continue
        except CallFailed as exc:
            failures.append((actor_type, fail(describe(exc), expected="a successful answer")))
            continue
        notes.append(f"{actor_type}" + (f" ({note})" if note else ""))
    if failures:
        first = failures[0][1]
        raise fail(
            "; ".join(f"{t}: {exc.message}" for t, exc in failures),
            expected=first.expected,
            got=first.got,
        )
    reasons = "; ".join(f"{', '.join(names)}: {reason}" for reason, names in skipped.items())
    if not notes:
        raise skip(reasons or "the connector offers no actor types")
    return "checked " + ", ".join(notes) + (f"; skipped {reasons}" if reasons else "")


async def read_changes(
    ctx: Context,
    actor_type: str,
    *,
    since: str = "",
    limit: int = BIG_PAGE,
    cap: int = MAX_ACTORS,
    field_keys: Sequence[str] = (),
) -> tuple[list[Actor], bool]:
    """Follow the changed-since cursor from `since`: (actors, stopped early at `cap`)."""
    guid = await ctx.connection()
    actors: list[Actor] = []
    cursor = ""
    seen: set[str] = set()
    for _ in range(MAX_PAGES):
        page = await ctx.client.changes_page(
            guid, actor_type, since, cursor=cursor, limit=limit, field_keys=field_keys
        )
        if len(page.actors) > limit:
            raise fail(
                f"a page of changes held {len(page.actors)} actors with limit={limit}",
                expected=f"at most {limit} actors per page",
                got=len(page.actors),
            )
        actors.extend(page.actors)
        if not page.cursor:
            return actors, False
        if page.cursor in seen:
            raise fail(
                f"the changes cursor came back unchanged after {len(actors)} actors",
                expected="a new cursor per page, empty on the last",
                got=page.cursor[:60],
            )
        seen.add(page.cursor)
        if len(actors) >= cap:
            return actors, True
        cursor = page.cursor
    return actors, True


def duplicates(keys: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    twice: list[str] = []
    for key in keys:
        if key in seen and key not in twice:
            twice.append(key)
        seen.add(key)
    return twice


# --- the checks ------------------------------------------------------------------------------


@check(
    "config.complete",
    "the connection values fill every mandatory config field with a valid value",
    "Most checks need a working connection; this says which values are missing or invalid.",
)
async def config_complete(ctx: Context) -> str | None:
    fields = await ctx.config_fields(strict=True)
    report = await ctx.config_report()
    mandatory = [f.key for f in fields if f.settable and f.access is Access.MANDATORY]
    if not report.ok:
        missing = [
            f.key for f in report.fields if "is mandatory" in f.errors and f.key in mandatory
        ]
        hint = (
            "give them with --config KEY=VALUE or --config-file (erpsync apps check), "
            "or the `config` of your ConformanceSuite class"
        )
        problems = "; ".join(report.problems())
        raise fail(
            f"connection values are missing or invalid: {problems}; {hint}",
            expected=f"values for the mandatory fields {mandatory}" if missing else "valid values",
            got=f"values for {sorted(ctx.given or {})}",
        )
    given = sorted(ctx.given or {})
    return f"values for {', '.join(given) or 'no field'}; defaults for the rest"


@check(
    "info",
    "info names the connector (id, name, vendor, version) and a known protocol version",
    "The admin side identifies a connector by its info and refuses unknown major versions.",
)
async def info(ctx: Context) -> str | None:
    status, body = await ctx.raw_json(ops.INFO.method, ops.INFO.path)
    if not (
        isinstance(body, dict) and body.get("ok") is True and isinstance(body.get("data"), dict)
    ):
        raise fail(
            "info did not answer a successful envelope with an object in data",
            expected="HTTP 200, ok: true, data: {id, name, vendor, version, protocol_version}",
            got=f"HTTP {status}: {str(body)[:120]}",
        )
    data = body["data"]
    ctx.info = data
    empty = [k for k in ("id", "name", "vendor", "version") if not _text(data.get(k))]
    if empty:
        raise fail(
            f"info has no {', '.join(empty)}",
            expected="non-empty strings for id, name, vendor and version",
            got={k: data.get(k) for k in ("id", "name", "vendor", "version")},
        )
    version = data.get("protocol_version")
    if not is_supported_version(version):
        raise fail(
            f"protocol version {version!r} is not one this host speaks",
            expected=f"{PROTOCOL_VERSION.split('.')[0]}.x (this host speaks {PROTOCOL_VERSION})",
            got=version,
        )
    await ctx.client.info()  # and the client accepts it
    return f"{data['id']} {data['version']} by {data['vendor']}, protocol {version}"


@check(
    "config_fields.valid",
    "config fields have unique keys, known types and access, and list fields name a list",
    "The config dialog is built from these fields; a bad one breaks the dialog for everyone.",
)
async def config_fields_valid(ctx: Context) -> str | None:
    status, body = await ctx.raw_json(ops.CONFIG_FIELDS.method, ops.CONFIG_FIELDS.path)
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, list):
        raise fail(
            "config-fields did not answer a list of fields",
            expected="data: [field, ...]",
            got=f"HTTP {status}: {str(body)[:120]}",
        )
    problems = field_shape_problems(data)
    if problems:
        raise fail("; ".join(problems), expected="valid field metadata", got=problems[0])
    await ctx.config_fields(strict=True)
    return f"{len(data)} fields"


def field_shape_problems(data: list[Any]) -> list[str]:
    """Problems with raw field metadata as it came over the wire."""
    types = {t.value for t in FieldType}
    access = {a.value for a in Access}
    problems: list[str] = []
    seen: set[str] = set()
    for item in data:
        if not isinstance(item, dict) or not _text(item.get("key")):
            problems.append(f"field {str(item)[:60]} has no key")
            continue
        key = item["key"]
        if key in seen:
            problems.append(f"key {key!r} is declared twice")
        seen.add(key)
        if item.get("type") not in types:
            problems.append(f"{key}: type {item.get('type')!r} is not one of {sorted(types)}")
        if item.get("access", "normal") not in access:
            problems.append(f"{key}: access {item.get('access')!r} is not one of {sorted(access)}")
        if item.get("type") == "list" and not _text(item.get("list_name")):
            problems.append(f"{key}: a list field names no list_name")
        max_length = item.get("max_length", 0)
        if not isinstance(max_length, int) or isinstance(max_length, bool) or max_length < 0:
            problems.append(f"{key}: max_length {max_length!r} is not an integer >= 0")
    return problems


@check(
    "config_fields.secrets",
    "secret-looking config keys (password, token, secret, api key ...) are password fields",
    "Only password fields are masked in forms and encrypted at rest by the host.",
)
async def config_fields_secrets(ctx: Context) -> str | None:
    fields = await ctx.config_fields()
    exposed = [
        f for f in fields if SECRET_KEY_PATTERN.search(f.key) and f.type is not FieldType.PASSWORD
    ]
    if exposed:
        raise fail(
            "secret-looking keys are not password fields: "
            + ", ".join(f"{f.key} ({f.type.value})" for f in exposed),
            expected={f.key: "password" for f in exposed},
            got={f.key: f.type.value for f in exposed},
        )
    secrets = secret_keys(fields)
    return f"password fields: {', '.join(secrets) or 'none'}"


@check(
    "config_fields.defaults",
    "every config field default parses for its type",
    "Defaults pre-fill the dialog; one that does not parse is a typo an admin cannot fix.",
)
async def config_fields_defaults(ctx: Context) -> str | None:
    from host.protocol.values import FieldValueError, coerce_value

    fields = await ctx.config_fields()
    bad: dict[str, str] = {}
    for item in fields:
        if item.default is None or item.type is FieldType.LABEL:
            continue
        try:
            coerce_value(item, item.default)
        except FieldValueError as exc:
            bad[item.key] = f"{item.default!r}: {exc}"
    if bad:
        raise fail(
            "defaults do not parse: " + "; ".join(f"{k} {v}" for k, v in bad.items()),
            expected={k: next(f.type.value for f in fields if f.key == k) for k in bad},
            got={k: next(f.default for f in fields if f.key == k) for k in bad},
        )
    with_default = [f.key for f in fields if f.default is not None]
    return f"defaults of {', '.join(with_default) or 'no field'}"


@check(
    "config_fields.lists",
    "every list config field's list is served for the all-zero GUID, with its default an item",
    "The dialog offers list choices before any connection is saved.",
)
async def config_fields_lists(ctx: Context) -> str | None:
    fields = [f for f in await ctx.config_fields() if f.type is FieldType.LIST]
    if not fields:
        raise skip("no list config fields")
    problems: list[str] = []
    for item in fields:
        try:
            items = await ctx.client.get_list(ALL_ZERO_GUID, item.list_name)
        except CallFailed as exc:
            problems.append(f"{item.key}: list {item.list_name!r}: {describe(exc)}")
            continue
        if not items:
            problems.append(f"{item.key}: list {item.list_name!r} is empty")
        elif item.default not in (None, "") and str(item.default) not in items:
            problems.append(
                f"{item.key}: default {item.default!r} is not an item of {item.list_name!r} "
                f"({', '.join(list(items)[:8])})"
            )
    if problems:
        raise fail(
            "; ".join(problems),
            expected="each list answered for the all-zero GUID, with the default among its items",
            got=problems[0],
        )
    return "lists " + ", ".join(sorted({f.list_name for f in fields}))


@check(
    "test_config.accepts",
    "test config passes with the given connection values",
    "The admin can only save a connection after a passing test.",
    needs=[Need.CONFIG],
)
async def test_config_accepts(ctx: Context) -> str | None:
    response = await ctx.client.test_config(await ctx.config())
    if not response.ok:
        raise fail(
            "test config refused the given values",
            expected="state ok, ok_with_info or warning",
            got=describe_response(response),
        )
    return describe_response(response)


@check(
    "test_config.rejects_blank",
    "test config refuses blank mandatory text fields, with an explanation",
    "A test that passes whatever is typed lets admins save connections that cannot work.",
)
async def test_config_rejects_blank(ctx: Context) -> str | None:
    fields = await ctx.config_fields()
    blank = [
        f.key
        for f in fields
        if f.settable
        and f.access is Access.MANDATORY
        and f.type in (FieldType.TEXT, FieldType.PASSWORD)
    ]
    if not blank:
        raise skip("no mandatory text or password config fields to leave blank")
    values = (await ctx.config_report()).values()
    values.update(dict.fromkeys(blank, ""))
    response = await ctx.client.test_config(values)
    return refused(response, f"blank {', '.join(blank)}")


@check(
    "test_config.rejects_wrong_password",
    "test config refuses a wrong password, with an explanation",
    "A test that never logs in cannot tell the admin that the login is wrong.",
    needs=[Need.CONFIG],
)
async def test_config_rejects_wrong_password(ctx: Context) -> str | None:
    fields = await ctx.config_fields()
    secrets = secret_keys(f for f in fields if f.settable)
    if not secrets:
        raise skip("no password config field")
    values = await ctx.config()
    for key in secrets:
        values[key] = WRONG_PASSWORD if values.get(key) != WRONG_PASSWORD else WRONG_PASSWORD + "!"
    response = await ctx.client.test_config(values)
    return refused(response, f"a wrong {', '.join(secrets)}")


def refused(response: Response, what: str) -> str:
    """Pass when the connector refused `what` and said why."""
    if response.ok:
        raise fail(
            f"test config accepted {what}",
            expected="state error with a user_explanation",
            got=describe_response(response),
        )
    if not (response.user_explanation or "").strip():
        raise fail(
            f"test config refused {what} without explaining why",
            expected="a user_explanation for the admin",
            got=describe_response(response),
        )
    return f"refused {what}: {response.user_explanation}"


@check(
    "connection.lifecycle",
    "save, test and delete a connection with a fresh GUID; then the GUID is unknown",
    "On OK the admin side saves then tests; on removal it deletes and expects it gone.",
    needs=[Need.CONFIG],
)
async def connection_lifecycle(ctx: Context) -> str | None:
    client = ctx.client
    guid = fresh_guid()
    saved = await client.save_connection(guid, await ctx.config())
    if not saved.ok:
        raise fail("save connection refused", expected="ok", got=describe_response(saved))
    try:
        tested = await client.test_connection(guid)
        if not tested.ok:
            raise fail(
                "test connection failed after save", expected="ok", got=describe_response(tested)
            )
    finally:
        deleted = await client.delete_connection(guid)
    if not deleted.ok:
        raise fail("delete connection refused", expected="ok", got=describe_response(deleted))
    after = await client.test_connection(guid)
    if after.error_code != "unknown_connection":
        raise fail(
            "the connector still knows the connection after delete",
            expected="error_code 'unknown_connection'",
            got=describe_response(after),
        )
    return "saved, tested, deleted, then unknown"


@check(
    "connection.unknown_guid",
    "a GUID never saved answers unknown_connection",
    "That code is how the admin side knows to re-send the config and retry.",
)
async def connection_unknown_guid(ctx: Context) -> str | None:
    guid = fresh_guid()
    tested = await ctx.client.test_connection(guid)
    problems = []
    if tested.error_code != "unknown_connection":
        problems.append(f"test connection: {describe_response(tested)}")
    try:
        types = await ctx.client.actor_types(guid)
        problems.append(f"actor types: answered {types}")
    except CallFailed as exc:
        if exc.response.error_code != "unknown_connection":
            problems.append(f"actor types: {describe(exc)}")
    if problems:
        raise fail(
            "a GUID that was never saved did not answer unknown_connection: " + "; ".join(problems),
            expected="state error, error_code 'unknown_connection'",
            got=problems[0],
        )
    return None


@check(
    "actor_types.allowed",
    "actor types are a non-empty subset of customer, supplier, partner, person, project",
    "A connector cannot invent actor types: sync maps only these to CRM entities.",
    needs=[Need.CONNECTION],
)
async def actor_types_allowed(ctx: Context) -> str | None:
    types = await ctx.actor_types(strict=True)
    unknown = [t for t in types if t not in ACTOR_TYPES]
    twice = duplicates(types)
    if not types or unknown or twice:
        raise fail(
            "actor types "
            + ("are empty" if not types else f"{types} hold {unknown or twice}")
            + ("" if not twice else " more than once"),
            expected=f"a non-empty subset of {list(ACTOR_TYPES)}, each once",
            got=types,
        )
    return ", ".join(types)


@check(
    "actor_fields.valid",
    "each actor type's fields have unique keys, and list fields name a list it serves",
    "Field mapping and import are built from these fields.",
    needs=[Need.CONNECTION],
)
async def actor_fields_valid(ctx: Context) -> str | None:
    guid = await ctx.connection()

    async def one(actor_type: str) -> str | None:
        fields = await ctx.actor_fields(actor_type, strict=True)
        if not fields:
            raise fail("has no fields", expected="at least one field", got=[])
        problems = [f"key {k!r} twice" for k in duplicates(f.key for f in fields)]
        for item in fields:
            if item.type is not FieldType.LIST:
                continue
            if not item.list_name:
                problems.append(f"list field {item.key} names no list")
                continue
            try:
                items = await ctx.client.get_list(guid, item.list_name)
            except CallFailed as exc:
                problems.append(f"{item.key}: list {item.list_name!r}: {describe(exc)}")
                continue
            if not items:
                problems.append(f"{item.key}: list {item.list_name!r} is empty")
        if problems:
            raise fail("; ".join(problems), expected="valid fields", got=problems[0])
        return f"{len(fields)} fields"

    return await per_type(ctx, one)


@check(
    "searchable_fields.subset",
    "each actor type's searchable fields are a subset of its fields",
    "Import searches with these keys; one that is not a field cannot be searched.",
    needs=[Need.CONNECTION],
)
async def searchable_fields_subset(ctx: Context) -> str | None:
    guid = await ctx.connection()

    async def one(actor_type: str) -> str | None:
        keys = {f.key for f in await ctx.actor_fields(actor_type)}
        searchable = await ctx.client.searchable_fields(guid, actor_type)
        extra = [k for k in searchable if k not in keys]
        if extra:
            raise fail(
                f"searchable fields {extra} are not fields of the type",
                expected=f"a subset of {sorted(keys)}",
                got=searchable,
            )
        return f"{len(searchable)} searchable"

    return await per_type(ctx, one)


@check(
    "search.field_keys",
    "search returns actors of the type with exactly the requested field keys",
    "Sync asks only for the fields it maps; extra or missing keys break the mapping.",
    needs=[Need.CONNECTION],
)
async def search_field_keys(ctx: Context) -> str | None:
    guid = await ctx.connection()

    async def one(actor_type: str) -> str | None:
        keys = pick_field_keys(await ctx.actor_fields(actor_type))
        if not keys:
            raise skip("no fields to ask for")
        found = await ctx.client.search_actors(guid, actor_type, "", keys)
        if not found:
            raise skip("a blank search found no actors")
        problems = actor_problems(found, actor_type, keys)
        if problems:
            raise fail(
                f"asked for {keys}: " + "; ".join(problems[:3]),
                expected=f"actor_type {actor_type!r}, erp_key, last_modified, fields {keys}",
                got=problems[0],
            )
        return f"{len(found)} actors"

    return await per_type(ctx, one)


@check(
    "get.field_keys",
    "get returns the asked actors with exactly the requested field keys",
    "Import and sync fetch actors by ERP key and the fields they map.",
    needs=[Need.CONNECTION],
)
async def get_field_keys(ctx: Context) -> str | None:
    guid = await ctx.connection()

    async def one(actor_type: str) -> str | None:
        keys = pick_field_keys(await ctx.actor_fields(actor_type))
        sample = await ctx.sample(actor_type)
        if not sample:
            raise skip("no actors to get")
        asked = [a.erp_key for a in sample[:3]]
        got = await ctx.client.get_actors(guid, actor_type, asked, keys)
        problems = actor_problems(got, actor_type, keys)
        got_keys = [a.erp_key for a in got]
        if sorted(got_keys) != sorted(asked):
            problems.insert(0, f"asked for {asked}, got {got_keys}")
        if problems:
            raise fail(
                "; ".join(problems[:3]),
                expected=f"actors {asked} with fields {keys}",
                got=problems[0],
            )
        return f"{len(got)} actors"

    return await per_type(ctx, one)


@check(
    "search.by_parent",
    "search by parent returns the children of the parent an actor names",
    "Import shows e.g. the persons of one customer.",
    needs=[Need.CONNECTION],
)
async def search_by_parent(ctx: Context) -> str | None:
    guid = await ctx.connection()

    async def one(actor_type: str) -> str | None:
        sample = await ctx.sample(actor_type)
        child = next((a for a in sample if a.parent_erp_key and a.parent_actor_type), None)
        if child is None:
            raise skip("no actor with a parent among the first found")
        try:
            found = await ctx.client.search_by_parent(
                guid, actor_type, child.parent_actor_type, child.parent_erp_key
            )
        except CallFailed as exc:
            if error_code_of(exc) == "not_supported":
                raise skip("not supported") from None
            raise
        strays = [a.erp_key for a in found if a.parent_erp_key != child.parent_erp_key]
        if child.erp_key not in {a.erp_key for a in found} or strays:
            raise fail(
                f"children of {child.parent_actor_type} {child.parent_erp_key}: "
                + (f"{child.erp_key} is missing" if not strays else f"{strays[:5]} are not"),
                expected=f"actors with parent_erp_key {child.parent_erp_key!r}, incl. "
                f"{child.erp_key!r}",
                got=[(a.erp_key, a.parent_erp_key) for a in found][:10],
            )
        return f"{len(found)} children of {child.parent_erp_key}"

    return await per_type(ctx, one)


@check(
    "search.advanced",
    "advanced search with `=` on a searchable text field finds the actor holding that value",
    "Import searches with the searchable fields; restrictions are the criteria.",
    needs=[Need.CONNECTION],
)
async def search_advanced(ctx: Context) -> str | None:
    guid = await ctx.connection()

    async def one(actor_type: str) -> str | None:
        fields = {f.key: f for f in await ctx.actor_fields(actor_type)}
        searchable = await ctx.client.searchable_fields(guid, actor_type)
        texts = [k for k in searchable if k in fields and fields[k].type is FieldType.TEXT]
        sample = await ctx.sample(actor_type)
        pick = next(
            (
                (actor, key)
                for actor in sample
                for key in texts
                if isinstance(actor.field_values.get(key), str) and actor.field_values[key]
            ),
            None,
        )
        if pick is None:
            raise skip("no searchable text field with a value among the first actors found")
        actor, key = pick
        value = actor.field_values[key]
        try:
            found = await ctx.client.search_advanced(
                guid, actor_type, [Restriction(key, "=", (value,))], [key]
            )
        except CallFailed as exc:
            if error_code_of(exc) == "not_supported":
                raise skip("not supported") from None
            raise
        wrong = [
            a.erp_key for a in found if str(a.field_values.get(key)).casefold() != value.casefold()
        ]
        if actor.erp_key not in {a.erp_key for a in found} or wrong:
            raise fail(
                f"{key} = {value!r}: "
                + (f"{actor.erp_key} is missing" if not wrong else f"{wrong[:5]} do not match"),
                expected=f"actors whose {key} is {value!r}, incl. {actor.erp_key!r}",
                got=[(a.erp_key, a.field_values.get(key)) for a in found][:10],
            )
        return f"{key} = {value!r}: {len(found)}"

    return await per_type(ctx, one)


async def changes(ctx: Context, actor_type: str, *, strict: bool) -> tuple[list[Actor], bool]:
    """Every change of the type (up to MAX_ACTORS), in big pages, read once per run."""
    return await ctx.remember(
        ("changes", actor_type), lambda: read_changes(ctx, actor_type), strict
    )


@check(
    "changed_since.order",
    "changed since is monotonic in last_modified and pages without gaps or repeats",
    "Sync polls with the last stamp it saw; a repeat is wasted work, a gap is lost data.",
    needs=[Need.CONNECTION],
)
async def changed_since_order(ctx: Context) -> str | None:
    async def one(actor_type: str) -> str | None:
        full, truncated = await changes(ctx, actor_type, strict=True)
        if not full:
            raise skip("no actors")
        problems = actor_problems(full, actor_type, [])
        for before, after in pairwise(full):
            if stamp_key(after.last_modified) < stamp_key(before.last_modified):
                problems.append(
                    f"{after.erp_key} ({after.last_modified}) came after "
                    f"{before.erp_key} ({before.last_modified})"
                )
                break
        problems += [f"{k} came twice" for k in duplicates(a.erp_key for a in full)[:3]]
        if problems:
            raise fail(
                "; ".join(problems[:3]),
                expected="actors in non-decreasing last_modified order, each once",
                got=problems[0],
            )
        limit = max(1, (len(full) + 3) // 4)
        paged, _ = await read_changes(ctx, actor_type, limit=limit, cap=len(full))
        big = [a.erp_key for a in full]
        small = [a.erp_key for a in paged]
        twice = duplicates(small)
        if twice:
            raise fail(
                f"paging with limit={limit} repeated {twice[:5]}",
                expected="each actor exactly once",
                got=f"{len(small)} actors, {len(twice)} repeated",
            )
        if not truncated:
            missing = [k for k in big if k not in set(small)]
            if missing:
                raise fail(
                    f"paging with limit={limit} skipped {missing[:5]}",
                    expected=f"the same {len(big)} actors as one read with limit={BIG_PAGE}",
                    got=f"{len(small)} actors, {len(missing)} missing",
                )
        common = min(len(big), len(small))
        if small[:common] != big[:common]:
            index = next(i for i in range(common) if small[i] != big[i])
            raise fail(
                f"paging with limit={limit} changed the order at position {index}",
                expected=big[index],
                got=small[index],
            )
        pages = (len(small) + limit - 1) // limit
        return f"{len(full)}{'+' if truncated else ''} actors, {pages} pages of {limit}"

    return await per_type(ctx, one)


@check(
    "changed_since.since",
    "changed since a stamp returns exactly the actors modified on or after it",
    "The stamp is the polling primitive of sync: on or after, never before, none missed.",
    needs=[Need.CONNECTION],
)
async def changed_since_since(ctx: Context) -> str | None:
    async def one(actor_type: str) -> str | None:
        full, truncated = await changes(ctx, actor_type, strict=False)
        if not full:
            raise skip("no actors")
        since = full[len(full) // 2].last_modified
        expected = [a.erp_key for a in full if stamp_key(a.last_modified) >= stamp_key(since)]
        got, _ = await read_changes(ctx, actor_type, since=since, cap=len(expected))
        early = [a for a in got if stamp_key(a.last_modified) < stamp_key(since)]
        if early:
            raise fail(
                f"since={since!r} returned {early[0].erp_key} modified {early[0].last_modified}",
                expected=f"last_modified >= {since!r}",
                got=early[0].last_modified,
            )
        got_keys = (
            [a.erp_key for a in got] if not truncated else [a.erp_key for a in got][: len(expected)]
        )
        missing = sorted(set(expected) - set(got_keys))
        extra = sorted(set(got_keys) - set(expected))
        if missing or extra:
            raise fail(
                f"since={since!r}: "
                + (f"missing {missing[:5]} " if missing else "")
                + (f"unexpected {extra[:5]}" if extra else ""),
                expected=f"{len(expected)} actors modified on or after {since!r}",
                got=f"{len(got_keys)} actors",
            )
        return f"{len(expected)} since {since}"

    return await per_type(ctx, one)


@check(
    "changed_since.field_keys",
    "changed since returns exactly the requested field keys",
    "Sync asks for the mapped fields only, every poll.",
    needs=[Need.CONNECTION],
)
async def changed_since_field_keys(ctx: Context) -> str | None:
    guid = await ctx.connection()

    async def one(actor_type: str) -> str | None:
        keys = pick_field_keys(await ctx.actor_fields(actor_type))
        if not keys:
            raise skip("no fields to ask for")
        page = await ctx.client.changes_page(guid, actor_type, "", limit=5, field_keys=keys)
        if not page.actors:
            raise skip("no actors")
        problems = actor_problems(page.actors, actor_type, keys)
        if problems:
            raise fail(
                f"asked for {keys}: " + "; ".join(problems[:3]),
                expected=f"fields {keys}",
                got=problems[0],
            )
        return None

    return await per_type(ctx, one)


ENVELOPE_PROBES: list[tuple[str, str, dict[str, Any], str]] = [
    (
        ops.TEST_CONFIG.method,
        ops.TEST_CONFIG.path,
        {"content": b"{not json", "headers": {"content-type": "application/json"}},
        "a body that is not JSON",
    ),
    (
        ops.TEST_CONFIG.method,
        ops.TEST_CONFIG.path,
        {"json": {"config": "not an object"}},
        "a config that is no object",
    ),
    (ops.ACTOR_TYPES.method, ops.ACTOR_TYPES.url(guid="not-a-guid"), {}, "a malformed GUID"),
    (
        ops.GET_ACTORS.method,
        ops.GET_ACTORS.url(guid="{guid}", actor_type="customer"),  # {guid}: fresh per run
        {"json": {"erp_keys": "not a list"}},
        "erp_keys that is no list",
    ),
    (
        ops.CHANGED_SINCE.method,
        ops.CHANGED_SINCE.url(guid="{guid}", actor_type="customer"),
        {"params": {"limit": "0"}},
        "limit=0",
    ),
    ("GET", "/no-such-operation", {}, "an unknown operation"),
]


@check(
    "errors.envelope",
    "malformed requests answer an error envelope (ok false, state error, error_code), never 5xx",
    "Every answer is an envelope, so the admin side always has an explanation to show.",
)
async def errors_envelope(ctx: Context) -> str | None:
    guid = fresh_guid()
    problems: list[str] = []
    for method, path, kwargs, what in ENVELOPE_PROBES:
        target = path.format(guid=guid)
        try:
            status, body = await ctx.raw_json(method, target, **kwargs)
        except CheckFailed as exc:
            problems.append(f"{what}: {exc.got}")
            continue
        if status >= 500:
            problems.append(f"{what}: HTTP {status}")
        elif not (
            isinstance(body, dict)
            and body.get("ok") is False
            and body.get("state") == "error"
            and _text(body.get("error_code"))
        ):
            problems.append(f"{what}: HTTP {status} {str(body)[:100]}")
    if problems:
        raise fail(
            "; ".join(problems),
            expected="HTTP 4xx with {ok: false, state: error, error_code, ...}",
            got=problems[0],
        )
    return f"{len(ENVELOPE_PROBES)} malformed requests"


@check(
    "write.create",
    "create returns the actor with erp_key and last_modified filled; get and changes find it",
    "Sync creates ERP actors from CRM entities and must find them again.",
    needs=[Need.WRITE, Need.CONNECTION],
)
async def write_create(ctx: Context) -> str | None:
    guid = await ctx.connection()
    sent, created = await ctx.created(strict=True)
    actor_type = sent.actor_type
    problems = actor_problems([created], actor_type, [])
    for key, value in sent.field_values.items():
        if isinstance(value, str) and value and created.field_values.get(key) != value:
            problems.append(f"{key} came back as {created.field_values.get(key)!r}")
    if problems:
        raise fail(
            f"create {actor_type}: " + "; ".join(problems),
            expected="the actor as sent, with erp_key and last_modified filled",
            got=problems[0],
        )
    found = await ctx.client.get_actors(guid, actor_type, [created.erp_key])
    if [a.erp_key for a in found] != [created.erp_key]:
        raise fail(
            f"get did not find the new {actor_type} {created.erp_key}",
            expected=[created.erp_key],
            got=[a.erp_key for a in found],
        )
    since, _ = await read_changes(ctx, actor_type, since=created.last_modified)
    if created.erp_key not in {a.erp_key for a in since}:
        raise fail(
            f"changed since {created.last_modified!r} did not return the new {actor_type}",
            expected=created.erp_key,
            got=[a.erp_key for a in since][:10],
        )
    return f"created {actor_type} {created.erp_key} at {created.last_modified}"


@check(
    "write.save",
    "save updates an actor and returns it refreshed with a later last_modified",
    "Sync writes CRM changes back and polls by last_modified, which must grow.",
    needs=[Need.WRITE, Need.CONNECTION],
)
async def write_save(ctx: Context) -> str | None:
    guid = await ctx.connection()
    _, created = await ctx.created()
    fields = await ctx.actor_fields(created.actor_type)
    target = next(
        (
            f
            for f in sorted(fields, key=lambda f: f.access is not Access.MANDATORY)
            if f.settable and f.type is FieldType.TEXT
        ),
        None,
    )
    if target is None:
        raise skip(f"no settable text field of {created.actor_type} to change")
    value = (SAMPLE_TEXT + " saved")[: target.max_length or None]
    changed = Actor(
        created.actor_type,
        created.erp_key,
        created.last_modified,
        created.parent_actor_type,
        created.parent_erp_key,
        {**created.field_values, target.key: value},
    )
    try:
        saved = await ctx.client.save_actors(guid, [changed])
    except CallFailed as exc:
        if error_code_of(exc) == "not_supported":
            raise skip("the connector does not save actors (not_supported)") from None
        raise
    mine = [a for a in saved if a.erp_key == created.erp_key]
    if not mine:
        raise fail(
            "save did not return the saved actor",
            expected=created.erp_key,
            got=[a.erp_key for a in saved],
        )
    problems = []
    if mine[0].field_values.get(target.key) != value:
        problems.append(f"{target.key} is {mine[0].field_values.get(target.key)!r}")
    if stamp_key(mine[0].last_modified) <= stamp_key(created.last_modified):
        problems.append(
            f"last_modified {mine[0].last_modified!r} did not grow from {created.last_modified!r}"
        )
    again = await ctx.client.get_actors(guid, created.actor_type, [created.erp_key])
    now = again[0].field_values.get(target.key) if again else "(no actor)"
    if now != value:
        problems.append(f"get answers {target.key} = {now!r}")
    if problems:
        raise fail(
            f"save {created.actor_type} {created.erp_key}: " + "; ".join(problems),
            expected=f"{target.key} = {value!r} and a later last_modified",
            got=problems[0],
        )
    return f"saved {target.key}; last_modified {created.last_modified} -> {mine[0].last_modified}"


def _text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


__all__ = ["CHECKS", "check", "describe"]
