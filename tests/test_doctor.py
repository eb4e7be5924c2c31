"""Crash safety and `erpsync doctor`: killed commands leave old or new state, never half."""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import Result
from helpers import MOCK_PASSWORD
from helpers.mock_server import MockServer, start_mock_server, stop_process

from host.client import ConnectorClient
from host.registry import Registry

DEMO = ["--config", "username=demo", "--config", f"password={MOCK_PASSWORD}", "--no-input"]


def held(server: MockServer) -> set[str]:
    async def go() -> list[str]:
        async with ConnectorClient(server.url, token=server.token) as client:
            return await client.held_connections()

    return set(asyncio.run(go()))


@pytest.fixture
def slow_mock(tmp_path: Path) -> Iterator[MockServer]:
    """A mock server of our own (its held GUIDs are ours alone), slowed to widen crash windows."""
    (tmp_path / "mock").mkdir()
    server = start_mock_server(tmp_path / "mock", "--latency", "0.05")
    try:
        yield server
    finally:
        stop_process(server.process)


def assert_consistent(registry: Registry) -> None:
    """Every connection is whole: parsable config, decryptable secrets, access rows by scope."""
    assert registry.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    for record in registry.connections():
        config = registry.connection_config(record.guid)
        assert config is not None and config["password"] == MOCK_PASSWORD
        if record.scope == "restricted":
            assert record.users or record.groups, record
        else:
            assert not (record.users or record.groups), record


def test_doctor_finds_and_repairs_both_kinds_of_drift(
    invoke: Callable[..., Result], erpsync_home: Path, slow_mock: MockServer
) -> None:
    assert (
        invoke(
            "connectors", "add", "m", slow_mock.url, "--token-file", str(slow_mock.token_file)
        ).exit_code
        == 0
    )
    assert invoke("connections", "add", "kept", "--connector", "m", *DEMO).exit_code == 0
    assert invoke("connections", "add", "forgotten", "--connector", "m", *DEMO).exit_code == 0
    registry = Registry.open(erpsync_home / "registry.db")
    forgotten = registry.connection("forgotten").guid
    orphan, foreign = str(uuid.uuid4()), str(uuid.uuid4())
    # What a crashed `connections add` leaves: journalled here, saved there, never registered.
    registry.journal_guid(orphan, registry.connector("m"))

    async def drift() -> None:
        async with ConnectorClient(slow_mock.url, token=slow_mock.token) as client:
            await client.delete_connection(forgotten)
            for guid in (orphan, foreign):
                await client.save_connection(
                    guid, {"server": "x", "username": "demo", "password": MOCK_PASSWORD}
                )

    asyncio.run(drift())
    report = invoke("doctor", "--json")
    assert report.exit_code == 1
    problems = [f for f in json.loads(report.stdout)["findings"] if f["status"] == "problem"]
    assert {p["check"] for p in problems} == {
        "connector m: connection forgotten",
        f"connector m: orphan GUID {orphan}",
    }
    assert "--repair" in report.stderr

    repaired = invoke("doctor", "--repair")
    assert repaired.exit_code == 0, repaired.stderr
    # The GUID this registry never handed out is another's: reported, never deleted.
    assert held(slow_mock) == {c.guid for c in registry.connections()} | {foreign}
    assert invoke("doctor").exit_code == 0


def _kill_after(args: list[str], delay: float, env: dict[str, str]) -> int:
    process = subprocess.Popen(
        [sys.executable, "-m", "host.cli", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        process.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        os.kill(process.pid, signal.SIGKILL)
    return process.wait(timeout=30)


@pytest.mark.slow
def test_commands_killed_at_any_point_leave_old_or_new_state(
    invoke: Callable[..., Result], erpsync_home: Path, slow_mock: MockServer
) -> None:
    rng = random.Random(20261124)
    env = dict(os.environ)
    assert (
        invoke(
            "connectors", "add", "m", slow_mock.url, "--token-file", str(slow_mock.token_file)
        ).exit_code
        == 0
    )
    assert invoke("users", "add", "alice").exit_code == 0
    registry = Registry.open(erpsync_home / "registry.db")
    outcomes = {"killed": 0, "finished": 0}
    for round_number in range(8):
        name = f"crash-{round_number}"
        started = time.monotonic()
        code = _kill_after(
            ["connections", "add", name, "--connector", "m", "--user", "alice", *DEMO],
            rng.uniform(0.2, 1.6),
            env,
        )
        outcomes["killed" if code == -signal.SIGKILL else "finished"] += 1
        assert_consistent(registry)
        names = {c.name for c in registry.connections()}
        if code == 0:
            assert name in names
        assert time.monotonic() - started < 30

        if name in names:  # edit: company 1 -> 2 (inactive), killed somewhere
            _kill_after(
                ["connections", "edit", name, "--config", "company=2", "--no-input"],
                rng.uniform(0.2, 1.6),
                env,
            )
            assert_consistent(registry)
            assert registry.connection(name).config["company"] in (1, 2)
            _kill_after(["connections", "remove", name, "--yes"], rng.uniform(0.2, 1.2), env)
            assert_consistent(registry)
    assert outcomes["killed"] > 0  # the test really interrupted something

    # Whatever the kills left on the connector, doctor brings both sides in step again.
    invoke("doctor", "--repair")
    assert held(slow_mock) == {c.guid for c in registry.connections()}
    assert invoke("doctor").exit_code == 0
