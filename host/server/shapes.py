"""Shapes: check what a connector returned and turn it into the wire payload.

A connector returning the wrong type fails here with a TypeError, which the call wrapper turns
into a `connector_error` envelope instead of a 500.
"""

from collections.abc import Mapping
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


def _items(result: Any) -> list[dict[str, str]]:
    if not isinstance(result, Mapping):
        raise TypeError("expected a mapping of item key -> text")
    return [{"key": str(k), "text": str(v)} for k, v in result.items()]
