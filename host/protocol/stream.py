"""Reading the streamed changes feed (protocol v1.1): NDJSON lines into `Actor`s and markers.

The stream's lines are actors (the bulk: decoded by msgspec straight into `host.Actor`, about
a microsecond each), a position after each page but the last, the end with the stamp to ask
from next time, or an error envelope when the connector failed half-way. Lines come from a
connector anywhere, in any language: anything else is refused, a line longer than the cap too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec

from host.connector import Actor

_actor = msgspec.json.Decoder(Actor)
_any = msgspec.json.Decoder()


@dataclass(frozen=True)
class Position:
    """Resume after the actors read so far by sending `cursor` back."""

    cursor: str
    count: int


@dataclass(frozen=True)
class End:
    """The stream is complete; `next_since` is the stamp to ask from next time."""

    count: int
    next_since: str


@dataclass(frozen=True)
class Failed:
    """The connector failed after the stream began: its error envelope."""

    envelope: dict[str, Any]


Line = Actor | Position | End | Failed


def decode_line(line: bytes) -> Line:
    """One line of the stream; ValueError says why a line is not one."""
    try:
        actor: Actor = _actor.decode(line)
        return actor
    except msgspec.ValidationError:
        pass  # a marker, or an actor with nulls where the wire allows them
    except msgspec.DecodeError as exc:
        raise ValueError(f"a line is not JSON ({exc})") from None
    item = _any.decode(line)
    if not isinstance(item, dict):
        raise ValueError("a line is not a JSON object")
    if "actor_type" in item:
        try:
            return Actor.from_dict(item)
        except (TypeError, KeyError, ValueError, AttributeError) as exc:
            raise ValueError(f"an actor line has the wrong shape ({exc})") from None
    count = item.get("count")
    if isinstance(item.get("position"), str) and item["position"] and isinstance(count, int):
        return Position(item["position"], count)
    if item.get("end") is True and isinstance(count, int):
        since = item.get("next_since")
        return End(count, since if isinstance(since, str) else "")
    if isinstance(item.get("error"), dict):
        return Failed(item["error"])
    raise ValueError("a line is neither an actor, a position, the end nor an error")


class Lines:
    """Splits a byte stream into lines; a line longer than `max_line` bytes is refused."""

    def __init__(self, max_line: int) -> None:
        self.max_line = max_line
        self.rest = b""

    def feed(self, chunk: bytes) -> list[bytes]:
        data = self.rest + chunk if self.rest else chunk
        lines = data.split(b"\n")
        self.rest = lines.pop()
        if len(self.rest) > self.max_line:
            raise ValueError(f"a line is longer than {self.max_line} bytes")
        return [line for line in lines if line]
