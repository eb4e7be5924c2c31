"""`erpsync doctor` deletes on a connector only what this registry created and lost, audits
every repair, and reports files other users can read (issue #10, items 8, 11 and 12)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import stat
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import Result
from helpers import MOCK_CONFIG as MOCK_LOGIN
from helpers import MOCK_PASSWORD
from helpers.mock_server import MockServer, start_mock_server, stop_process

from host.client import ConnectorClient
from host.registry import Registry

Invoke = Callable[..., Result]
MOCK_CONFIG = {k: MOCK_LOGIN[k] for k in ("server", "username", "password")}
DEMO = ["--config", "username=demo", "--config", f"password={MOCK_PASSWORD}", "--no-input"]


def ok(result: Result) -> Result:
    assert result.exit_code == 0, (result.exit_code, result.stdout, result.stderr)
    return result


def held(server: MockServer) -> set[str]:
    async def go() -> list[str]:
        async with ConnectorClient(server.url, token=server.token) as client:
            return await client.held_connections()

    return set(asyncio.run(go()))


def findings(result: Result) -> list[dict[str, str]]:
    return list(json.loads(result.stdout)["findings"])


def audit(invoke: Invoke) -> list[dict[str, str]]:
    return list(reversed(json.loads(ok(invoke("audit", "--json", "--limit", "1000")).stdout)))


@pytest.fixture
def own_mock(tmp_path: Path) -> Iterator[MockServer]:
    """A mock server of our own: the GUIDs it holds are this test's alone."""
    (tmp_path / "mock").mkdir()
    server = start_mock_server(tmp_path / "mock")
    try:
        yield server
    finally:
        stop_process(server.process)


@pytest.fixture
def slow_mock(tmp_path: Path) -> Iterator[MockServer]:
    """Slowed, so a `connections add` spends a while between the connector's save and the
    registry's commit."""
    (tmp_path / "slow-mock").mkdir()
    server = start_mock_server(tmp_path / "slow-mock", "--latency", "0.2")
    try:
        yield server
    finally:
        stop_process(server.process)


# --- item 8: doctor --repair never deletes a live connection ---------------------------------


def test_two_connector_records_for_one_url_lose_no_connection_to_doctor_repair(
    invoke: Invoke, erpsync_home: Path, own_mock: MockServer
) -> None:
    token = ["--token-file", str(own_mock.token_file)]
    ok(invoke("connectors", "add", "conn-a", own_mock.url, *token))
    # The same connector under a second record, its URL spelled a little differently.
    same = own_mock.url.replace("http://", "HTTP://") + "/"
    second = ok(invoke("connectors", "add", "conn-b", same, *token))
    assert "warning" in second.stderr and "'conn-a'" in second.stderr
    ok(invoke("connections", "add", "a", "--connector", "conn-a", *DEMO))
    ok(invoke("connections", "add", "b", "--connector", "conn-b", *DEMO))
    registry = Registry.open(erpsync_home / "registry.db")
    live = {c.guid for c in registry.connections()}
    assert held(own_mock) == live

    report = invoke("doctor", "--json")
    assert report.exit_code == 0, report.stdout
    assert not [f for f in findings(report) if f["status"] == "problem"]
    shared = [f for f in findings(report) if f["status"] == "warning"]
    assert {f["check"] for f in shared} == {
        "connector conn-a: connections of connector conn-b",
        "connector conn-b: connections of connector conn-a",
    }

    ok(invoke("doctor", "--repair"))
    assert held(own_mock) == live
    ok(invoke("connections", "test", "a"))
    ok(invoke("connections", "test", "b"))
    assert not [r for r in audit(invoke) if r["action"].startswith("doctor.")]


def test_connectors_edit_warns_when_it_points_at_a_url_already_registered(
    invoke: Invoke, erpsync_home: Path
) -> None:
    ok(invoke("connectors", "add", "one", "http://127.0.0.1:9/connectors/mock", "--no-check"))
    alone = ok(
        invoke("connectors", "add", "two", "http://127.0.0.1:9/connectors/other", "--no-check")
    )
    assert alone.stderr == ""
    moved = ok(
        invoke(
            "connectors",
            "edit",
            "two",
            "--url",
            "http://127.0.0.1:9/connectors/mock/",
            "--no-check",
        )
    )
    assert "warning" in moved.stderr and "'one'" in moved.stderr


def test_doctor_repair_leaves_the_connections_of_another_registry_alone(
    invoke: Invoke, erpsync_home: Path, own_mock: MockServer, tmp_path: Path
) -> None:
    other_db = str(tmp_path / "other" / "registry.db")
    token = ["--token-file", str(own_mock.token_file)]
    ok(invoke("connectors", "add", "m", own_mock.url, *token))
    ok(invoke("connectors", "add", "m", own_mock.url, *token, "--db", other_db))
    ok(invoke("connections", "add", "mine", "--connector", "m", *DEMO))
    ok(invoke("connections", "add", "theirs", "--connector", "m", *DEMO, "--db", other_db))
    theirs = Registry.open(other_db).connection("theirs").guid

    report = invoke("doctor", "--json")
    assert report.exit_code == 0, report.stdout
    [foreign] = [f for f in findings(report) if f["check"] == "connector m: foreign GUIDs"]
    assert foreign["status"] == "warning" and theirs in foreign["detail"]

    ok(invoke("doctor", "--repair"))
    assert theirs in held(own_mock)
    ok(invoke("connections", "test", "theirs", "--db", other_db))


