"""Where a full changed-since read's CPU goes, on both sides of the streamed feed.

`erpsync mock-server --customers N` (a token) runs on loopback; this process reads every
customer through `ConnectorClient.changed_since` (the stream, positions every 1,000) and,
for comparison, through the page path in pages of 1,000, three rounds each. Per round: actors
per second, this client's CPU per actor (`time.process_time`) and the server's
(/proc/<pid>/stat, user + system). Then the direct read of the same rows from a mock store in
this process (pages of 1,000), the decoding of those rows' NDJSON lines alone, and with
`--profile` a cProfile (CPU clock) of one more streamed read.

    python bench/profile_stream.py [--customers 100000] [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import tempfile
import time
import uuid
from pathlib import Path

from fixtures import DEMO_CONFIG, mock_server, save_connections
from paging import PAGE, page_directly, page_through_client, pages_through_client
from server_rps import cpu_seconds


def decode_only(customers: int) -> tuple[float, float]:
    """CPU per actor of the direct read, and of decoding the same rows' stream lines."""
    import msgspec

    from erpsync_mock_erp import MockErpConnector
    from host.connector import Actor, Connection
    from host.server.stream import actor_lines

    connector = MockErpConnector(customers=customers)
    guid = str(uuid.UUID(int=1))
    page_directly(connector, guid)  # makes the data
    start = time.process_time()
    count = page_directly(connector, guid)
    direct = (time.process_time() - start) / count
    connection, cursor, blocks = Connection(guid, DEMO_CONFIG), "", []
    while True:
        page = connector.changed_since(connection, "customer", "", [], cursor, PAGE)
        blocks.append(actor_lines(page.actors) or b"")
        cursor = page.cursor
        if not cursor:
            break
    decoder = msgspec.json.Decoder(Actor)
    start = time.process_time()
    decoded = sum(len(decoder.decode_lines(block)) for block in blocks)
    return direct, (time.process_time() - start) / decoded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--profile", action="store_true", help="cProfile one streamed read")
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as temp,
        mock_server(Path(temp), args.customers) as (
            running,
            url,
            token,
        ),
    ):
        guid = str(uuid.UUID(int=1))
        save_connections(url, token, [guid])
        reads = {
            "stream": lambda: page_through_client(url, token, guid),
            "pages of 1,000": lambda: pages_through_client(url, token, guid, PAGE),
        }
        for _ in range(3):
            for name, read in reads.items():
                server_before, client_before = cpu_seconds(running.process.pid), time.process_time()
                start = time.perf_counter()
                count = asyncio.run(read())
                wall = time.perf_counter() - start
                client = (time.process_time() - client_before) / count * 1e6
                server = (cpu_seconds(running.process.pid) - server_before) / count * 1e6
                print(
                    f"{name}: {count / wall:,.0f} actors/s; CPU per actor: client {client:.1f} "
                    f"us, server {server:.1f} us"
                )
        if args.profile:
            profile = cProfile.Profile(time.process_time)
            profile.enable()
            asyncio.run(page_through_client(url, token, guid))
            profile.disable()
            pstats.Stats(profile).sort_stats("tottime").print_stats(20)
    direct, decode = decode_only(args.customers)
    print(f"direct read (pages of 1,000, in-process): {direct * 1e6:.2f} us CPU per actor")
    print(f"msgspec decoding of the stream's lines into Actor: {decode * 1e6:.2f} us per actor")


if __name__ == "__main__":
    main()
