"""The mock ERP at scale: seconds until `erpsync mock-server --customers N` answers a call on
its data, and the server's peak resident memory, for 1,000,000 and 100,000 customers.

    python bench/mock_scale.py [--quick]

"Ready" is measured from the start of the process to the first answer of a connection test
(which makes the company's data: generated at once up to 100,000 customers, on demand
above, see plugins/erpsync_mock_erp/lazy.py), then a page of changes from the middle of the
data and a text search that walks every customer; VmHWM of the server process is read after.
(`serve --workers N` is measured by bench/workers.py.)
"""

from __future__ import annotations

import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from common import BIN_DIR, MIB, base_env, figure, log, server, stats, suite_main

from host.apps import mock_demo_login

FULL = 1_000_000
CONFIG = mock_demo_login()  # the demo login the mock app declares


def _argv(customers: int, *extra: str) -> list[str]:
    return [
        str(BIN_DIR / "erpsync"),
        "mock-server",
        "--no-auth",
        "--port",
        "{port}",
        "--customers",
        str(customers),
        *extra,
    ]


def start_up(directory: Path, customers: int) -> dict[str, float]:
    """One start: seconds to the first connection test, a middle page, a full-walk search."""
    started = time.perf_counter()
    with server(_argv(customers), base_env(), directory) as running:
        url = running.base + "/connectors/mock/v1/connections/"
        guid = str(uuid.uuid4())
        with httpx.Client(timeout=600) as client:
            client.put(url + guid, json={"config": CONFIG}).raise_for_status()
            tested = client.post(url + guid + "/test").json()
            ready = time.perf_counter() - started
            if f"{customers} customers" not in tested["user_explanation"]:
                raise RuntimeError(f"unexpected test answer {tested}")
            begin = time.perf_counter()
            page = client.get(
                url + guid + "/actors/customer/changes",
                params={"since": str(customers // 2), "limit": 100},
            ).json()
            page_seconds = time.perf_counter() - begin
            if len(page["data"]["actors"]) != 100:
                raise RuntimeError("the middle page is not full")
            begin = time.perf_counter()
            found = client.post(
                url + guid + "/actors/customer/search",
                json={"text": "no such customer name", "field_keys": ["NAME"]},
            ).json()
            search_seconds = time.perf_counter() - begin
            if found["data"] != []:
                raise RuntimeError("the search found something")
        return {
            "ready_seconds": ready,
            "peak_rss_mib": running.peak_rss_bytes() / MIB,
            "page_seconds": page_seconds,
            "full_search_seconds": search_seconds,
        }


def run(quick: bool = False) -> dict[str, Any]:
    runs = 1 if quick else 3
    details: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="erpsync-bench-mock-") as temp:
        directory = Path(temp)
        for size in (FULL, FULL // 10):
            samples = []
            for n in range(runs):
                log(f"mock scale: {size} customers, start {n + 1}/{runs}")
                samples.append(start_up(directory, size))
            details[str(size)] = {k: stats([s[k] for s in samples]) for k in samples[0]}
    full, tenth = details[str(FULL)], details[str(FULL // 10)]
    figures = [
        figure(
            "mock.ready_seconds",
            "`erpsync mock-server --customers N` start to the first connection test answered",
            "<= 10 s",
            full["ready_seconds"],
            tenth["ready_seconds"],
            full["ready_seconds"]["max"] <= 10,
            unit="s",
        ),
        figure(
            "mock.peak_rss",
            "peak resident memory of that mock-server after a page and a full-walk search",
            "<= 300 MiB",
            full["peak_rss_mib"],
            tenth["peak_rss_mib"],
            full["peak_rss_mib"]["max"] <= 300,
            unit="MiB",
        ),
        figure(
            "mock.full_search_seconds",
            "a text search that matches nothing (walks every customer)",
            "(reported)",
            full["full_search_seconds"],
            tenth["full_search_seconds"],
            None,
            unit="s",
        ),
    ]
    return {"figures": figures, "details": details}


def main() -> None:
    suite_main(__doc__, run)


if __name__ == "__main__":
    main()
