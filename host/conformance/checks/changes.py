"""Checks of changed since: order, paging, since, field keys."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

from host.conformance.checks.registry import (
    BIG_PAGE,
    actor_problems,
    changes,
    check,
    duplicates,
    per_type,
    per_type_field_keys,
    read_changes,
    stamp_key,
)
from host.conformance.context import (
    Context,
)
from host.conformance.model import (
    Need,
    fail,
    skip,
)
from host.connector import Actor


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
    async def read(guid: str, actor_type: str, keys: list[str]) -> Sequence[Actor]:
        page = await ctx.client.changes_page(guid, actor_type, "", limit=5, field_keys=keys)
        return page.actors

    return await per_type_field_keys(
        ctx,
        read,
        empty="no actors",
        expected=lambda actor_type, keys: f"fields {keys}",
        done=lambda actors: None,
    )


@check(
    "stamps.format",
    "last_modified stamps are printable ASCII without spaces and sort as plain strings",
    "Clients compare stamps as strings (docs/protocol.md): '9' after '10' loses changes.",
    needs=[Need.CONNECTION],
)
async def stamps_format(ctx: Context) -> str | None:
    async def one(actor_type: str) -> str | None:
        full, _ = await changes(ctx, actor_type, strict=False)
        if not full:
            raise skip("no actors")
        stamps = [a.last_modified for a in full]
        bad = [s for s in stamps if not (s and s.isascii() and s.isprintable() and " " not in s)]
        if bad:
            raise fail(
                f"stamps {bad[:3]!r} are not printable ASCII",
                expected="e.g. 00000000000123",
                got=bad[0],
            )
        for before, after in pairwise(stamps):
            if after < before:
                raise fail(
                    f"stamp {after!r} comes after {before!r} but sorts before it as a string",
                    expected="stamps that sort as strings (zero-padded counters, fixed-shape UTC)",
                    got=[before, after],
                )
        return f"{stamps[0]} .. {stamps[-1]}"

    return await per_type(ctx, one)
