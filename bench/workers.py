"""`erpsync serve --workers 2` against one worker: throughput, server CPU, memory, correctness.

Two servers run side by side, each `erpsync serve` of the installed apps (the bundled mock ERP
with N customers, ERPSYNC_MOCK_CUSTOMERS) with a token: one with `--workers 1`, one with
`--workers 2`. On each, a connection is saved once (PUT, through whichever worker takes it),
then:

- correctness: 200 rounds of two calls, each on a new TCP connection (so the kernel hands
  them to either worker): get-actors of a customer chosen by number, then a changed-since
  page from the stamp that answer gave: the first must hold exactly that customer, the page
  must begin with it;
- throughput: `wrk -t2 -c8` for 4 s on the first changed-since page of 100 actors, runs
  interleaved (1 worker, 2 workers, 1, 2 ...), requests per second and the server's CPU per
  request (user + system of the server process and all its children, /proc);
- memory: resident memory (VmRSS) of the server process and all its children after the load.

Without `wrk` (Debian's package) the throughput runs are skipped with a note. Full size:
10,000 customers; a tenth: 1,000. On 2 cores shared with the load generator, a second
worker can at best use what wrk leaves.

    python bench/workers.py [--quick]
"""

from __future__ import annotations

import contextlib
import http.client
import json
import re
import shutil
import subprocess
import tempfile
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
from common import BIN_DIR, MIB, Server, _proc_status, base_env, figure, log, server, stats
from common import suite_main as _suite_main

from host.apps import mock_demo_login

FULL_CUSTOMERS = 10_000
CONFIG = mock_demo_login()
WRK_SECONDS = 4
CHECKED_CALLS = 200


def _family(pid: int) -> list[int]:
    """A process and all its descendants (uvicorn's workers, multiprocessing's helper)."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        try:
            for task in Path(f"/proc/{current}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return found


def family_rss_mib(pid: int) -> float:
    total = 0
    for member in _family(pid):
        with contextlib.suppress(OSError):
            total += _proc_status(member, "VmRSS")
    return total / MIB


def family_cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its live descendants so far."""
    import os

    total = 0
    for member in _family(pid):
        try:
            text = Path(f"/proc/{member}/stat").read_text(encoding="ascii")
        except OSError:
            continue
        fields = text[text.rindex(")") + 2 :].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def _argv(workers: int, token_file: Path) -> list[str]:
    return [
        str(BIN_DIR / "erpsync"),
        "serve",
        "--port",
        "{port}",
        "--token-file",
        str(token_file),
        "--workers",
        str(workers),
    ]


def check_calls(url: str, token: str, guid: str, customers: int) -> dict[str, int]:
    """Rounds of calls on new connections (either worker may take each); how many went wrong."""
    address = httpx.URL(url)
    base = f"{address.path}/v1/connections/{guid}/actors/customer"
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def call(method: str, path: str, body: Any = None) -> Any:
        """One request on a new TCP connection (http.client: no client set-up to pay)."""
        connection = http.client.HTTPConnection(address.host, address.port, timeout=120)
        try:
            payload = None if body is None else json.dumps(body)
            connection.request(method, path, body=payload, headers=headers)
            return json.loads(connection.getresponse().read())
        finally:
            connection.close()

    def one(number: int) -> bool:
        """A get-actors call, then a changed-since page from the stamp it answered, each on
        a new connection: the page must begin with that customer."""
        key = str(1 + (number * 7919) % customers)
        answer = call("POST", base + "/get", {"erp_keys": [key], "field_keys": ["CustNo"]})
        if not (
            answer["ok"]
            and len(answer["data"]) == 1
            and answer["data"][0]["erp_key"] == key
            and answer["data"][0]["field_values"] == {"CustNo": int(key)}
        ):
            return False
        since = answer["data"][0]["last_modified"]
        page = call("GET", f"{base}/changes?limit=10&since={since}")
        actors = page["data"]["actors"] if page["ok"] else []
        return (
            bool(actors)
            and actors[0]["erp_key"] == key
            and all(a["last_modified"] >= since for a in actors)
        )

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(one, range(CHECKED_CALLS)))
    return {"rounds": len(results), "wrong": results.count(False)}


def wrk_once(pid: int, target: str, token: str) -> dict[str, float]:
    before = family_cpu_seconds(pid)
    argv = ["wrk", "-t2", "-c8", f"-d{WRK_SECONDS}s", "-H", f"Authorization: Bearer {token}"]
    out = subprocess.run([*argv, target], capture_output=True, text=True, check=True).stdout
    used = family_cpu_seconds(pid) - before
    found = re.search(r"(\d+) requests in", out)
    if found is None or "Non-2xx" in out:
        raise RuntimeError(f"wrk: unexpected output {out[-400:]!r}")
    done = int(found.group(1))
    return {"rps": done / WRK_SECONDS, "cpu_ms": 1000 * used / done}


