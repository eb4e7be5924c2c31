"""The call wrapper: one connector operation in, (envelope, payload) out, whatever happens.

A connector's exception never reaches the caller as a 500 or a trace: it becomes an `error`
envelope with a one-line tech_explanation, scrubbed of the connection's secrets by the
scrubber both sides of the protocol share (host.protocol.scrub). `_reply` is the fast way
out for large, plain answers (a page or a list of actors).
"""

import inspect
import itertools
import logging
import operator
import traceback
from collections.abc import Callable, Mapping
from typing import Any

import msgspec
from fastapi.responses import JSONResponse
from fastapi.responses import Response as HTTPResponse
from starlette.concurrency import run_in_threadpool

from host.connector import Connection, Connector, ConnectorError, Field, NotSupported, Response
from host.protocol.errors import status_for
from host.protocol.scrub import Scrubber, secret_keys, secret_values
from host.server.shapes import PlainPage, _response

log = logging.getLogger("erpsync.server")


class EnvelopeError(Exception):
    """Stops a request with an error envelope and an HTTP status."""

    def __init__(self, status: int, response: Response):
        self.status = status
        self.response = response


def _envelope(response: Response, data: Any = None) -> dict[str, Any]:
    return {**response.to_dict(), "data": data}


def _answer(response: Response, data: Any = None, **extra: Any) -> Any:
    """A route's answer: the envelope (validated by the route's model) on success; an error
    envelope with the HTTP status of its code (host.protocol.errors) otherwise."""
    if not response.ok:
        return JSONResponse(_envelope(response), status_code=status_for(response.error_code))
    return {**_envelope(response, data), **extra}


def _reply(response: Response, data: Any = None, **extra: Any) -> Any:
    """The envelope of a route whose payload can be large (a page or a list of actors).

    When every value is plain JSON (str, int, float, bool, None in the shapes the shape
    helpers build), the answer is serialized here in one msgspec call, skipping FastAPI's
    validation of it against the response model and its second serialization: the same
    JSON (NaN and infinities as null, as pydantic writes them), in a tenth of the time for a
    page of 100 actors. Anything else goes the usual way, so the response model still checks
    (and, as before, rejects or coerces) it. `extra` are envelope members after `data`
    (a search's next_cursor).
    """
    if not response.ok:
        return _answer(response)
    if type(data) is PlainPage:  # checked when shaped: written from the Actor objects
        envelope = _envelope(response, {"actors": data.actors, "cursor": data.cursor})
        if _STR.issuperset(map(type, map(envelope.get, _ENVELOPE_STRINGS))) and not extra:
            body = encode_plain(envelope)
            if body is not None:
                return HTTPResponse(content=body, media_type="application/json")
        data = data.to_dict()
    envelope = {**_envelope(response, data), **extra}
    if (
        _STR.issuperset(map(type, map(envelope.get, _ENVELOPE_STRINGS)))
        and _STR.issuperset(map(type, extra.values()))
        and _plain(data)
    ):
        body = encode_plain(envelope)
        if body is not None:
            return HTTPResponse(content=body, media_type="application/json")
    return envelope


def encode_plain(value: Any) -> bytes | None:
    """msgspec's JSON of plain values, or None where it cannot be written (an integer beyond
    64 bits, a string with a lone surrogate): the caller then takes the slow path."""
    try:
        return _encode(value)
    except (ValueError, TypeError, OverflowError, UnicodeEncodeError):
        return None


_encode = msgspec.json.Encoder().encode
_STR = frozenset({str})
_DICT = frozenset({dict})
_PLAIN_VALUES = frozenset({str, int, float, bool, type(None)})
_ENVELOPE_STRINGS = ("state", "user_explanation", "tech_explanation", "error_code")
_ACTOR_STRINGS = operator.itemgetter(
    "actor_type", "erp_key", "last_modified", "parent_actor_type", "parent_erp_key"
)
_FIELD_VALUES = operator.itemgetter("field_values")
_chain = itertools.chain.from_iterable


def _plain(data: Any) -> bool:
    """True for None, a list of actor dicts, or a changes page of them, whose members are
    exactly the plain JSON types (no subclass, no datetime, no non-str key).

    Each test is a set operation over `map(type, ...)` of all actors at once, so the loop
    runs in C: a page of 100 actors of 18 fields is checked in about ten microseconds.
    """
    if data is None:
        return True
    if type(data) is dict:
        if type(data.get("cursor")) is not str or len(data) != 2:
            return False
        data = data.get("actors")
    return type(data) is list and plain_actors(data)


def plain_actors(actors: list[Any]) -> bool:
    """True when every item is an actor dict (Actor.to_dict's members) of plain values."""
    try:
        if not _DICT.issuperset(map(type, actors)):
            return False
        values = list(map(_FIELD_VALUES, actors))
        return (
            _STR.issuperset(map(type, _chain(map(_ACTOR_STRINGS, actors))))
            and _DICT.issuperset(map(type, values))
            and _STR.issuperset(map(type, _chain(values)))
            and _PLAIN_VALUES.issuperset(map(type, _chain(map(dict.values, values))))
        )
    except KeyError:
        return False


async def _call(
    operation: Callable[..., Any],
    *args: Any,
    shape: Callable[[Any], Any],
    options: Mapping[str, Any] | None = None,
) -> tuple[Response, Any]:
    """Run one connector operation (`options` as keyword arguments) and turn whatever happens
    into (envelope, payload)."""
    kwargs = dict(options or {})
    try:
        if inspect.iscoroutinefunction(operation):
            result = await operation(*args, **kwargs)
        elif getattr(getattr(operation, "__self__", None), "blocking", True) is False:
            result = operation(*args, **kwargs)  # declared non-blocking: no thread hop
        else:
            result = await run_in_threadpool(operation, *args, **kwargs)
        if isinstance(result, Response):
            result = _scrubber(operation, args).response(result, _name(operation))
            if shape is not _response:
                return result, None
        data = shape(result)
    except NotSupported as exc:
        return (
            Response.error(
                "The connector does not support this operation.",
                f"{exc} is not implemented",
                "not_supported",
            ),
            None,
        )
    except ConnectorError as exc:
        return _scrubber(operation, args).response(exc.response, _name(operation)), None
    except Exception as exc:
        scrubber = _scrubber(operation, args)
        name = _name(operation)
        trace = scrubber.text("".join(traceback.format_exception(exc)), operation=name)
        log.error("connector operation %s failed:\n%s", name, trace)
        return (
            Response.error(
                "The connector failed while answering; see tech_explanation.",
                scrubber.text(
                    f"{type(exc).__name__}: {exc}".splitlines()[0][:500],
                    operation=name,
                    error_code="connector_error",
                ),
                "connector_error",
            ),
            None,
        )
    if shape is _response:
        return data, None
    return Response.success(), data


def _name(operation: Callable[..., Any]) -> str:
    return getattr(operation, "__name__", "?")


def _scrubber(operation: Callable[..., Any], args: tuple[Any, ...]) -> Scrubber:
    """The password values in play for this call, so no answer or log line repeats them."""
    connector = getattr(operation, "__self__", None)
    if not isinstance(connector, Connector):
        return Scrubber()
    try:  # a connector answering garbage here must still get an error envelope, not a 500
        keys = secret_keys(f for f in connector.get_config_fields() if isinstance(f, Field))
    except Exception:
        keys = secret_keys(f for f in connector.config_fields if isinstance(f, Field))
    found = []
    for arg in args:
        config = arg.config if isinstance(arg, Connection) else arg
        if isinstance(config, Mapping):
            found += secret_values(config, keys)
    return Scrubber(found)
