"""Checks of the streamed changes feed (v1.1): when declared, it agrees with the pages."""

from __future__ import annotations

from host.conformance.checks.registry import MAX_ACTORS, changes, check, per_type
from host.conformance.context import Context
from host.conformance.model import Need, fail, skip
from host.connector import Actor


async def _read(
    ctx: Context, actor_type: str, cursor: str, limit: int, cap: int
) -> tuple[list[Actor], list[tuple[int, str]], bool]:
    """(actors, positions, end reached) of the stream from `cursor`, stopping after `cap`."""
    guid = await ctx.connection()
    actors: list[Actor] = []
    positions: list[tuple[int, str]] = []
    async for page in ctx.client.changes_stream(guid, actor_type, cursor=cursor, page_size=limit):
        actors.extend(page.actors)
        if not page.cursor:
            return actors, positions, True
        positions.append((len(actors), page.cursor))
        if len(actors) >= cap:
            break
    return actors, positions, False


def _same(one: list[Actor], other: list[Actor]) -> int | None:
    """The first index where the two reads differ, or None."""
    for index, (a, b) in enumerate(zip(one, other, strict=False)):
        if a != b:
            return index
    return None


@check(
    "changes_stream.agrees",
    "the streamed changes feed answers the same actors as the pages, and resumes at a position",
    "A client reads the stream instead of pages when it is declared: a difference is lost or "
    "wrong data, a position that does not resume repeats or skips actors.",
    needs=[Need.CONNECTION],
)
async def changes_stream_agrees(ctx: Context) -> str | None:
    if not ctx.declares("changes_stream"):
        raise skip("the connector does not declare changes_stream")

    async def one(actor_type: str) -> str | None:
        paged, truncated = await changes(ctx, actor_type, strict=False)
        if not paged:
            raise skip("no actors")
        limit = max(1, (len(paged) + 3) // 4)
        streamed, positions, ended = await _read(ctx, actor_type, "", limit, MAX_ACTORS)
        common = min(len(paged), len(streamed))
        index = _same(paged, streamed)
        if index is not None:
            raise fail(
                f"actor {index} of the stream differs from the pages",
                expected=paged[index].to_dict(),
                got=streamed[index].to_dict(),
            )
        if not truncated and ended and len(streamed) != len(paged):
            raise fail(
                f"the stream held {len(streamed)} actors, the pages {len(paged)}",
                expected=len(paged),
                got=len(streamed),
            )
        if positions:
            at, position = positions[0]
            rest, _, _ = await _read(ctx, actor_type, position, limit, MAX_ACTORS - at)
            index = _same(streamed[at:], rest)
            if index is not None or not rest:
                raise fail(
                    f"resuming the stream at its first position (after {at} actors) did not "
                    "go on with the next actor",
                    expected=streamed[at].erp_key if at < len(streamed) else "the next actor",
                    got=rest[index].erp_key if rest and index is not None else "nothing",
                )
        return f"{common} actors, {len(positions)} positions of {limit}"

    return await per_type(ctx, one)
