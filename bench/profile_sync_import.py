"""Where the import's time goes: CPU of raw reading and of the import, with optional profiles.

Not a suite of `make bench`: the tool behind docs/performance.md's "Sync import" profile.
`erpsync mock-server --customers N` on loopback, a fresh crm.db per import, then per run:

- raw-stream / raw-pages: the client's changes feed (streamed / plain pages), every customer;
- import / import-pages: `run_import` of everything over the same feed, pages of --page;
each with wall time, this process's CPU, the mock server's CPU (from /proc) and, for the
imports, the CPU spent applying pages (in whichever thread host/sync/pipeline.py applies
them) and the rest (reading and decoding the feed). `--profile import` adds a cProfile of
applying and one of the event loop of one more import, timed by the thread's CPU clock
(`time.thread_time`), so waiting for the GIL, the socket or the other core is not counted.

`--apply-only` instead reads every page into memory first and then only applies them to a
fresh crm.db in this thread (no network, no second thread): the CPU of applying alone.

    python bench/profile_sync_import.py [--customers 100000] [--page 500] [--runs 3]
        [--profile import|import-pages|raw-stream|raw-pages] [--top 25]
    python bench/profile_sync_import.py --apply-only [--profile import]
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
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fixtures import mock_server
from sync_import import _import, _open, _raw, _setup

KINDS = ("raw-stream", "import", "raw-pages", "import-pages")


def _server_cpu(pid: int) -> float:
    """utime + stime of the server process (and its waited-for children) so far, seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(v) for v in fields[11:15]) / os.sysconf("SC_CLK_TCK")


class ApplyThread:
    """Wraps host.sync.importer.apply_pages: the CPU of applying pages, optionally profiled
    (a profiler of its own: over plain pages the apply runs in a worker thread)."""

    def __init__(self) -> None:
        import host.sync.importer as importer

        self.importer = importer
        self.real = importer.apply_pages
        self.cpu = 0.0
        self.profiler: cProfile.Profile | None = None
        importer.apply_pages = self.apply_pages  # type: ignore[assignment]

    async def apply_pages(self, pages: Any, apply: Callable[[Any], None], **kw: Any) -> None:
        def timed(page: Any) -> None:
            start = time.thread_time()
            # one profiler per thread: on the loop's thread the loop's profiler sees it all
            profiler = (
                None if threading.current_thread() is threading.main_thread() else (self.profiler)
            )
            if profiler is not None:
                profiler.enable()
            try:
                apply(page)
            finally:
                if profiler is not None:
                    profiler.disable()
                self.cpu += time.thread_time() - start

        await self.real(pages, timed, **kw)


def _print_profile(title: str, profiler: cProfile.Profile, top: int) -> None:
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(top)
    print(f"===== {title}\n{out.getvalue()}")


def _apply_only(
    url: str, token: str, home: Path, registry: Any, crm: Any, mapper: Any, args: Any
) -> None:
    from host.client import ConnectorClient
    from host.crm import open_crm
    from host.sync.apply import apply_actors

    async def read() -> list[Any]:
        async with ConnectorClient(url, token=token, timeout=120) as client:
            return [
                page.actors
                async for page in client.changes(
                    guid, "customer", field_keys=mapper.pull_keys, page_size=args.page
                )
            ]

    guid = registry.connection("acme").guid
    pages = asyncio.run(read())
    crm.close()
    for number in range(args.runs + (1 if args.profile else 0)):
        for suffix in ("", "-wal", "-shm"):
            Path(str(home / "crm.db") + suffix).unlink(missing_ok=True)
        crm = open_crm(registry.path)
        profiler = cProfile.Profile(time.thread_time) if number == args.runs else None
        wall, cpu = time.perf_counter(), time.thread_time()
        if profiler is not None:
            profiler.enable()
        for actors in pages:
            with crm.transaction():
                apply_actors(crm, guid, mapper, actors, force=True)
        if profiler is not None:
            profiler.disable()
        print(
            {
                "kind": "apply-only" + (" (profiled)" if profiler else ""),
                "wall_s": round(time.perf_counter() - wall, 3),
                "cpu_s": round(time.thread_time() - cpu, 3),
                "crm_db_mb": round((home / "crm.db").stat().st_size / 1e6),
            },
            flush=True,
        )
        if profiler is not None:
            _print_profile("apply-only: applying pages in memory", profiler, args.top)
        crm.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--page", type=int, default=500)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--profile", choices=KINDS)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--apply-only", action="store_true", help="pages in memory first")
    args = parser.parse_args()
    import sync_import

    sync_import.PAGE = args.page
    thread = ApplyThread()
    with (
        tempfile.TemporaryDirectory() as tmp,
        mock_server(Path(tmp), args.customers) as (server, url, token),
    ):
        home = Path(tmp) / "home"
        home.mkdir()
        _setup(home, url, token)
        registry, record, crm, mapper = _open(home)
        guid, keys = record.guid, mapper.pull_keys
        asyncio.run(_raw(url, token, guid, keys))  # the mock makes its data

        def one(kind: str, profile: bool) -> dict[str, Any]:
            nonlocal crm
            stream = kind in ("import", "raw-stream")
            if kind.startswith("import"):
                from host.crm import open_crm

                crm.close()
                for suffix in ("", "-wal", "-shm"):
                    Path(str(home / "crm.db") + suffix).unlink(missing_ok=True)
                crm = open_crm(registry.path)
                work = _import(url, token, crm, guid, mapper, stream)
            else:
                work = _raw(url, token, guid, keys, stream)
            loop_profiler = cProfile.Profile(time.thread_time) if profile else None
            thread.profiler = cProfile.Profile(time.thread_time) if profile else None
            thread.cpu = 0.0
            wall, cpu = time.perf_counter(), time.process_time()
            served = _server_cpu(server.process.pid)
            if loop_profiler is not None:
                loop_profiler.enable()
            n = asyncio.run(work)
            if loop_profiler is not None:
                loop_profiler.disable()
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            assert n == args.customers, (kind, n)
            row = {
                "kind": kind,
                "wall_s": round(wall, 3),
                "actors_per_s": round(n / wall),
                "cpu_s": round(cpu, 3),
                "apply_cpu_s": round(thread.cpu, 3),
                "rest_cpu_s": round(cpu - thread.cpu, 3),
                "server_cpu_s": round(_server_cpu(server.process.pid) - served, 3),
            }
            print(row, flush=True)
            if loop_profiler is not None and thread.profiler is not None:
                _print_profile(
                    f"{kind}: the event loop (applying included when on its thread)",
                    loop_profiler,
                    args.top,
                )
                if kind == "import-pages":  # applied in the worker thread
                    _print_profile(f"{kind}: applying pages", thread.profiler, args.top)
            return row

        print(f"load average before: {os.getloadavg()}", flush=True)
        if args.apply_only:
            _apply_only(url, token, home, registry, crm, mapper, args)
            print(f"load average after: {os.getloadavg()}", flush=True)
            return
        for _ in range(args.runs):
            for kind in KINDS:
                one(kind, False)
        if args.profile:
            one(args.profile, True)
        print(f"load average after: {os.getloadavg()}", flush=True)
        crm.close()
        registry.close()


if __name__ == "__main__":
    main()
