"""Paging every mock customer through ConnectorClient.changed_since, and the host's memory.

`erpsync mock-server --customers 100000` (a token required) runs on loopback; this process
reads all 100,000 customers of company 1 through `host.client.ConnectorClient.changed_since`
with its defaults (every field), as a bulk read does: over the streamed changes feed the mock
declares (one request, a position every 1,000 actors, `BULK_PAGE_SIZE`); for comparison also
through ConnectorClient's page path (one page fetched ahead), in pages of 1,000 (its default)
and of 100; and, in between, reads the same rows directly from the mock's own store in this
same process: `MockErpConnector.changed_since`, page by page with the same cursor and pages
of 1,000, no HTTP. The target: the client (streamed) at 30% or more of the direct read's
actors per second. Also reported: the raw walk of the store's index (no Actor copies), and
the client over the in-process ASGI transport (as an `app:mock` connector URL runs).

Memory: before paging, 1,000 connections are saved (PUT) to the server, so it then holds
1,000 connections and the company's ~119,000 actors (100,000 customers and their suppliers,
persons, projects); its resident memory (VmRSS, and the peak VmHWM) must stay under 250 MiB.
A tenth: 10,000 customers and 100 connections.

    python bench/paging.py [--quick]
"""

from __future__ import annotations

import asyncio
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from common import MIB, figure, log, stats, suite_main
from fixtures import DEMO_CONFIG, mock_server, save_connections

FULL_CUSTOMERS = 100_000
FULL_CONNECTIONS = 1_000
PAGE = 1000  # host.client.changes.BULK_PAGE_SIZE, what changed_since reads by default
SMALL_PAGE = 100


async def page_through_client(url: str, token: str | None, guid: str, **kwargs: Any) -> int:
    """A bulk read: ConnectorClient.changed_since with its defaults (the stream when declared)."""
    from host.client import ConnectorClient

    count = 0
    async with ConnectorClient(url, token=token, timeout=120, **kwargs) as client:
        async for _ in client.changed_since(guid, "customer"):
            count += 1
    return count


async def pages_through_client(
    url: str, token: str | None, guid: str, size: int = SMALL_PAGE
) -> int:
    """Pages through the client's page path (what changed_since does without the stream)."""
    from host.client import ConnectorClient

    count = 0
    async with ConnectorClient(url, token=token, timeout=120) as client:
        async for page in client._paged(guid, "customer", "", "", (), size):
            count += len(page.actors)
    return count


def page_directly(connector: Any, guid: str) -> int:
    from host.connector import Connection

    connection = Connection(guid, dict(DEMO_CONFIG))
    count, cursor = 0, ""
    while True:
        page = connector.changed_since(connection, "customer", "", [], cursor, PAGE)
        count += len(page.actors)
        if not page.cursor:
            return count
        cursor = page.cursor


def walk_store(connector: Any) -> int:
    table = connector.store.company(1).tables["customer"]
    return sum(1 for actor in table if actor is not None)  # every row, in ERP-number order


def timed(function: Any, *args: Any) -> tuple[float, int]:
    start = time.perf_counter()
    count = function(*args)
    return time.perf_counter() - start, count


