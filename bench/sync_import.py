"""Import throughput against the client's raw paging, and incremental pass cost vs changes.

`erpsync mock-server --customers N` runs on loopback (its own process). In this process, in
interleaved rounds, each over every customer, pages of 500 with the mapped fields:

- raw-stream: `ConnectorClient.changes` reads the feed the way the import does: over the
  streamed feed (protocol v1.1 `changes_stream`, which the host's server always offers);
- import: `host.sync.importer.run_import` of everything into a fresh crm.db (the same client,
  feed, page size and transport, plus mapping, links and one SQLite transaction per page);
- raw-pages / import-pages: the same two against a connector that declares no streamed feed
  (plain `changed_since` pages, each next one fetched ahead).
The target figure is issue #14's: the import as it runs (import-stream) in actors/s over the
client's raw paging of the same actors (raw-pages), >= 60%. Beside it: import-stream over
raw-stream (like for like, the stricter ratio), the plain-pages pair, and this process's CPU
time per actor of each, with the load average.

Then, on the imported data, K customers are changed in the ERP (K = 10, 100, 1000) and one
sync pass (`host.sync.engine.run_connection`) is timed: its cost should follow K, not N.

    python bench/sync_import.py [--quick]
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from common import PYTHON, figure, log, ratio_stats, stats, suite_main
from fixtures import mock_server

from host.apps import mock_demo_login

FULL = 100_000
PAGE = 500
KINDS = ("raw-stream", "import-stream", "raw-pages", "import-pages")


def _cli(home: Path, *args: str) -> None:
    env = {**os.environ, "ERPSYNC_HOME": str(home)}
    subprocess.run([PYTHON, "-m", "host.cli", *args], env=env, check=True, capture_output=True)


def _setup(home: Path, url: str, token: str) -> None:
    (home / "token").write_text(token)
    _cli(home, "connectors", "add", "mock-erp", url, "--token-file", str(home / "token"))
    _cli(
        home, "connections", "add", "acme", "--connector", "mock-erp",
        *(f"--config={key}={value}" for key, value in mock_demo_login().items()), "--no-input",
    )  # fmt: skip
    _cli(home, "mapping", "enable", "acme", "customer")
    _cli(home, "mapping", "lists", "acme", "--auto")
    _cli(home, "connections", "activate", "acme")


def _open(home: Path) -> tuple[Any, Any, Any, Any]:
    os.environ["ERPSYNC_HOME"] = str(home)
    from host.crm import open_crm
    from host.registry import Registry
    from host.sync.mapping import Mapper
    from host.sync.settings import list_items, one_type

    registry = Registry.open(home / "registry.db")
    record = registry.connection("acme")
    mapper = Mapper(one_type(registry, record.guid, "customer"), list_items(registry, record.guid))
    return registry, record, open_crm(registry.path), mapper


def _plain_pages(client: Any) -> None:
    """Make `client` see a connector that declares no streamed feed (plain pages)."""
    client.capabilities = {"operations": ["changed_since"]}


async def _raw(url: str, token: str, guid: str, keys: list[str], stream: bool = True) -> int:
    from host.client import ConnectorClient

    count = 0
    async with ConnectorClient(url, token=token, timeout=120) as client:
        if not stream:
            _plain_pages(client)
        async for page in client.changes(guid, "customer", field_keys=keys, page_size=PAGE):
            count += len(page.actors)
    return count


async def _import(url: str, token: str, crm: Any, guid: str, mapper: Any, stream: bool) -> int:
    from host.client import ConnectorClient
    from host.sync.importer import Criteria, run_import

    async with ConnectorClient(url, token=token, timeout=120) as client:
        if not stream:
            _plain_pages(client)
        job = await run_import(client, crm, guid, mapper, Criteria(), page_size=PAGE)
    return int(job["read"])


def measure(customers: int, runs: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp, mock_server(Path(tmp), customers) as (_, url, token):
        home = Path(tmp) / "home"
        home.mkdir()
        _setup(home, url, token)
        registry, record, crm, mapper = _open(home)
        rates: dict[str, list[float]] = {k: [] for k in KINDS}
        cpu: dict[str, list[float]] = {k: [] for k in KINDS}
        asyncio.run(_raw(url, token, record.guid, mapper.pull_keys))  # the mock makes its data
        load_before = os.getloadavg()[0]
        for _ in range(runs):
            for kind in KINDS:
                stream = kind.endswith("stream")
                if kind.startswith("import"):
                    crm.close()
                    for suffix in ("", "-wal", "-shm"):
                        Path(str(home / "crm.db") + suffix).unlink(missing_ok=True)
                    from host.crm import open_crm

                    crm = open_crm(registry.path)
                    work = _import(url, token, crm, record.guid, mapper, stream)
                else:
                    work = _raw(url, token, record.guid, mapper.pull_keys, stream)
                start, used = time.perf_counter(), time.process_time()
                n = asyncio.run(work)
                rates[kind].append(n / (time.perf_counter() - start))
                cpu[kind].append((time.process_time() - used) / n * 1e6)
                assert n == customers, (kind, n)
        incremental: dict[int, dict[str, Any]] = {}
        from host.admin.clients import client_for_connector
        from host.connector import Actor
        from host.sync.engine import run_connection

        asyncio.run(run_connection(registry, crm, record, client_for_connector))  # settle
        for changes in (10, 100, 1000):
            seconds = []
            for round_number in range(runs):

                async def change(count: int = changes, mark: int = round_number) -> None:
                    from host.client import ConnectorClient

                    async with ConnectorClient(url, token=token, timeout=120) as client:
                        for first in range(1, count + 1, 200):
                            keys = range(first, min(first + 200, count + 1))
                            await client.save_actors(
                                record.guid,
                                [
                                    Actor(
                                        "customer",
                                        str(k),
                                        field_values={"PHONE": f"x{count}-{mark}-{k}"},
                                    )
                                    for k in keys
                                ],
                            )

                asyncio.run(change())
                start = time.perf_counter()
                run = asyncio.run(run_connection(registry, crm, record, client_for_connector))
                seconds.append(time.perf_counter() - start)
                assert run["updated"] == changes, run
            incremental[changes] = stats(seconds, 3)
        crm.close()
        registry.close()
        return {
            **{kind: stats(rates[kind], 1) for kind in KINDS},
            "ratio": ratio_stats(rates["import-stream"], rates["raw-stream"]),
            "ratio_pages": ratio_stats(rates["import-pages"], rates["raw-pages"]),
            "ratio_stream_over_pages": ratio_stats(rates["import-stream"], rates["raw-pages"]),
            "cpu_us_per_actor": {kind: stats(cpu[kind], 2) for kind in KINDS},
            "incremental_seconds": incremental,
            "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        }


def run(quick: bool) -> dict[str, Any]:
    full_size = 10_000 if quick else FULL
    runs = 1 if quick else 3
    log(f"sync_import: {full_size} customers")
    full = measure(full_size, runs)
    log(f"sync_import: {full_size // 10} customers")
    tenth = measure(full_size // 10, runs)
    figures = [
        figure(
            "sync_import_ratio",
            f"import of {full_size:,} customers as `erpsync import run` reads them (the "
            "streamed feed), actors/s, over the client's raw paging of the same actors "
            "(changed_since pages of 500: issue #14's baseline)",
            ">= 0.6",
            full["ratio_stream_over_pages"],
            tenth["ratio_stream_over_pages"],
            full["ratio_stream_over_pages"]["median"] >= 0.6,
        ),
        figure(
            "sync_import_ratio_stream",
            "the same import over the client's raw reading of the streamed feed itself (like "
            "for like: the transport the import uses, which reading alone makes 2x faster)",
            "(reported)",
            full["ratio"],
            tenth["ratio"],
            None,
        ),
        figure(
            "sync_import_rate",
            f"import of {full_size:,} customers over the streamed feed (actors/s; raw-stream "
            f"{full['raw-stream']['median']:,.0f}/s)",
            "(reported)",
            full["import-stream"],
            tenth["import-stream"],
            None,
            unit="actors/s",
        ),
        figure(
            "sync_import_ratio_pages",
            "the same against a connector without the streamed feed: import over plain pages / "
            "raw plain pages",
            "(reported)",
            full["ratio_pages"],
            tenth["ratio_pages"],
            None,
        ),
        figure(
            "sync_import_cpu",
            "this process's CPU per imported actor, import over the streamed feed (raw-stream "
            f"reading alone: {full['cpu_us_per_actor']['raw-stream']['median']:g} us)",
            "(reported)",
            full["cpu_us_per_actor"]["import-stream"],
            tenth["cpu_us_per_actor"]["import-stream"],
            None,
            unit="us",
        ),
        *(
            figure(
                f"sync_incremental_{k}",
                f"one sync pass after {k:,} ERP changes, {full_size:,} customers imported "
                "(the tenth: as many changes, a tenth of the data)",
                "follows the changes, not the data",
                full["incremental_seconds"][k],
                tenth["incremental_seconds"][k],
                None,
                unit="s",
            )
            for k in (10, 100, 1000)
        ),
    ]
    return {"figures": figures, "details": {"full": full, "tenth": tenth}}


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    suite_main(__doc__, run)
