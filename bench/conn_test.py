"""`erpsync connections test --all` against a plain httpx.AsyncClient loop, same server.

The bundled mock ERP runs as `erpsync mock-server` (a token required) on loopback. A registry
in a temporary ERPSYNC_HOME gets 1,000 connections through host.registry.Registry, and each
GUID's config is PUT to the server once. Then, interleaved, each run of

    erpsync connections test --all --concurrency 16 --json       (the host, a child process)
    python bench/baseline_httpx_test.py URL GUIDS --concurrency 16 (the baseline, a child)

is timed from start to exit: both pay for starting Python and importing what they use, and
make the same 1,000 POST .../connections/{guid}/test calls to the same server. Throughput is
connections per second; the target is the host at 70% or more of the baseline's.
A tenth: 100 connections.

    python bench/conn_test.py [--quick]
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from common import BENCH_DIR, PYTHON, figure, interleaved, log, run_child, stats, suite_main
from fixtures import make_registry, mock_server, registry_env, save_connections

FULL = 1000
CONCURRENCY = 16


def measure(directory: Path, url: str, token: str, count: int, runs: int) -> dict[str, Any]:
    home = directory / f"home-{count}"
    guids = make_registry(home, count, url, token)
    guid_file = directory / f"guids-{count}.txt"
    guid_file.write_text("\n".join(guids) + "\n", encoding="utf-8")
    save_connections(url, token, guids)
    env = registry_env(home)
    host_argv = [
        PYTHON,
        "-m",
        "host.cli",
        "connections",
        "test",
        "--all",
        "--concurrency",
        str(CONCURRENCY),
        "--json",
    ]
    base_argv = [
        PYTHON,
        str(BENCH_DIR / "baseline_httpx_test.py"),
        url,
        str(guid_file),
        f"--token={token}",  # a token may start with "-"
        "--concurrency",
        str(CONCURRENCY),
    ]
    loops: list[float] = []

    def host_run() -> float:
        result = run_child(host_argv, env=env)
        outcomes = json.loads(result.stdout)
        if len(outcomes) != count or any(o["state"] != "ok" for o in outcomes):
            raise RuntimeError(f"connections test --all did not pass: {result.stdout[:500]!r}")
        return result.seconds

    def base_run() -> float:
        result = run_child(base_argv, env=env)
        outcome = json.loads(result.stdout)
        if outcome["passed"] != count:
            raise RuntimeError(f"baseline did not pass: {outcome}")
        loops.append(outcome["loop_seconds"])
        return result.seconds

    samples = interleaved({"host": host_run, "baseline": base_run}, runs=runs, warmup=1)
    host_tput = [count / s for s in samples["host"]]
    base_tput = [count / s for s in samples["baseline"]]
    return {
        "connections": count,
        "concurrency": CONCURRENCY,
        "seconds": {name: stats(values) for name, values in samples.items()},
        "baseline_loop_seconds": stats(loops[-runs:]),
        "host_per_second": stats(host_tput, digits=1),
        "baseline_per_second": stats(base_tput, digits=1),
        "ratio": stats([h / b for h, b in zip(host_tput, base_tput, strict=True)], digits=3),
    }


def run(quick: bool = False) -> dict[str, Any]:
    runs = 1 if quick else 3
    with tempfile.TemporaryDirectory(prefix="erpsync-bench-conntest-") as temp:
        directory = Path(temp)
        with mock_server(directory, customers=200) as (_, url, token):
            log(f"connections test --all: {FULL} connections, {runs} runs")
            full = measure(directory, url, token, FULL, runs)
            log(f"connections test --all: {FULL // 10} connections")
            tenth = measure(directory, url, token, FULL // 10, runs)
    figures = [
        figure(
            "conn_test.throughput_ratio",
            "`erpsync connections test --all` throughput / plain httpx.AsyncClient loop "
            f"(concurrency {CONCURRENCY}, process start to exit)",
            ">= 0.70",
            full["ratio"],
            tenth["ratio"],
            full["ratio"]["median"] >= 0.7,
            unit="x",
        ),
        figure(
            "conn_test.host_per_second",
            "`erpsync connections test --all`: connections tested per second",
            "(reported)",
            full["host_per_second"],
            tenth["host_per_second"],
            None,
            unit="connections/s",
        ),
    ]
    return {"figures": figures, "details": {"full": full, "tenth": tenth}}


def main() -> None:
    suite_main(__doc__, run)


if __name__ == "__main__":
    main()