def measure(directory: Path, customers: int, runs: int) -> dict[str, Any]:
    env = base_env(
        ERPSYNC_HOME=str(directory / f"home-{customers}"), ERPSYNC_MOCK_CUSTOMERS=str(customers)
    )
    Path(env["ERPSYNC_HOME"]).mkdir()
    results: dict[str, Any] = {"customers": customers}
    guid = str(uuid.uuid4())
    with (
        server(_argv(1, directory / f"t1-{customers}"), env, directory) as one,
        server(_argv(2, directory / f"t2-{customers}"), env, directory) as two,
    ):
        servers: dict[str, tuple[Server, str, str]] = {}
        for name, running, token_file in (
            ("one", one, directory / f"t1-{customers}"),
            ("two", two, directory / f"t2-{customers}"),
        ):
            token = token_file.read_text(encoding="utf-8").strip()
            url = f"{running.base}/connectors/mock"
            answer = httpx.put(
                f"{url}/v1/connections/{guid}",
                json={"config": CONFIG},
                headers={"Authorization": f"Bearer {token}"},
                timeout=120,
            )
            if answer.status_code != 200 or not answer.json()["ok"]:
                raise RuntimeError(f"saving the connection failed: {answer.text[:300]}")
            servers[name] = (running, url, token)
            # every worker makes the company's data before anything is timed
            results[f"{name}_checked"] = check_calls(url, token, guid, customers)
        samples: dict[str, list[dict[str, float]]] = {"one": [], "two": []}
        if shutil.which("wrk") is None:
            results["wrk"] = "skipped: wrk is not installed (apt-get install wrk)"
        else:
            for round_number in range(runs + 1):
                for name, (running, url, token) in servers.items():
                    page = f"{url}/v1/connections/{guid}/actors/customer/changes?limit=100"
                    sample = wrk_once(running.process.pid, page, token)
                    if round_number:  # the first round warms up
                        samples[name].append(sample)
            for name in servers:
                results[f"{name}_rps"] = stats([s["rps"] for s in samples[name]], digits=1)
                results[f"{name}_cpu_ms"] = stats([s["cpu_ms"] for s in samples[name]], digits=3)
            results["rps_ratio"] = stats(
                [t["rps"] / o["rps"] for o, t in zip(samples["one"], samples["two"], strict=True)],
                digits=3,
            )
        for name, (running, _, _) in servers.items():
            results[f"{name}_rss_mib"] = round(family_rss_mib(running.process.pid), 1)
        # correctness again, after the load
        for name, (_, url, token) in servers.items():
            after = check_calls(url, token, guid, customers)
            checked = results[f"{name}_checked"]
            checked["rounds"] += after["rounds"]
            checked["wrong"] += after["wrong"]
    results["memory_ratio"] = round(results["two_rss_mib"] / results["one_rss_mib"], 3)
    return results


def run(quick: bool = False) -> dict[str, Any]:
    runs = 1 if quick else 3
    with tempfile.TemporaryDirectory(prefix="erpsync-bench-workers-") as temp:
        directory = Path(temp)
        log(f"serve --workers: {FULL_CUSTOMERS} customers, {runs} wrk runs each")
        full = measure(directory, FULL_CUSTOMERS, runs)
        log(f"serve --workers: {FULL_CUSTOMERS // 10} customers")
        tenth = measure(directory, FULL_CUSTOMERS // 10, runs)
    correct = all(
        size[f"{name}_checked"]["wrong"] == 0 for size in (full, tenth) for name in ("one", "two")
    )
    figures = [
        figure(
            "workers.correct",
            "`erpsync serve --workers 2` (and 1): rounds (get-actors, then a changed-since page) "
            f"on new connections answered wrong, of {2 * CHECKED_CALLS}, before and after load",
            "0 wrong",
            {"median": full["two_checked"]["wrong"]},
            {"median": tenth["two_checked"]["wrong"]},
            correct,
            unit="rounds",
        ),
        figure(
            "workers.memory_ratio",
            "resident memory of the server and its children: 2 workers / 1 worker (VmRSS)",
            "(reported)",
            {
                "median": full["memory_ratio"],
                "one": full["one_rss_mib"],
                "two": full["two_rss_mib"],
            },
            {
                "median": tenth["memory_ratio"],
                "one": tenth["one_rss_mib"],
                "two": tenth["two_rss_mib"],
            },
            None,
            unit="x",
        ),
    ]
    if isinstance(full.get("rps_ratio"), dict) and isinstance(tenth.get("rps_ratio"), dict):
        figures += [
            figure(
                "workers.rps_ratio",
                "`serve --workers 2` / `--workers 1`: changed-since pages of 100 per second "
                "under wrk -t2 -c8",
                "(reported)",
                full["rps_ratio"],
                tenth["rps_ratio"],
                None,
                unit="x",
            ),
            figure(
                "workers.rps_two",
                "`serve --workers 2`: pages of 100 per second under wrk",
                "(reported)",
                full["two_rps"],
                tenth["two_rps"],
                None,
                unit="pages/s",
            ),
            figure(
                "workers.cpu_ms_two_over_one",
                "server CPU per page (all processes): 2 workers, with 1 worker's in `one`",
                "(reported)",
                {**full["two_cpu_ms"], "one": full["one_cpu_ms"]["median"]},
                {**tenth["two_cpu_ms"], "one": tenth["one_cpu_ms"]["median"]},
                None,
                unit="ms",
            ),
        ]
    else:
        log(f"workers: {full.get('wrk')}")
    return {"figures": figures, "details": {"full": full, "tenth": tenth}}


def main() -> None:
    _suite_main(__doc__, run)


if __name__ == "__main__":
    main()
