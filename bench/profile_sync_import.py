"""Where the import's time goes: CPU of raw paging and of the import, with an optional profile.

Not a suite of `make bench`: the tool behind docs/performance.md's "Sync import" profile.
`erpsync mock-server --customers N` on loopback, a fresh crm.db per import, then per run:

- raw-stream / raw-pages: the client's changes feed (streamed / plain pages), every customer;
- import: `run_import` of everything (the same feed, pages of --page, applied to crm.db);
each with wall time, this process's CPU time, the mock server's CPU time (from /proc) and,
for the import, the CPU of the thread that applies pages.

    python bench/profile_sync_import.py [--customers 100000] [--page 500] [--runs 3]
        [--pages-only] [--profile import|raw-stream|raw-pages] [--top 25]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fixtures import mock_server
from sync_import import _open, _setup


def _server_cpu(pid: int) -> float:
    """utime + stime of the server process and its children so far, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = sum(int(v) for v in fields[11:15])
    return ticks / os.sysconf("SC_CLK_TCK")


async def _raw(url: str, token: str, guid: str, keys: list[str], page: int, stream: bool) -> int:
    from host.client import ConnectorClient

    count = 0
    async with ConnectorClient(url, token=token, timeout=120) as client:
        if not stream:
            client._asked_info = True  # never asks info: no stream declared, plain pages
        async for p in client.changes(guid, "customer", "", field_keys=keys, page_size=page):
            count += len(p.actors)
    return count


async def _import(url: str, token: str, crm: Any, guid: str, mapper: Any, page: int) -> int:
    from host.client import ConnectorClient
    from host.sync.importer import Criteria, run_import

    async with ConnectorClient(url, token=token, timeout=120) as client:
        job = await run_import(client, crm, guid, mapper, Criteria(), page_size=page)
    return int(job["read"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--page", type=int, default=500)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--pages-only", action="store_true", help="raw-pages import too")
    parser.add_argument("--profile", choices=("import", "raw-stream", "raw-pages"))
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as tmp,
        mock_server(Path(tmp), args.customers) as (server, url, token),
    ):
        if True:
            home = Path(tmp) / "home"
            home.mkdir()
            _setup(home, url, token)
            registry, record, crm, mapper = _open(home)
            keys = mapper.pull_keys
            guid = record.guid
            asyncio.run(_raw(url, token, guid, keys, args.page, True))  # the mock makes its data

            def fresh() -> Any:
                nonlocal crm
                from host.crm import open_crm

                crm.close()
                for suffix in ("", "-wal", "-shm"):
                    Path(str(home / "crm.db") + suffix).unlink(missing_ok=True)
                crm = open_crm(registry.path)
                return crm

            def one(what: str, profiler: cProfile.Profile | None) -> dict[str, Any]:
                store = fresh() if what.startswith("import") else None
                stream = what in ("import", "raw-stream")
                wall, cpu, srv = (
                    time.perf_counter(),
                    time.process_time(),
                    _server_cpu(server.process.pid),
                )
                if profiler is not None:
                    profiler.enable()
                if store is not None:
                    if not stream:
                        from host.client import ConnectorClient

                        real = ConnectorClient._stream_offered

                        async def never(self: Any) -> bool:
                            return False

                        ConnectorClient._stream_offered = never  # type: ignore[method-assign]
                    try:
                        n = asyncio.run(_import(url, token, store, guid, mapper, args.page))
                    finally:
                        if not stream:
                            ConnectorClient._stream_offered = real  # type: ignore[method-assign]
                else:
                    n = asyncio.run(_raw(url, token, guid, keys, args.page, stream))
                if profiler is not None:
                    profiler.disable()
                assert n == args.customers, (what, n)
                return {
                    "what": what,
                    "wall_s": round(time.perf_counter() - wall, 3),
                    "cpu_s": round(time.process_time() - cpu, 3),
                    "server_cpu_s": round(_server_cpu(server.process.pid) - srv, 3),
                    "actors_per_s": round(n / (time.perf_counter() - wall)),
                }

            kinds = ["raw-stream", "import", "raw-pages"]
            if args.pages_only:
                kinds.append("import-pages")
            print(f"uptime: {os.getloadavg()}", file=sys.stderr)
            for _ in range(args.runs):
                for what in kinds:
                    print(one(what, None), flush=True)
            if args.profile:
                profiler = cProfile.Profile()
                print(one(args.profile, profiler), flush=True)
                out = io.StringIO()
                stats = pstats.Stats(profiler, stream=out)
                stats.sort_stats("tottime").print_stats(args.top)
                stats.sort_stats("cumulative").print_stats(args.top)
                print(out.getvalue())
            print(f"uptime: {os.getloadavg()}", file=sys.stderr)
            crm.close()
            registry.close()


if __name__ == "__main__":
    main()
