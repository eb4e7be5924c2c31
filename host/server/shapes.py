"""Shapes: check what a connector returned and turn it into the wire payload.

A connector returning the wrong type fails here with a TypeError, which the call wrapper turns
into a `connector_error` envelope instead of a 500.
"""

import itertools
import operator
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from host.connector import ACTOR_TYPES, Actor, Field, Page, Response


def _response(result: Any) -> Response:
    if not isinstance(result, Response):
        raise TypeError(f"expected a host.Response, got {type(result).__name__}")
    return result


def _fields(result: Any) -> list[dict[str, Any]]:
    items = list(result)
    if not all(isinstance(f, Field) for f in items):
        raise TypeError("expected a list of host.Field")
    return [f.to_dict() for f in items]


def _strings(result: Any) -> list[str]:
    items = list(result)
    if not all(isinstance(s, str) for s in items):
        raise TypeError("expected a list of strings")
    return items


def _actor_types(result: Any) -> list[str]:
    items = _strings(result)
    invalid = [t for t in items if t not in ACTOR_TYPES]
    if invalid:
        raise TypeError(f"actor types {invalid} are not in the allowed set {list(ACTOR_TYPES)}")
    return items


def _actor(result: Any) -> dict[str, Any]:
    if not isinstance(result, Actor):
        raise TypeError(f"expected a host.Actor, got {type(result).__name__}")
    return result.to_dict()


def _actors(result: Any) -> list[dict[str, Any]]:
    return [_actor(a) for a in result]


def _page(result: Any) -> dict[str, Any]:
    if not isinstance(result, Page):
        raise TypeError(f"expected a host.Page, got {type(result).__name__}")
    return {"actors": _actors(result.actors), "cursor": result.cursor}


@dataclass(frozen=True)
class PlainPage:
    """A changes page whose actors are exactly `Actor`s of plain JSON values (checked by
    `plain_actor_objects`): `_reply` writes them with msgspec straight from the objects, with
    no dict per actor (the same bytes as `_page`'s dicts)."""

    actors: list[Actor]
    cursor: str

    def to_dict(self) -> dict[str, Any]:
        return {"actors": [a.to_dict() for a in self.actors], "cursor": self.cursor}


def _page_objects(result: Any) -> PlainPage | dict[str, Any]:
    """As `_page` (the same checks, errors and payload), but a page of plain `Actor`s is kept
    as the objects: what the host spends per page is then mostly the connector's own work."""
    if (
        type(result) is Page
        and type(result.actors) is list
        and type(result.cursor) is str
        and plain_actor_objects(result.actors)
    ):
        return PlainPage(result.actors, result.cursor)
    return _page(result)


def plain_actor_objects(actors: list[Any]) -> bool:
    """True when every item is exactly an `Actor` whose strings are str, whose field_values
    is a dict of str keys and plain values (str, int, float, bool, None): what msgspec writes
    as pydantic would. Each test runs over all actors at once in C (`map(type, ...)`)."""
    try:
        if not _ACTOR_TYPE.issuperset(map(type, actors)):
            return False
        values = list(map(_FIELD_VALUES, actors))
        return (
            _STR.issuperset(map(type, _chain(map(_ACTOR_STRINGS, actors))))
            and _DICT.issuperset(map(type, values))
            and _STR.issuperset(map(type, _chain(values)))
            and _PLAIN_VALUES.issuperset(map(type, _chain(map(dict.values, values))))
        )
    except AttributeError:  # an attribute deleted: `_page` says what is wrong
        return False


_ACTOR_TYPE = frozenset({Actor})
_STR = frozenset({str})
_DICT = frozenset({dict})
_PLAIN_VALUES = frozenset({str, int, float, bool, type(None)})
_ACTOR_STRINGS = operator.attrgetter(
    "actor_type", "erp_key", "last_modified", "parent_actor_type", "parent_erp_key"
)
_FIELD_VALUES = operator.attrgetter("field_values")
_chain = itertools.chain.from_iterable


def _items(result: Any) -> list[dict[str, str]]:
    if not isinstance(result, Mapping):
        raise TypeError("expected a mapping of item key -> text")
    return [{"key": str(k), "text": str(v)} for k, v in result.items()]