def measure(directory: Path, customers: int, connections: int, runs: int) -> dict[str, Any]:
    from erpsync_mock_erp import MockErpConnector
    from host.server import create_app

    guids = [str(uuid.UUID(int=i + 1)) for i in range(connections)]
    local = MockErpConnector(customers=customers)
    walk_store(local)  # generate the data before any timing
    asgi_app = create_app({"mock": local}, token=None)
    asyncio.run(_save_in_process(asgi_app, guids[0]))
    samples: dict[str, list[float]] = {
        "client_http": [],
        "client_pages_1000": [],
        "client_pages_100": [],
        "direct": [],
        "store_walk": [],
        "client_asgi": [],
    }

    def record(name: str, seconds: float, count: int) -> None:
        if count != customers:
            raise RuntimeError(f"{name} read {count} customers, expected {customers}")
        samples[name].append(customers / seconds)

    def local_round() -> None:
        record("direct", *timed(page_directly, local, guids[0]))
        record("store_walk", *timed(walk_store, local))
        record(
            "client_asgi",
            *timed(
                lambda: asyncio.run(
                    page_through_client(
                        "http://app/connectors/mock", None, guids[0], transport=_asgi(asgi_app)
                    )
                )
            ),
        )

    local_round()  # warm-up, thrown away
    for values in samples.values():
        values.clear()
    with mock_server(directory, customers) as (running, url, token):
        save_connections(url, token, guids)
        for _ in range(runs):
            record(
                "client_http",
                *timed(lambda: asyncio.run(page_through_client(url, token, guids[0]))),
            )
            record(
                "client_pages_1000",
                *timed(lambda: asyncio.run(pages_through_client(url, token, guids[0], PAGE))),
            )
            record(
                "client_pages_100",
                *timed(lambda: asyncio.run(pages_through_client(url, token, guids[0]))),
            )
            local_round()
        memory = {
            "server_rss_mib": round(running.rss_bytes() / MIB, 1),
            "server_peak_rss_mib": round(running.peak_rss_bytes() / MIB, 1),
        }

    def ratio(name: str, base: str) -> dict[str, Any]:
        return stats([c / d for c, d in zip(samples[name], samples[base], strict=False)], digits=4)

    return {
        "customers": customers,
        "connections_saved": connections,
        "page_size": PAGE,
        "actors_per_second": {name: stats(v, digits=0) for name, v in samples.items()},
        "ratio_to_direct": ratio("client_http", "direct"),
        "ratio_to_direct_pages_1000": ratio("client_pages_1000", "direct"),
        "ratio_to_direct_pages_100": ratio("client_pages_100", "direct"),
        "ratio_to_direct_asgi": ratio("client_asgi", "direct"),
        "ratio_to_store_walk": ratio("client_http", "store_walk"),
        **memory,
    }


async def _save_in_process(app: Any, guid: str) -> None:
    from host.client import ConnectorClient

    async with ConnectorClient("http://app/connectors/mock", transport=_asgi(app)) as client:
        await client.save_connection(guid, DEMO_CONFIG)


def _asgi(app: Any) -> Any:
    import httpx

    return httpx.ASGITransport(app=app)


def run(quick: bool = False) -> dict[str, Any]:
    runs = 1 if quick else 3
    with tempfile.TemporaryDirectory(prefix="erpsync-bench-paging-") as temp:
        directory = Path(temp)
        log(f"paging: {FULL_CUSTOMERS} customers, {FULL_CONNECTIONS} connections, {runs} runs")
        full = measure(directory, FULL_CUSTOMERS, FULL_CONNECTIONS, runs)
        log(f"paging: {FULL_CUSTOMERS // 10} customers, {FULL_CONNECTIONS // 10} connections")
        tenth = measure(directory, FULL_CUSTOMERS // 10, FULL_CONNECTIONS // 10, runs)
    figures = [
        figure(
            "paging.client_actors_per_second",
            "ConnectorClient.changed_since over loopback HTTP, all customers (streamed feed)",
            "(reported)",
            full["actors_per_second"]["client_http"],
            tenth["actors_per_second"]["client_http"],
            None,
            unit="actors/s",
        ),
        figure(
            "paging.ratio_to_direct",
            "ConnectorClient.changed_since (streamed feed, positions every 1,000) / direct "
            "read of the same rows from the mock's store (its changed_since, pages of 1,000, "
            "same process)",
            ">= 0.30",
            full["ratio_to_direct"],
            tenth["ratio_to_direct"],
            full["ratio_to_direct"]["median"] >= 0.3,
            unit="x",
        ),
        figure(
            "paging.ratio_to_direct_pages_1000",
            "ConnectorClient pages of 1,000 (no stream) / the same direct read",
            "(reported)",
            full["ratio_to_direct_pages_1000"],
            tenth["ratio_to_direct_pages_1000"],
            None,
            unit="x",
        ),
        figure(
            "paging.ratio_to_direct_pages_100",
            "ConnectorClient pages of 100 (no stream) / the same direct read",
            "(reported)",
            full["ratio_to_direct_pages_100"],
            tenth["ratio_to_direct_pages_100"],
            None,
            unit="x",
        ),
        figure(
            "memory.connector_host",
            f"`erpsync mock-server` resident memory with {FULL_CONNECTIONS} connections and "
            "~119,000 actors after paging all customers (VmRSS / peak VmHWM)",
            "< 250 MiB",
            {"median": full["server_rss_mib"], "peak": full["server_peak_rss_mib"]},
            {"median": tenth["server_rss_mib"], "peak": tenth["server_peak_rss_mib"]},
            full["server_peak_rss_mib"] < 250,
            unit="MiB",
        ),
    ]
    return {"figures": figures, "details": {"full": full, "tenth": tenth}}


def main() -> None:
    suite_main(__doc__, run)


if __name__ == "__main__":
    main()
