"""Several admins at once: real processes adding, editing and testing connections against one
registry file, and a fresh registry created by many processes at the same moment.

The connectors are `app:mock` (the bundled app run in-process by each command), so no server
is involved: what is tried is the registry (SQLite, WAL, BEGIN IMMEDIATE, busy timeout) and the
commands' optimistic checks. tests/test_registry.py::test_two_admins_at_once_lose_nothing tries
the same with two registry objects in one process; the load on the connector host is in
tests/test_load.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from helpers import MOCK_CONFIG
from helpers.mock_server import env_without_erpsync

WORKER = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path

    from click.testing import CliRunner

    from host.cli import cli
    import host.cli.connections  # imported before the start line, so the work overlaps
    from host.apps import load_apps

    load_apps()
    commands = json.loads(sys.argv[1])
    go = Path(sys.argv[2])
    (go.parent / f"ready-{sys.argv[3]}").touch()
    while not go.exists():
        time.sleep(0.002)
    runner = CliRunner()
    results = []
    for args in commands:
        result = runner.invoke(cli, args, prog_name="erpsync")
        crash = result.exception
        results.append({
            "args": args,
            "exit": result.exit_code,
            "stdout": result.stdout,
            "stderr": result.stderr,
            "crash": None if crash is None or isinstance(crash, SystemExit) else repr(crash),
        })
    print(json.dumps(results))
    """
)

GOOD = [f"--config={k}={v}" for k, v in MOCK_CONFIG.items()]
EXPECTED_CONFLICTS = ("already exists", "was changed by someone else meanwhile")

# Each worker changes a different config key of `hub` (or another of its attributes): a
# success whose change is missing at the end would be a lost update.
HUB_EDITS: list[tuple[list[str], Any]] = [
    (["--config", "company=2"], ("config", "company", 2)),
    (["--config", "read_only=true"], ("config", "read_only", True)),
    (["--config", "decimal_separator=,"], ("config", "decimal_separator", ",")),
    (["--config", "server=erp3.mock.local"], ("config", "server", "erp3.mock.local")),
    (["--description", "edited by w4"], ("description", None, "edited by w4")),
    (["--user", "alice"], ("users", None, ["alice"])),
]
WORKERS = len(HUB_EDITS)


def worker_commands(i: int) -> list[list[str]]:
    add = ["connections", "add"]
    edits, _ = HUB_EDITS[i]
    return [
        [*add, f"w{i}-a", "--connector", "m", "--no-input", *GOOD],
        [*add, "shared", "--connector", "m", "--no-input", *GOOD],  # all race for one name
        ["connections", "edit", "hub", *edits, "--no-input"],
        [*add, f"w{i}-b", "--connector", "m", "--no-input", *GOOD, "--description", f"w{i}"],
        ["connections", "test", f"w{i}-a"],
        ["connections", "edit", f"w{i}-b", "--rename", "renamed"],  # all race for one name
        ["connections", "test", "hub"],
        ["users", "add", f"user-{i}"],
    ]


def run_workers(
    home: Path, tmp_path: Path, commands: list[list[list[str]]]
) -> list[list[dict[str, Any]]]:
    env = {**env_without_erpsync(), "ERPSYNC_HOME": str(home)}
    env["ERPSYNC_SECRET_KEY"] = os.environ["ERPSYNC_SECRET_KEY"]
    go = tmp_path / "go"
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, json.dumps(cmds), str(go), str(i)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**env, "ERPSYNC_ADMIN": f"admin-{i}"},
        )
        for i, cmds in enumerate(commands)
    ]
    deadline = time.monotonic() + 120
    while len(list(tmp_path.glob("ready-*"))) < len(processes):  # all imported, all waiting
        assert time.monotonic() < deadline, "workers did not start"
        assert all(p.poll() is None for p in processes), [p.communicate() for p in processes]
        time.sleep(0.01)
    go.touch()
    outputs = []
    for process in processes:
        out, err = process.communicate(timeout=180)
        assert process.returncode == 0, err
        outputs.append(json.loads(out.strip().splitlines()[-1]))
    return outputs


