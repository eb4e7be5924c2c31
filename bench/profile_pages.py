"""Where a changed-since page's server CPU goes: the connector host app driven in-process.

The app `erpsync serve` runs (host.server.create_app, fast path on, a token) with the bundled
mock ERP, plus the bench's bare endpoint (constant bytes: the first page's body), is called
with raw ASGI messages, no sockets: what is left is the host's and the connector's own work,
without uvicorn's HTTP (which both answers pay alike). Prints CPU per request
(`time.thread_time`, best of 5 rounds) for a page and for the bare answer, the parts of a page
timed alone on the CPU clock (the mock's `changed_since`, the plain-values check, msgspec's
encoding; timeit turns the cyclic GC off, so these add up to less than the page), and with
`--profile` a cProfile (CPU clock) of 1,000 pages.

    python bench/profile_pages.py [--customers 100000] [--limit 100] [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import pstats
import time
import timeit
import uuid
from typing import Any

from fixtures import DEMO_CONFIG
from server_stack import first_page_body

from erpsync_mock_erp import MockErpConnector
from host.connector import Connection
from host.server import create_app
from host.server.shapes import plain_actor_objects

TOKEN = "profile-token"


def build(customers: int, limit: int) -> tuple[Any, MockErpConnector, bytes]:
    from fastapi import Response

    connector = MockErpConnector(customers=customers)
    body = first_page_body(connector, limit)
    app = create_app({"mock": connector}, token=TOKEN)

    @app.get("/bench/bare", include_in_schema=False)
    async def bare() -> Response:
        return Response(content=body, media_type="application/json")

    return app, connector, body


async def call(app: Any, method: str, path: str, query: bytes = b"", payload: bytes = b"") -> Any:
    """One request through the ASGI app; the messages it sent."""
    sent: list[dict[str, Any]] = []
    received = False

    async def receive() -> dict[str, Any]:
        nonlocal received
        if not received:
            received = True
            return {"type": "http.request", "body": payload, "more_body": False}
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    headers = [(b"host", b"bench"), (b"authorization", f"Bearer {TOKEN}".encode())]
    if payload:
        headers.append((b"content-type", b"application/json"))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": query,
        "headers": headers,
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 2),
        "state": {},
    }
    await app(scope, receive, send)
    return sent


async def measure(args: argparse.Namespace) -> None:
    app, connector, body = build(args.customers, args.limit)
    guid = str(uuid.uuid4())
    base = f"/connectors/mock/v1/connections/{guid}"
    saved = await call(app, "PUT", base, payload=json.dumps({"config": DEMO_CONFIG}).encode())
    assert saved[0]["status"] == 200, saved
    path, query = base + "/actors/customer/changes", f"limit={args.limit}".encode()
    first = await call(app, "GET", path, query)
    assert first[1]["body"] == body, "the page differs from the bare endpoint's bytes"
    rounds = 300
    best: dict[str, float] = {}
    for _ in range(5):
        for name, request in (("page", ("GET", path, query)), ("bare", ("GET", "/bench/bare"))):
            start = time.thread_time()
            for _ in range(rounds):
                await call(app, *request)
            used = (time.thread_time() - start) / rounds * 1e6
            best[name] = min(best.get(name, used), used)
    print(f"CPU per request in-process: page of {args.limit} {best['page']:.0f} us, ", end="")
    print(f"bare {best['bare']:.0f} us ({best['page'] / best['bare']:.2f}x)")
    connection = Connection(guid, DEMO_CONFIG)
    page = connector.changed_since(connection, "customer", "", [], "", args.limit)
    import msgspec

    encoder = msgspec.json.Encoder()
    envelope = {"ok": True, "data": {"actors": page.actors, "cursor": page.cursor}}
    parts = {
        "the mock's changed_since": lambda: connector.changed_since(
            connection, "customer", "", [], "", args.limit
        ),
        "plain-values check (shapes.plain_actor_objects)": lambda: plain_actor_objects(page.actors),
        "msgspec encoding of the envelope": lambda: encoder.encode(envelope),
    }
    for name, part in parts.items():
        timer = timeit.Timer(part, timer=time.thread_time)  # CPU, not wall time
        seconds = min(timer.repeat(number=500, repeat=5)) / 500
        print(f"  {name}: {seconds * 1e6:.0f} us")
    if args.profile:
        profile = cProfile.Profile(time.process_time)
        profile.enable()
        for _ in range(1000):
            await call(app, "GET", path, query)
        profile.disable()
        pstats.Stats(profile).sort_stats("tottime").print_stats(25)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--limit", type=int, default=100)
    parser.add_argument("--profile", action="store_true", help="cProfile 1,000 pages")
    asyncio.run(measure(parser.parse_args()))


if __name__ == "__main__":
    main()
