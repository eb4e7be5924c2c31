"""Import throughput against the client's raw paging, and incremental pass cost vs changes.

`erpsync mock-server --customers N` runs on loopback. In this process:

- raw: `ConnectorClient.changed_since` pages every customer (pages of 500, the mapped fields);
- import: `host.sync.importer.run_import` imports every customer into a fresh crm.db (same
  pages, plus mapping, links and one SQLite transaction per page).
Runs are interleaved; the figure is import actors/s over raw actors/s (target >= 60%).

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


async def _raw(url: str, token: str, guid: str, keys: list[str]) -> int:
    from host.client import ConnectorClient

    count = 0
    async with ConnectorClient(url, token=token, timeout=120) as client:
        async for _ in client.changed_since(guid, "customer", field_keys=keys, page_size=PAGE):
            count += 1
    return count


async def _import(url: str, token: str, crm: Any, guid: str, mapper: Any) -> int:
    from host.client import ConnectorClient
    from host.sync.importer import Criteria, run_import

    async with ConnectorClient(url, token=token, timeout=120) as client:
        job = await run_import(client, crm, guid, mapper, Criteria(), page_size=PAGE)
    return int(job["read"])


def measure(customers: int, runs: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp, mock_server(Path(tmp), customers) as (_, url, token):
        home = Path(tmp) / "home"
        home.mkdir()
        _setup(home, url, token)
        registry, record, crm, mapper = _open(home)
        raw_rates, import_rates = [], []
        asyncio.run(_raw(url, token, record.guid, mapper.pull_keys))  # the mock generates its data
        for _ in range(runs):
            start = time.perf_counter()
            n = asyncio.run(_raw(url, token, record.guid, mapper.pull_keys))
            raw_rates.append(n / (time.perf_counter() - start))
            crm.close()
            for suffix in ("", "-wal", "-shm"):
                Path(str(home / "crm.db") + suffix).unlink(missing_ok=True)
            from host.crm import open_crm

            crm = open_crm(registry.path)
            start = time.perf_counter()
            m = asyncio.run(_import(url, token, crm, record.guid, mapper))
            import_rates.append(m / (time.perf_counter() - start))
            assert m == n == customers, (m, n)
        incremental = {}
        from host.admin.clients import client_for_connector
        from host.connector import Actor
        from host.sync.engine import run_connection

        asyncio.run(run_connection(registry, crm, record, client_for_connector))  # settle
        for changes in (10, 100, 1000):

            async def change(count: int = changes) -> None:
                from host.client import ConnectorClient

                async with ConnectorClient(url, token=token, timeout=120) as client:
                    for first in range(1, count + 1, 200):
                        keys = range(first, min(first + 200, count + 1))
                        await client.save_actors(
                            record.guid,
                            [
                                Actor("customer", str(k), field_values={"PHONE": f"x{count}-{k}"})
                                for k in keys
                            ],
                        )

            asyncio.run(change())
            start = time.perf_counter()
            run = asyncio.run(run_connection(registry, crm, record, client_for_connector))
            seconds = time.perf_counter() - start
            assert run["updated"] == changes, run
            incremental[changes] = round(seconds, 3)
        crm.close()
        registry.close()
        return {
            "raw": stats(raw_rates, 1),
            "import": stats(import_rates, 1),
            "ratio": ratio_stats(import_rates, raw_rates),
            "incremental_seconds": incremental,
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
            f"import of {full_size} customers, actors/s, over the client's raw paging",
            ">= 0.6",
            full["ratio"],
            tenth["ratio"],
            full["ratio"]["median"] >= 0.6,
        ),
        figure(
            "sync_incremental_1000",
            f"one sync pass after 1,000 ERP changes, {full_size} customers imported (seconds)",
            "follows the changes, not the data",
            {"median": full["incremental_seconds"][1000]},
            {"median": tenth["incremental_seconds"][1000]},
            None,
            unit="s",
        ),
    ]
    return {"figures": figures, "details": {"full": full, "tenth": tenth}}


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    suite_main(__doc__, run)