def check_every_answer(outputs: list[list[dict[str, Any]]]) -> None:
    for results in outputs:
        for r in results:
            text = r["stdout"] + r["stderr"]
            assert r["crash"] is None, r
            assert "database is locked" not in text and "Traceback" not in text, r
            assert r["exit"] in (0, 1), r
            if r["exit"] == 1:
                line = r["stderr"].strip()
                assert "\n" not in line and line.startswith("Error: "), r
                assert any(reason in line for reason in EXPECTED_CONFLICTS), r


@pytest.mark.slow
def test_processes_adding_editing_and_testing_at_once_lose_nothing(
    erpsync_home: Path, tmp_path: Path
) -> None:
    from host.registry import Registry

    registry = Registry.open(erpsync_home / "registry.db")
    registry.add_connector("m", "app:mock")
    registry.add_user("alice")
    registry.close()
    from click.testing import CliRunner

    from host.cli import cli

    hub = CliRunner().invoke(
        cli, ["connections", "add", "hub", "--connector", "m", "--no-input", *GOOD]
    )
    assert hub.exit_code == 0, hub.output

    outputs = run_workers(erpsync_home, tmp_path, [worker_commands(i) for i in range(WORKERS)])
    check_every_answer(outputs)

    def outcome(args_prefix: list[str]) -> list[int]:
        return [
            r["exit"]
            for results in outputs
            for r in results
            if r["args"][: len(args_prefix)] == args_prefix
        ]

    # Uniqueness races: exactly one winner, every loser told so in one line.
    shared = outcome(["connections", "add", "shared"])
    assert sorted(shared) == [0] + [1] * (WORKERS - 1)
    renames = [
        r["exit"]
        for results in outputs
        for r in results
        if r["args"][-2:] == ["--rename", "renamed"]
    ]
    assert sorted(renames) == [0] + [1] * (WORKERS - 1)

    registry = Registry.open(erpsync_home / "registry.db")
    try:
        names = {c.name for c in registry.connections()}
        expected = {"hub", "shared", "renamed"} | {f"w{i}-a" for i in range(WORKERS)}
        expected |= {f"w{i}-b" for i in range(WORKERS)}
        expected -= {next(f"w{i}-b" for i in range(WORKERS) if outputs[i][5]["exit"] == 0)}
        assert names == expected
        assert {u["name"] for u in registry.users()} == {"alice"} | {
            f"user-{i}" for i in range(WORKERS)
        }

        # No lost update: every edit of hub that said "updated" is in the final record.
        record = registry.connection("hub")
        config = registry.connection_config(record.guid) or {}
        applied = 0
        for i, (_args, (what, key, value)) in enumerate(HUB_EDITS):
            result = outputs[i][2]
            if result["exit"] != 0:
                continue
            applied += 1
            if what == "config":
                assert config.get(key) == value, (i, config)
            elif what == "description":
                assert record.description == value
            else:
                assert record.users == value
        assert applied >= 1

        # Every change that succeeded left exactly one audit record, and no other.
        audit = Counter((a["action"], a["who"]) for a in registry.audit_log(limit=1000))
        for i, results in enumerate(outputs):
            adds = sum(r["exit"] == 0 for r in results if r["args"][:2] == ["connections", "add"])
            edits = sum(r["exit"] == 0 for r in results if r["args"][:2] == ["connections", "edit"])
            assert audit["connection.add", f"admin-{i}"] == adds
            assert audit["connection.edit", f"admin-{i}"] == edits
            assert audit["user.add", f"admin-{i}"] == 1
        for results in outputs:
            for r in results:
                if r["args"][:2] == ["connections", "test"]:
                    assert r["exit"] == 0, r
    finally:
        registry.close()


@pytest.mark.parametrize("processes", [8])
def test_many_processes_creating_one_registry_at_once(
    erpsync_home: Path, tmp_path: Path, processes: int
) -> None:
    """The first use of a registry file (schema, WAL switch) by many processes at once."""
    commands = [
        [["users", "add", f"first-{i}"], ["users", "list", "--json"]] for i in range(processes)
    ]
    outputs = run_workers(erpsync_home, tmp_path, commands)
    for results in outputs:
        for r in results:
            assert r["exit"] == 0 and r["crash"] is None, r
            assert "database is locked" not in r["stderr"], r
    from host.registry import Registry

    registry = Registry.open(erpsync_home / "registry.db")
    assert {u["name"] for u in registry.users()} == {f"first-{i}" for i in range(processes)}
    registry.close()
