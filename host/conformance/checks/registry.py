"""The register of checks and the helpers checks share (reading changes, per actor type,
comparing stamps ...). Modules beside it hold the checks, one concern each."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

from host.conformance.context import (
    Context,
    describe,
    describe_response,
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
    Actor,
    Field,
    FieldType,
    Response,
)
from host.failures import CallFailed

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


async def changes(ctx: Context, actor_type: str, *, strict: bool) -> tuple[list[Actor], bool]:
    """Every change of the type (up to MAX_ACTORS), in big pages, read once per run."""
    return await ctx.remember(
        ("changes", actor_type), lambda: read_changes(ctx, actor_type), strict
    )


def is_text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


async def per_type_field_keys(
    ctx: Context,
    read: Callable[[str, str, list[str]], Awaitable[Sequence[Actor]]],
    *,
    empty: str,
    expected: Callable[[str, list[str]], str],
    done: Callable[[Sequence[Actor]], str | None],
) -> str:
    """For every actor type, `read(guid, actor_type, keys)` with two field keys and fail on
    actors of another type, without erp_key or last_modified, or with other fields: changed
    since and search are held to the same rule."""
    guid = await ctx.connection()

    async def one(actor_type: str) -> str | None:
        keys = pick_field_keys(await ctx.actor_fields(actor_type))
        if not keys:
            raise skip("no fields to ask for")
        actors = await read(guid, actor_type, keys)
        if not actors:
            raise skip(empty)
        problems = actor_problems(actors, actor_type, keys)
        if problems:
            raise fail(
                f"asked for {keys}: " + "; ".join(problems[:3]),
                expected=expected(actor_type, keys),
                got=problems[0],
            )
        return done(actors)

    return await per_type(ctx, one)
