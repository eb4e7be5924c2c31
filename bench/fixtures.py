"""What several benchmarks set up: a registry full of connections, and the mock ERP server."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from common import PYTHON, Server, base_env, server

from host.apps import mock_demo_login

DEMO_CONFIG = {
    **mock_demo_login(),  # the demo login the mock app declares
    "decimal_separator": ".",
    "read_only": False,
}
SECRET_KEY = "ZmFrZS1iZW5jaC1rZXktMzItYnl0ZXMtbG9uZy0xMjM="  # a valid Fernet key, bench only


def registry_env(home: Path) -> dict[str, str]:
    return base_env(ERPSYNC_HOME=str(home), ERPSYNC_SECRET_KEY=SECRET_KEY)


def make_registry(home: Path, count: int, url: str, token: str | None) -> list[str]:
    """A registry in `home` with connector `mock` at `url` and `count` tested connections,
    written through host.registry.Registry in one transaction; returns their GUIDs."""
    from host.registry import Registry
    from host.registry.secrets import SecretBox

    home.mkdir(parents=True, exist_ok=True)
    registry = Registry(home / "registry.db", SecretBox(home, key=SECRET_KEY.encode()))
    registry.add_connector("mock", url, token)
    guids = [str(uuid.UUID(int=i + 1)) for i in range(count)]
    with registry.transaction():
        for number, guid in enumerate(guids):
            registry.add_connection(
                guid=guid,
                name=f"bench-{number:06d}",
                connector="mock",
                config=DEMO_CONFIG,
                secret_keys=["password"],
                description=f"benchmark connection {number}",
                test_state="ok",
                test_message="Connected",
            )
    registry.close()
    return guids


@contextmanager
def mock_server(directory: Path, customers: int) -> Iterator[tuple[Server, str, str]]:
    """`erpsync mock-server` with a token; yields (server, connector URL, token)."""
    token_file = directory / f"mock-{customers}.token"
    argv = [
        PYTHON,
        "-m",
        "host.cli",
        "mock-server",
        "--port",
        "{port}",
        "--token-file",
        str(token_file),
        "--customers",
        str(customers),
    ]
    with server(argv, base_env(ERPSYNC_HOME=str(directory / "server-home")), directory) as running:
        token = token_file.read_text(encoding="utf-8").strip()
        yield running, f"{running.base}/connectors/mock", token


def save_connections(url: str, token: str, guids: list[str], concurrency: int = 16) -> None:
    """PUT each GUID's config to the connector once, as `connections add` left it."""
    import httpx

    async def run() -> None:
        gate = asyncio.Semaphore(concurrency)
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=url + "/v1", headers=headers, timeout=60) as client:

            async def one(guid: str) -> None:
                async with gate:
                    answer = await client.put(f"/connections/{guid}", json={"config": DEMO_CONFIG})
                if answer.status_code != 200 or not answer.json()["ok"]:
                    raise RuntimeError(f"saving {guid} failed: {answer.text[:300]}")

            await asyncio.gather(*(one(g) for g in guids))
            # The first real read generates the company's data: not part of any timing.
            answer = await client.post(f"/connections/{guids[0]}/test", timeout=300)
            if not answer.json()["ok"]:
                raise RuntimeError(f"test of {guids[0]} failed: {answer.text[:300]}")

    asyncio.run(run())
