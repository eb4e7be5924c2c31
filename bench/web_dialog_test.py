"""Web admin: what *Test ERP connection* in the dialog adds to the connector's own test time
(target: under 20%).

A real `erpsync mock-server` (token, `--latency` seconds added to every request: an ERP login
takes time) and a registry with that connector and one admin. The web admin
(host.web.app.create_app) serves on a free loopback port under real uvicorn, in this
process. Two clients take turns, run for run:

- the connector's own test: a ConnectorClient (host.client, one kept-open connection) calls
  the connector's config test (`POST .../v1/config/test`) with the demo values;
- the dialog's test: a signed-in httpx client posts the dialog's form to
  `POST /settings/sync/connections/test` as htmx does (CSRF header, form body), and gets the
  result fragment: session check, form parsing, the admin core's local check, a client to
  the connector, its config test, the signature of the tested values, the render.

The dialog was opened first (`GET .../connections/new`), as an admin does, so the
connector's form (fields and lists) is the one the dialog drew (host/web/connections.py
keeps it FORM_TTL seconds). Figures: the medians and the per-run ratio dialog / connector.
Also at `--latency 0`, where only the overhead in milliseconds is meaningful (reported).

    python bench/web_dialog_test.py [--quick]
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from common import PYTHON, base_env, figure, free_port, log, ratio_stats, server, stats
from fixtures import DEMO_CONFIG, SECRET_KEY

LATENCY = 0.05
"""Seconds the mock adds to every request: a quick ERP login (real ones take longer)."""
TARGET_OVERHEAD = 0.20
ADMIN, PASSWORD = "bench-admin", "bench admin password, long enough"


def measure(directory: Path, latency: float, runs: int, warmup: int) -> dict[str, Any]:
    import httpx
    import uvicorn

    from host.client import ConnectorClient
    from host.registry import Registry
    from host.web.app import WebSettings, create_app

    tag = f"{latency:g}".replace(".", "_")
    token_file = directory / f"mock-{tag}.token"
    argv = [
        *(PYTHON, "-m", "host.cli", "mock-server", "--port", "{port}"),
        *("--token-file", str(token_file), "--latency", str(latency)),
    ]
    mock_env = base_env(ERPSYNC_HOME=str(directory / f"mock-home-{tag}"))
    with server(argv, mock_env, directory) as mock:
        url = f"{mock.base}/connectors/mock"
        token = token_file.read_text(encoding="utf-8").strip()
        home = directory / f"home-{tag}"
        env = base_env(ERPSYNC_HOME=str(home), ERPSYNC_SECRET_KEY=SECRET_KEY)
        saved = dict(os.environ)
        os.environ.update({k: v for k, v in env.items() if k.startswith("ERPSYNC_")})
        registry = Registry.open(home / "registry.db")
        registry.add_connector("mock", url, token)
        registry.close()
        subprocess.run(
            [PYTHON, "-m", "host.cli", "admins", "add", ADMIN, "--password-file", "-"],
            env=env,
            input=PASSWORD + "\n",
            text=True,
            capture_output=True,
            check=True,
        )
        app = create_app(WebSettings(db_path=home / "registry.db"))
        port = free_port()
        web = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
        )
        thread = threading.Thread(target=web.run, daemon=True)
        thread.start()
        base = f"http://127.0.0.1:{port}"
        loop = asyncio.new_event_loop()
        direct_client = ConnectorClient(url, token=token, label="bench")
        direct: list[float] = []
        dialog: list[float] = []
        form = {
            f"cfg.{k}": str(v).lower() if isinstance(v, bool) else str(v)
            for k, v in DEMO_CONFIG.items()
        }
        form.update(name="bench", connector="mock", scope="everyone")
        try:
            while not web.started:
                time.sleep(0.01)
            with httpx.Client(base_url=base, timeout=60) as client:
                page = client.get("/login").text
                found = re.search(r'name="csrf_token" value="([^"]+)"', page)
                if found is None:
                    raise RuntimeError("the sign-in page has no CSRF token")
                client.post(
                    "/login",
                    data={"name": ADMIN, "password": PASSWORD, "csrf_token": found.group(1)},
                    headers={"Origin": base},
                )
                opened = client.get("/settings/sync/connections/new?connector=mock")
                csrf = re.search(r'<meta name="csrf-token" content="([^"]+)"', opened.text)
                if opened.status_code != 200 or csrf is None:
                    raise RuntimeError(f"the dialog did not open: HTTP {opened.status_code}")
                headers = {"X-CSRF-Token": csrf.group(1), "HX-Request": "true"}
                for _ in range(warmup + runs):
                    start = time.perf_counter()
                    answer = loop.run_until_complete(direct_client.test_config(DEMO_CONFIG))
                    direct.append(time.perf_counter() - start)
                    if not answer.ok:
                        raise RuntimeError(f"the connector's test failed: {answer}")
                    start = time.perf_counter()
                    result = client.post(
                        "/settings/sync/connections/test", data=form, headers=headers
                    )
                    dialog.append(time.perf_counter() - start)
                    if 'data-passed="true"' not in result.text:
                        raise RuntimeError(f"the dialog's test failed: {result.text[:500]}")
        finally:
            loop.run_until_complete(direct_client.aclose())
            loop.close()
            web.should_exit = True
            thread.join(timeout=30)
            os.environ.clear()
            os.environ.update(saved)
    direct, dialog = direct[warmup:], dialog[warmup:]
    return {
        "latency_seconds": latency,
        "connector_test_seconds": stats(direct),
        "dialog_test_seconds": stats(dialog),
        "dialog_over_connector": ratio_stats(dialog, direct),
    }


def run(quick: bool = False) -> dict[str, Any]:
    runs, warmup = (5, 2) if quick else (40, 5)
    with tempfile.TemporaryDirectory(prefix="erpsync-bench-dialog-") as temp:
        directory = Path(temp)
        log(f"web dialog test: mock latency {LATENCY:g} s, {runs} runs each")
        slow = measure(directory, LATENCY, runs, warmup)
        log("web dialog test: mock latency 0")
        fast = measure(directory, 0.0, runs, warmup)
    ratio = slow["dialog_over_connector"]
    overhead_ms = {
        key: round(
            (slow["dialog_test_seconds"][key] - slow["connector_test_seconds"][key]) * 1000, 1
        )
        for key in ("median",)
    }
    figures = [
        figure(
            "web.dialog_test_over_connector_test",
            f"the dialog's test round trip / the connector's own test (mock latency {LATENCY:g} s)",
            f"< {1 + TARGET_OVERHEAD:g}x",
            ratio,
            None,
            ratio["median"] < 1 + TARGET_OVERHEAD,
            unit="x",
            overhead_ms=overhead_ms,
        ),
        figure(
            "web.dialog_test_seconds",
            f"the dialog's test round trip (mock latency {LATENCY:g} s); at latency 0 as tenth",
            "(reported)",
            slow["dialog_test_seconds"],
            fast["dialog_test_seconds"],
            None,
            unit="s",
        ),
        figure(
            "web.connector_test_seconds",
            f"the connector's own config test (mock latency {LATENCY:g} s); at latency 0 as tenth",
            "(reported)",
            slow["connector_test_seconds"],
            fast["connector_test_seconds"],
            None,
            unit="s",
        ),
    ]
    return {"figures": figures, "details": {"latency": slow, "no_latency": fast}}


def main() -> None:
    from common import suite_main

    suite_main(__doc__, run)


if __name__ == "__main__":
    main()
