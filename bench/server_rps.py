"""Connector host: changed-since pages of 100 actors against a bare endpoint, same stack.

`bench/server_stack.py` serves the bundled mock ERP (100,000 customers) through
`host.cli.serve.run_server` (FastAPI + uvicorn, a token required, as `erpsync serve`) and adds
`GET /bench/bare` to the same app, answering constant bytes: the first page's exact body.
`bench/loadgen.py`, a separate process (httpx.AsyncClient, 8 connections), then asks, in
turn, N changed-since pages (following cursors through all customers) and N bare answers.
The target: pages at 75% or more of the bare endpoint's requests per second.
A tenth: 10,000 customers.

The Python load generator spends more CPU per request than the server, so the same two URLs
are also loaded with `wrk` (Debian's package; skipped with a note when it is not installed):
2 threads, 8 connections, the first page of 100 (every page costs the same: a bisect and a
slice) against the bare answer. Server CPU per request is read from /proc/<pid>/stat of the
server process (user + system time) before and after each wrk run.

    python bench/server_rps.py [--quick]
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
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
        wrk = wrk_figures(running.process.pid, url, f"{running.base}/bench/bare", guid, token, runs)
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
        "wrk": wrk,
    }


WRK_SECONDS = 4


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (fields 14 and 15 of /proc/<pid>/stat)."""
    text = Path(f"/proc/{pid}/stat").read_text(encoding="ascii")
    fields = text[text.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wrk_once(pid: int, target: str, token: str) -> dict[str, float]:
    before = cpu_seconds(pid)
    argv = ["wrk", "-t2", "-c8", f"-d{WRK_SECONDS}s", "-H", f"Authorization: Bearer {token}"]
    out = subprocess.run([*argv, target], capture_output=True, text=True, check=True).stdout
    used = cpu_seconds(pid) - before
    found = re.search(r"(\d+) requests in", out)
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if found is None or bad is not None:
        raise RuntimeError(f"wrk: unexpected output {out[-400:]!r}")
    done = int(found.group(1))
    return {
        "requests_per_second": done / WRK_SECONDS,
        "server_cpu_ms_per_request": 1000 * used / done,
    }


def wrk_figures(
    pid: int, url: str, bare: str, guid: str, token: str, runs: int
) -> dict[str, Any] | str:
    """Pages and bare answers under wrk, interleaved; a note when wrk is missing."""
    if shutil.which("wrk") is None:
        return "skipped: wrk is not installed (apt-get install wrk)"
    page = f"{url}/v1/connections/{guid}/actors/customer/changes?limit=100"
    samples: dict[str, list[dict[str, float]]] = {"pages": [], "bare": []}
    wrk_once(pid, page, token)  # warm-up
    for _ in range(runs):
        samples["pages"].append(wrk_once(pid, page, token))
        samples["bare"].append(wrk_once(pid, bare, token))

    def of(mode: str, key: str) -> dict[str, Any]:
        return stats([s[key] for s in samples[mode]], digits=3)

    return {
        "pages_per_second": of("pages", "requests_per_second"),
        "bare_per_second": of("bare", "requests_per_second"),
        "ratio": stats(
            [
                p["requests_per_second"] / b["requests_per_second"]
                for p, b in zip(samples["pages"], samples["bare"], strict=True)
            ],
            digits=3,
        ),
        "server_cpu_ms_per_page": of("pages", "server_cpu_ms_per_request"),
        "server_cpu_ms_per_bare": of("bare", "server_cpu_ms_per_request"),
        "cpu_ratio": stats(
            [
                p["server_cpu_ms_per_request"] / b["server_cpu_ms_per_request"]
                for p, b in zip(samples["pages"], samples["bare"], strict=True)
            ],
            digits=3,
        ),
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
            ">= 0.75",
            full["ratio"],
            tenth["ratio"],
            full["ratio"]["median"] >= 0.75,
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
    if isinstance(full["wrk"], dict) and isinstance(tenth["wrk"], dict):
        figures += [
            figure(
                "server.pages_ratio_wrk",
                "the same, loaded by wrk (2 threads, 8 connections): first page of 100 / bare",
                ">= 0.75",
                full["wrk"]["ratio"],
                tenth["wrk"]["ratio"],
                full["wrk"]["ratio"]["median"] >= 0.75,
                unit="x",
            ),
            figure(
                "server.cpu_per_page_ratio_wrk",
                "server CPU per page of 100 / per bare answer, under wrk (/proc/<pid>/stat)",
                "<= 2.0",
                full["wrk"]["cpu_ratio"],
                tenth["wrk"]["cpu_ratio"],
                full["wrk"]["cpu_ratio"]["median"] <= 2.0,
                unit="x",
            ),
            figure(
                "server.cpu_ms_per_page_wrk",
                "server CPU per page of 100 actors under wrk",
                "(reported)",
                full["wrk"]["server_cpu_ms_per_page"],
                tenth["wrk"]["server_cpu_ms_per_page"],
                None,
                unit="ms",
            ),
        ]
    else:
        log(f"server_rps: wrk figures {full['wrk']}")
    return {"figures": figures, "details": {"full": full, "tenth": tenth}}


def main() -> None:
    suite_main(__doc__, run)


if __name__ == "__main__":
    main()
