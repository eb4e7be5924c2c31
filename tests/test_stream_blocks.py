"""Decoding the streamed feed a block of lines at a time gives, line for line, what decoding
each line on its own gives: the same actors and markers, and the same refusals."""

from __future__ import annotations

from typing import Any

import pytest
from helpers import MOCK_CONFIG

from erpsync_mock_erp import MockErpConnector
from host.connector import Actor, Connection
from host.protocol.stream import Lines, decode_block, decode_line
from host.server.stream import actor_lines


def _flat(items: list[Any]) -> list[Any]:
    out: list[Any] = []
    for item in items:
        out += item if isinstance(item, list) else [item]
    return out


def _one_by_one(block: bytes) -> list[Any]:
    return [decode_line(line) for line in block.split(b"\n") if line]


def _outcome(decode: Any, block: bytes) -> Any:
    try:
        return ("ok", decode(block))
    except ValueError as exc:
        return ("refused", str(exc))


@pytest.fixture(scope="module")
def page_lines() -> bytes:
    connector = MockErpConnector(customers=40)
    page = connector.changed_since(Connection("g", MOCK_CONFIG), "customer", "", [], "", 20)
    body = actor_lines(page.actors)
    assert body is not None
    return body


ACTOR_WITH_NULLS = b'{"actor_type":"customer","erp_key":null,"field_values":{"A":1}}\n'
OTHER_ORDER_POSITION = b'{"count":3,"position":"abc"}\n'


@pytest.mark.parametrize(
    "build",
    [
        lambda p: p,
        lambda p: p + b'{"position":"xyz","count":20}\n',
        lambda p: b'{"position":"first","count":0}\n' + p + b'{"end":true,"count":20}\n',
        lambda p: p + b'{"error":{"ok":false,"state":"error"}}\n' + p,
        lambda p: p + ACTOR_WITH_NULLS + p,
        lambda p: p + OTHER_ORDER_POSITION + p,
        lambda p: p + b"\n\n" + p,
        lambda p: p + b'{"field_values":{},"actor_type":"customer","erp_key":"7"}\n',
        lambda p: p + b"not json\n" + p,
        lambda p: p + b'{"actor_type":"customer"} {"actor_type":"customer"}\n',
        lambda p: p + b" \n" + p,
        lambda p: p + b"[1, 2]\n",
        lambda p: p + b'{"something":"else"}\n',
        lambda p: p.replace(b'"actor_type":"customer"', b'"actor_type":5', 1),
    ],
)
def test_a_block_decodes_as_its_lines_one_by_one(page_lines: bytes, build: Any) -> None:
    block = build(page_lines)
    got = _outcome(lambda b: _flat(decode_block(b)), block)
    assert got == _outcome(_one_by_one, block)


def test_host_written_actor_lines_come_out_as_one_run(page_lines: bytes) -> None:
    items = decode_block(page_lines + b'{"position":"p","count":20}\n' + page_lines)
    assert [type(i).__name__ for i in items] == ["list", "Position", "list"]
    assert all(isinstance(a, Actor) for a in items[0])  # type: ignore[union-attr]
    assert len(items[0]) == 20  # type: ignore[arg-type]


def test_lines_cut_anywhere_come_out_whole(page_lines: bytes) -> None:
    stream = page_lines + b'{"end":true,"count":20,"next_since":"9"}\n'
    for size in (1, 7, 100, 4096):
        lines = Lines(max_line=10_000)
        items: list[Any] = []
        for at in range(0, len(stream), size):
            items += decode_block(lines.block(stream[at : at + size]))
        assert lines.rest == b""
        assert _flat(items) == _one_by_one(stream)


def test_a_line_longer_than_the_cap_is_refused() -> None:
    lines = Lines(max_line=10)
    with pytest.raises(ValueError, match="longer than 10 bytes"):
        lines.block(b"x" * 11)
