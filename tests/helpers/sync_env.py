"""A sync test bench: a real mock-server, an erpsync home with a connector, connections."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from click.testing import CliRunner, Result

from helpers import MOCK_PASSWORD
from helpers.mock_server import MockServer
from host.client import ConnectorClient

T = TypeVar("T")


@dataclass
class SyncEnv:
    server: MockServer
    home: Path
    runner: CliRunner

    def run(self, *args: str, expect: int = 0) -> Result:
        from host.cli import cli

        result = self.runner.invoke(cli, list(args), prog_name="erpsync")
        assert result.exit_code == expect, (args, result.exit_code, result.stdout, result.stderr)
        return result

    def json(self, *args: str, expect: int = 0) -> Any:
        return json.loads(self.run(*args, "--json", expect=expect).stdout)

    def add_connection(self, name: str, company: int = 1, *, enable: tuple[str, ...] = ()) -> str:
        self.run(
            "connections", "add", name, "--connector", "mock-erp",
            "--config", "server=erp.mock.local", "--config", "username=demo",
            "--config", f"password={MOCK_PASSWORD}", "--config", f"company={company}",
            "--no-input",
        )  # fmt: skip
        for actor_type in enable:
            self.run("mapping", "enable", name, actor_type)
        return str(self.json("connections", "show", name)["guid"])

    def erp(self, call: Callable[[ConnectorClient], Awaitable[T]]) -> T:
        """Run `call` with a client of the mock server (the ERP side, seen directly)."""

        async def go() -> T:
            async with ConnectorClient(self.server.url, token=self.server.token, timeout=60) as c:
                return await call(c)

        return asyncio.run(go())

    def erp_all(self, guid: str, actor_type: str) -> dict[str, Any]:
        """Every actor of a type, by ERP key, read straight from the ERP."""

        async def go(c: ConnectorClient) -> dict[str, Any]:
            return {
                a.erp_key: a async for a in c.changed_since(guid, actor_type, "", page_size=1000)
            }

        return self.erp(go)


def make_env(server: MockServer, home: Path) -> SyncEnv:
    env = SyncEnv(server, home, CliRunner())
    env.run("connectors", "add", "mock-erp", server.url, "--token-file", str(server.token_file))
    return env


def crm_matches_erp(env: SyncEnv, guid: str, actor_type: str) -> list[str]:
    """Differences between the CRM and the ERP for the mapped ERP -> CRM fields of a type;
    also a duplicate or a missing link is a difference."""
    from host.crm import open_crm
    from host.registry import Registry
    from host.sync.mapping import Mapper, same
    from host.sync.settings import list_items, one_type

    registry = Registry.open(env.home / "registry.db")
    crm = open_crm(registry.path)
    try:
        mapper = Mapper(one_type(registry, guid, actor_type), list_items(registry, guid))
        actors = env.erp_all(guid, actor_type)
        rows = crm.conn.execute(
            "SELECT erp_key, crm_id FROM links WHERE connection = ? AND actor_type = ?",
            (guid, actor_type),
        ).fetchall()
        problems = []
        keys = [r[0] for r in rows]
        if len(keys) != len(set(keys)):
            problems.append("duplicate links")
        crm_ids = [r[1] for r in rows]
        if len(crm_ids) != len(set(crm_ids)):
            problems.append("two ERP actors share one CRM record")
        by_key = dict(rows)
        missing = set(actors) - set(by_key)
        if missing:
            problems.append(f"{len(missing)} actors not in the CRM, e.g. {sorted(missing)[:3]}")
        extra = set(by_key) - set(actors)
        if extra:
            problems.append(f"{len(extra)} links to actors the ERP lacks")
        records = crm.get_many(mapper.settings.entity, by_key.values())
        count = crm.count(mapper.settings.entity)
        for key, actor in actors.items():
            if key not in by_key:
                continue
            record = records[by_key[key]]
            for name, value in mapper.to_crm(actor.field_values).items():
                if not same(record.get(name), value):
                    problems.append(
                        f"{actor_type} {key}.{name}: CRM {record.get(name)!r} ERP {value!r}"
                    )
                    break
        problems.extend([] if count >= len(actors) else ["fewer CRM records than actors"])
        return problems[:10]
    finally:
        crm.close()
        registry.close()
