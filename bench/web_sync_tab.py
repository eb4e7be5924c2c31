"""Web admin: the server time of the Sync tab with 1,000 connections (target: under 150 ms).

A registry in a temporary ERPSYNC_HOME gets 1,000 tested connections (one connector, each
connection with a sealed password and a test message, as `connections add` leaves them) and
one admin. The web admin (host.web.app.create_app) then serves on a free loopback port under
real uvicorn, in this process, wrapped in a small ASGI layer that times each request of
`GET /settings/sync` from its arrival to the last byte of its answer handed to uvicorn: the
server time (session check, registry read, scrubbing of test messages, template render). A
signed-in client asks for the page; the first renders warm up (the first one decrypts every
connection's secrets, reported as `cold`), then every render is timed. The client's round
trip is reported too. A tenth: 100 connections.

    python bench/web_sync_tab.py [--quick]
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from common import PYTHON, figure, free_port, log, stats, suite_main
from fixtures import make_registry, registry_env

FULL = 1_000
TARGET_SECONDS = 0.150
PAGE = "/settings/sync"
ADMIN, PASSWORD = "bench-admin", "bench admin password, long enough"


class ServerTimer:
    """ASGI wrapper: seconds from a request of PAGE arriving to its last body chunk sent."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.samples: list[float] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] != PAGE:
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()

        async def timed_send(message: Any) -> None:
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                self.samples.append(time.perf_counter() - start)

        await self.app(scope, receive, timed_send)


def measure(directory: Path, count: int, runs: int, warmup: int) -> dict[str, Any]:
    import httpx
    import uvicorn

    from host.web.app import WebSettings, create_app

    home = directory / f"home-{count}"
    make_registry(home, count, "http://127.0.0.1:9/connectors/mock", "bench-token")
    env = registry_env(home)
    subprocess.run(
        [PYTHON, "-m", "host.cli", "admins", "add", ADMIN, "--password-file", "-"],
        env=env,
        input=PASSWORD + "\n",
        text=True,
        capture_output=True,
        check=True,
    )
    saved = dict(os.environ)
    os.environ.update({k: v for k, v in env.items() if k.startswith("ERPSYNC_")})
    timer = ServerTimer(create_app(WebSettings(db_path=home / "registry.db")))
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(timer, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    round_trips: list[float] = []
    try:
        while not server.started:
            time.sleep(0.01)
        with httpx.Client(base_url=base, timeout=60) as client:
            form = client.get("/login").text
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', form)
            if csrf is None:
                raise RuntimeError("the sign-in page has no CSRF token")
            signed_in = client.post(
                "/login",
                data={"name": ADMIN, "password": PASSWORD, "csrf_token": csrf.group(1)},
                headers={"Origin": base},
            )
            if signed_in.status_code not in (200, 303):
                raise RuntimeError(f"sign-in failed: HTTP {signed_in.status_code}")
            for _ in range(warmup + runs):
                start = time.perf_counter()
                page = client.get(PAGE)
                round_trips.append(time.perf_counter() - start)
                if page.status_code != 200 or f"bench-{count - 1:06d}" not in page.text:
                    raise RuntimeError(f"the Sync tab did not list every connection ({page})")
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        os.environ.clear()
        os.environ.update(saved)  # later suites in this process see the environment as it was
    cold, samples = timer.samples[0], timer.samples[warmup:]
    return {
        "connections": count,
        "server_seconds": stats(samples),
        "cold_server_seconds": round(cold, 4),
        "round_trip_seconds": stats(round_trips[warmup:]),
        "page_bytes": len(page.content),
    }


def run(quick: bool = False) -> dict[str, Any]:
    runs, warmup = (5, 2) if quick else (30, 3)
    with tempfile.TemporaryDirectory(prefix="erpsync-bench-web-") as temp:
        directory = Path(temp)
        log(f"web Sync tab: {FULL} connections, {runs} renders")
        full = measure(directory, FULL, runs, warmup)
        log(f"web Sync tab: {FULL // 10} connections")
        tenth = measure(directory, FULL // 10, runs, warmup)
    figures = [
        figure(
            "web.sync_tab_server_seconds",
            f"server time of `GET {PAGE}` (signed in, real uvicorn), {FULL} connections",
            f"< {TARGET_SECONDS * 1000:g} ms",
            full["server_seconds"],
            tenth["server_seconds"],
            full["server_seconds"]["median"] < TARGET_SECONDS,
            unit="s",
        ),
        figure(
            "web.sync_tab_round_trip_seconds",
            f"the client's round trip of `GET {PAGE}` on loopback, {FULL} connections",
            "(reported)",
            full["round_trip_seconds"],
            tenth["round_trip_seconds"],
            None,
            unit="s",
        ),
    ]
    return {"figures": figures, "details": {"full": full, "tenth": tenth}}


def main() -> None:
    suite_main(__doc__, run)


if __name__ == "__main__":
    main()
