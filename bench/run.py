"""Run every erpsync-host benchmark and print one JSON document (progress goes to stderr).

    python bench/run.py            # the full suite (`make bench`), under 10 minutes on 2 cores
    python bench/run.py --quick    # fewer runs and requests: a smoke test of the suite
    python bench/run.py --only startup --only registry_list

Each benchmark measures the host and its baseline side by side in this one run; every figure
is the median of several runs with min and max, at full size and at a tenth of it. The
document's "figures" list is the table of docs/performance.md; "details" holds the rest.
"""

from __future__ import annotations

import argparse
import importlib
import time
from typing import Any

from common import emit, log, machine

SUITES = (
    "startup",
    "conn_test",
    "server_rps",
    "paging",
    "registry_list",
    "sync_import",
    "web_sync_tab",
    "web_dialog_test",
    "mock_scale",
    "workers",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs, for a smoke test")
    parser.add_argument("--only", action="append", choices=SUITES, help="run only these")
    args = parser.parse_args()
    started = time.perf_counter()
    document: dict[str, Any] = {
        "machine": machine(),
        "quick": args.quick,
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "figures": [],
        "details": {},
        "seconds": {},
    }
    for name in args.only or SUITES:
        suite_start = time.perf_counter()
        result = importlib.import_module(name).run(quick=args.quick)
        document["figures"].extend(result["figures"])
        document["details"][name] = result["details"]
        document["seconds"][name] = round(time.perf_counter() - suite_start, 1)
    document["seconds"]["total"] = round(time.perf_counter() - started, 1)
    unmet = [f["name"] for f in document["figures"] if f["met"] is False]
    document["unmet"] = unmet
    log(f"done in {document['seconds']['total']} s; targets not met: {', '.join(unmet) or 'none'}")
    emit(document)


if __name__ == "__main__":
    main()
