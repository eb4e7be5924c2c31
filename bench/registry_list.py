"""Registry: `erpsync connections list --json` against `sqlite-utils rows` on the same table.

A registry in a temporary ERPSYNC_HOME gets 10,000 connections through
host.registry.Registry (one transaction). Then, interleaved, each run of

    erpsync connections list --json                          (the host, a child process)
    sqlite-utils rows $ERPSYNC_HOME/registry.db connections  (the baseline, a child process)

is timed from start to exit. The target: the host at most 2x the baseline's time.
A tenth: 1,000 connections.

    python bench/registry_list.py [--quick]
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from common import (
    BIN_DIR,
    PYTHON,
    figure,
    interleaved,
    log,
    ratio_stats,
    run_child,
    stats,
    suite_main,
)
from fixtures import make_registry, registry_env

FULL = 10_000


def measure(directory: Path, count: int, runs: int) -> dict[str, Any]:
    home = directory / f"home-{count}"
    make_registry(home, count, "http://127.0.0.1:9/connectors/mock", "bench-token")
    env = registry_env(home)
    host_argv = [PYTHON, "-m", "host.cli", "connections", "list", "--json"]
    base_argv = [str(BIN_DIR / "sqlite-utils"), "rows", str(home / "registry.db"), "connections"]

    def host_run() -> float:
        result = run_child(host_argv, env=env)
        if len(json.loads(result.stdout)) != count:
            raise RuntimeError("connections list --json did not list every connection")
        return result.seconds

    def base_run() -> float:
        result = run_child(base_argv, env=env)
        if len(json.loads(result.stdout)) != count:
            raise RuntimeError("sqlite-utils rows did not list every row")
        return result.seconds

    samples = interleaved({"host": host_run, "baseline": base_run}, runs=runs, warmup=1)
    return {
        "connections": count,
        "seconds": {name: stats(values) for name, values in samples.items()},
        "ratio": ratio_stats(samples["host"], samples["baseline"]),
    }


def run(quick: bool = False) -> dict[str, Any]:
    runs = 3 if quick else 7
    with tempfile.TemporaryDirectory(prefix="erpsync-bench-registry-") as temp:
        directory = Path(temp)
        log(f"registry list: {FULL} connections, {runs} runs")
        full = measure(directory, FULL, runs)
        log(f"registry list: {FULL // 10} connections")
        tenth = measure(directory, FULL // 10, runs)
    figures = [
        figure(
            "registry.list_ratio",
            "`erpsync connections list --json` / `sqlite-utils rows` on the same table (wall time)",
            "<= 2x",
            full["ratio"],
            tenth["ratio"],
            full["ratio"]["median"] <= 2 and tenth["ratio"]["median"] <= 2,
            unit="x",
        ),
        figure(
            "registry.list_seconds",
            "`erpsync connections list --json` wall time",
            "(reported)",
            full["seconds"]["host"],
            tenth["seconds"]["host"],
            None,
            unit="s",
        ),
    ]
    return {"figures": figures, "details": {"full": full, "tenth": tenth}}


def main() -> None:
    suite_main(__doc__, run)


if __name__ == "__main__":
    main()
