"""Connector host: changed-since pages of 100 actors against a bare endpoint, same stack.

`bench/server_stack.py` serves the bundled mock ERP (100,000 customers) through
`host.cli.serve.run_server` (FastAPI + uvicorn, a token required, as `erpsync serve`) and adds
`GET /bench/bare` to the same app, answering constant bytes: the first page's exact body.
`bench/loadgen.py`, a separate process (httpx.AsyncClient, 8 connections), then asks, in
turn, N changed-since pages (following cursors through all customers) and N bare answers.
The target: pages at 60% or more of the bare endpoint's requests per second.
A tenth: 10,000 customers.

    python bench/server_rps.py [--quick]
"""

from __future__ import annotations

import json
import tempfile
import uuid
from pathlib import Path
from typing import Any

from common import (
    BENCH_DIR,
    PYTHON,
    base_env,
    figure,
    interleaved,
    log,
    run_child,
    server,
    stats,
    suite_main,
)
from fixtures import save_connections

FULL_CUSTOMERS = 100_000
CONNECTIONS = 8


def measure(directory: Path, customers: int, requests: int, runs: int) -> dict[str, Any]:
    token_file = directory / f"stack-{customers}.token"
    argv = [
        PYTHON,
        str(BENCH_DIR / "server_stack.py"),
        "--port",
        "{port}",
        "--customers",
        str(customers),
        "--token-file",
        str(token_file),
    ]
    with server(argv, base_env(ERPSYNC_HOME=str(directory / "home")), directory) as running:
        token = token_file.read_text(encoding="utf-8").strip()
        url = f"{running.base}/connectors/mock"
        guid = str(uuid.uuid4())
        save_connections(url, token, [guid])
        results: dict[str, list[dict[str, Any]]] = {"pages": [], "bare": []}

        def load(mode: str, target: str) -> float:
            argv = [
                PYTHON,
                str(BENCH_DIR / "loadgen.py"),
                mode,
                target,
                "--guid",
                guid,
                f"--token={token}",  # a token may start with "-"
                "--requests",
                str(requests),
                "--connections",
                str(CONNECTIONS),
            ]
            outcome = json.loads(run_child(argv, env=base_env()).stdout)
            results[mode].append(outcome)
            return float(outcome["requests_per_second"])

        samples = interleaved(
            {
                "pages": lambda: load("pages", url),
                "bare": lambda: load("bare", f"{running.base}/bench/bare"),
            },
            runs=runs,
            warmup=1,
        )
        rss = running.rss_bytes()
    page_bytes = results["pages"][-1]["bytes"] / requests
    return {
        "customers": customers,
        "requests_per_run": requests,
        "connections": CONNECTIONS,
        "bytes_per_page": round(page_bytes),
        "bytes_per_bare_answer": round(results["bare"][-1]["bytes"] / requests),
        "pages_per_second": stats(samples["pages"], digits=1),
        "bare_per_second": stats(samples["bare"], digits=1),
        "ratio": stats(
            [p / b for p, b in zip(samples["pages"], samples["bare"], strict=True)], digits=3
        ),
        "server_rss_mib": round(rss / (1024 * 1024), 1),
    }


def run(quick: bool = False) -> dict[str, Any]:
    runs, requests = (1, 200) if quick else (3, 600)
    with tempfile.TemporaryDirectory(prefix="erpsync-bench-rps-") as temp:
        directory = Path(temp)
        log(f"connector host pages: {FULL_CUSTOMERS} customers, {runs} runs of {requests}")
        full = measure(directory, FULL_CUSTOMERS, requests, runs)
        log(f"connector host pages: {FULL_CUSTOMERS // 10} customers")
        tenth = measure(directory, FULL_CUSTOMERS // 10, requests, runs)
    figures = [
        figure(
            "server.pages_ratio",
            "connector host: changed-since pages of 100 actors / bare constant endpoint of the "
            "same size, same FastAPI + uvicorn app (requests per second)",
            ">= 0.60",
            full["ratio"],
            tenth["ratio"],
            full["ratio"]["median"] >= 0.6,
            unit="x",
        ),
        figure(
            "server.pages_per_second",
            "connector host: changed-since pages of 100 actors per second",
            "(reported)",
            full["pages_per_second"],
            tenth["pages_per_second"],
            None,
            unit="pages/s",
        ),
    ]
    return {"figures": figures, "details": {"full": full, "tenth": tenth}}


def main() -> None:
    suite_main(__doc__, run)


if __name__ == "__main__":
    main()