def _wait_for(what: str, probe: Callable[[], object], seconds: float = 60.0) -> object:
    """Poll `probe` until it returns something truthy; a deadline only against hanging."""
    deadline = time.monotonic() + seconds
    while not (found := probe()):
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.01)
    return found


def test_a_guid_left_by_a_killed_connections_add_is_still_repaired(
    invoke: Invoke, erpsync_home: Path, slow_mock: MockServer
) -> None:
    """A real crash: the add is killed after the connector saved the GUID and before the
    registry committed (the test holds the registry's write lock meanwhile)."""
    ok(invoke("connectors", "add", "m", slow_mock.url, "--token-file", str(slow_mock.token_file)))
    db = erpsync_home / "registry.db"
    registry = Registry.open(db)
    before = set(registry.journal())
    process = subprocess.Popen(
        [sys.executable, "-m", "host.cli", "connections", "add", "lost", "--connector", "m", *DEMO],
        env=dict(os.environ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    lock = sqlite3.connect(str(db), timeout=30)
    try:
        new = _wait_for("the journal row", lambda: set(registry.journal()) - before)
        lock.execute("BEGIN IMMEDIATE")  # the add can no longer commit
        [guid] = list(new)  # type: ignore[call-overload]
        _wait_for("the connector's save", lambda: guid in held(slow_mock))
        os.kill(process.pid, signal.SIGKILL)
        assert process.wait(timeout=30) == -signal.SIGKILL
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        lock.rollback()
        lock.close()
    assert registry.connections() == []
    assert registry.journal()[guid]["state"] == "handed"

    report = invoke("doctor", "--json")
    assert report.exit_code == 1
    problems = [f for f in findings(report) if f["status"] == "problem"]
    assert [p["check"] for p in problems] == [f"connector m: orphan GUID {guid}"]

    ok(invoke("doctor", "--repair"))
    assert guid not in held(slow_mock)
    assert registry.journal()[guid]["state"] == "deleted"
    [row] = [r for r in audit(invoke) if r["action"] == "doctor.delete-orphan"]
    assert row["target"] == guid and "connector m" in row["detail"]
    ok(invoke("doctor"))


def test_a_guid_whose_add_is_still_running_is_not_deleted(
    invoke: Invoke, erpsync_home: Path, own_mock: MockServer
) -> None:
    """A journalled GUID of a live process is being saved right now: no orphan yet."""
    ok(invoke("connectors", "add", "m", own_mock.url, "--token-file", str(own_mock.token_file)))
    registry = Registry.open(erpsync_home / "registry.db")
    guid = str(uuid.uuid4())
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        registry.journal_guid(guid, registry.connector("m"))
        registry.db.execute("update guid_journal set pid = ? where guid = ?", [sleeper.pid, guid])
        registry.db.conn.commit()

        async def save() -> None:
            async with ConnectorClient(own_mock.url, token=own_mock.token) as client:
                await client.save_connection(guid, MOCK_CONFIG)

        asyncio.run(save())
        result = invoke("doctor", "--repair", "--json")
        [finding] = [f for f in findings(result) if guid in f["check"]]
        assert finding["status"] == "skipped"
        assert guid in held(own_mock)
    finally:
        sleeper.kill()
        sleeper.wait()


def test_doctor_repair_deletes_a_guid_removed_here_that_the_connector_kept(
    invoke: Invoke, erpsync_home: Path, own_mock: MockServer
) -> None:
    """`connections remove` goes on when the connector refuses the delete (here: a wrong
    token); the connector keeps the GUID. The journal says it was ours: doctor deletes it."""
    token = ["--token-file", str(own_mock.token_file)]
    ok(invoke("connectors", "add", "m", own_mock.url, *token))
    ok(invoke("connections", "add", "gone", "--connector", "m", *DEMO))
    guid = Registry.open(erpsync_home / "registry.db").connection("gone").guid
    ok(invoke("connectors", "edit", "m", "--token", "not-the-token", "--no-check"))
    removed = ok(invoke("connections", "remove", "gone", "--yes"))
    assert "warning" in removed.stderr
    ok(invoke("connectors", "edit", "m", *token))
    assert guid in held(own_mock)

    report = invoke("doctor", "--json")
    assert [f["check"] for f in findings(report) if f["status"] == "problem"] == [
        f"connector m: orphan GUID {guid}"
    ]
    ok(invoke("doctor", "--repair"))
    assert guid not in held(own_mock)


# --- item 11: audit ---------------------------------------------------------------------------


def test_connector_edit_audits_the_columns_it_changed_and_a_rename_never_a_value(
    invoke: Invoke, erpsync_home: Path
) -> None:
    url, token = "http://127.0.0.1:9/connectors/mock", "tok-SECRET-4411"
    ok(invoke("connectors", "add", "m", url, "--no-check"))
    ok(invoke("connectors", "edit", "m", "--url", url + "2", "--no-check"))
    ok(invoke("connectors", "edit", "m", "--token", token, "--no-check"))
    ok(invoke("connectors", "edit", "m", "--rename", "n"))
    ok(invoke("connectors", "edit", "n", "--rename", "o", "--clear-token", "--no-check"))
    edits = [r for r in audit(invoke) if r["action"] == "connector.edit"]
    assert [(r["target"], r["detail"]) for r in edits] == [
        ("m", "url"),
        ("m", "token"),
        ("n", "renamed m -> n"),
        ("o", "token; renamed n -> o"),
    ]
    assert token not in json.dumps(edits) and "connectors/mock2" not in json.dumps(edits)


def test_every_doctor_repair_is_audited(
    invoke: Invoke, erpsync_home: Path, own_mock: MockServer
) -> None:
    ok(invoke("connectors", "add", "m", own_mock.url, "--token-file", str(own_mock.token_file)))
    ok(invoke("connections", "add", "kept", "--connector", "m", *DEMO))
    registry = Registry.open(erpsync_home / "registry.db")
    kept = registry.connection("kept").guid
    orphan = str(uuid.uuid4())
    registry.journal_guid(orphan, registry.connector("m"))

    async def drift() -> None:
        async with ConnectorClient(own_mock.url, token=own_mock.token) as client:
            await client.delete_connection(kept)
            await client.save_connection(orphan, MOCK_CONFIG)

    asyncio.run(drift())
    (erpsync_home / "registry.db").chmod(0o644)
    result = invoke("doctor", "--repair", "--json")
    assert result.exit_code == 0, result.stdout
    repaired = [f for f in findings(result) if f["status"] == "repaired"]
    rows = [r for r in audit(invoke) if r["action"].startswith("doctor.")]
    assert len(rows) == len(repaired) >= 3
    assert {(r["action"], r["target"]) for r in rows} >= {
        ("doctor.resend", "kept"),
        ("doctor.delete-orphan", orphan),
        ("doctor.chmod", str(erpsync_home / "registry.db")),
    }


# --- item 12: file modes ----------------------------------------------------------------------


@pytest.fixture
def umask_022() -> Iterator[None]:
    """The usual umask, under which a plain mkdir makes a directory others can read."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.skipif(os.name == "nt", reason="POSIX modes")
def test_the_home_is_created_owner_only(
    invoke: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, umask_022: None
) -> None:
    home = tmp_path / "fresh" / "erpsync"
    monkeypatch.setenv("ERPSYNC_HOME", str(home))
    monkeypatch.delenv("ERPSYNC_SECRET_KEY", raising=False)
    ok(invoke("connectors", "add", "m", "app:mock", "--token", "t-1"))
    assert mode(home) == 0o700
    assert mode(home / "registry.db") == 0o600
    assert mode(home / "secret.key") == 0o600
    registry = Registry.open(home / "registry.db")  # keeps -wal and -shm while open
    registry.connectors()
    for suffix in ("-wal", "-shm"):
        assert mode(Path(f"{home / 'registry.db'}{suffix}")) == 0o600
    ok(invoke("doctor"))


@pytest.mark.skipif(os.name == "nt", reason="POSIX modes")
def test_doctor_reports_and_repairs_files_other_users_can_read(
    invoke: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, umask_022: None
) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("ERPSYNC_HOME", str(home))
    monkeypatch.delenv("ERPSYNC_SECRET_KEY", raising=False)
    ok(invoke("connectors", "add", "m", "app:mock", "--token", "t-1"))
    db = home / "registry.db"
    registry = Registry.open(db)  # keeps -wal and -shm while open
    registry.connectors()
    too_open = {
        home: 0o755,
        db: 0o644,
        Path(f"{db}-wal"): 0o644,
        Path(f"{db}-shm"): 0o664,
        home / "secret.key": 0o640,
    }
    for path, bits in too_open.items():
        path.chmod(bits)

    report = invoke("doctor", "--json")
    assert report.exit_code == 1
    problems = {f["check"]: f["detail"] for f in findings(report) if f["status"] == "problem"}
    assert set(problems) == {f"mode of {p}" for p in too_open}
    assert f"chmod 700 {home}" in problems[f"mode of {home}"]
    assert f"chmod 600 {db}" in problems[f"mode of {db}"]
    assert "0640" in problems[f"mode of {home / 'secret.key'}"]

    ok(invoke("doctor", "--repair"))
    assert {p: mode(p) for p in too_open} == {p: 0o700 if p == home else 0o600 for p in too_open}
    chmods = [r["target"] for r in audit(invoke) if r["action"] == "doctor.chmod"]
    assert sorted(chmods) == sorted(str(p) for p in too_open)
    ok(invoke("doctor"))
