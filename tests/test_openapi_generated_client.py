"""The committed OpenAPI document is enough to write a client: one is generated from it by a
generator that knows nothing of this code base (openapi-python-client: attrs models, its own
httpx calls), pointed at the real mock through the document's server URL, and used for the
calls a partner's admin side makes. Short operationIds become its function names."""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from helpers import MOCK_CONFIG

from erpsync_mock_erp import MockErpConnector
from host.server import create_app
from host.server.run import Server

ROOT = Path(__file__).resolve().parents[1]
OPENAPI = ROOT / "docs" / "protocol" / "openapi.json"
PACKAGE = "erpsync_generated_client"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    tool = Path(sys.executable).with_name("openapi-python-client")
    if not tool.exists() and shutil.which("openapi-python-client") is None:
        pytest.fail("openapi-python-client is not installed: make .venv/.installed (test extra)")
    where = tmp_path_factory.mktemp("generated")
    env = {**os.environ, "PATH": f"{tool.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    subprocess.run(
        [
            str(tool),
            "generate",
            *("--path", str(OPENAPI)),
            *("--output-path", str(where / PACKAGE)),
            *("--meta", "none"),
        ],
        check=True,
        capture_output=True,
        env=env,
        timeout=300,
    )
    sys.path.insert(0, str(where))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(where))
        for name in [n for n in sys.modules if n.startswith(PACKAGE)]:
            del sys.modules[name]


def api(package: ModuleType, name: str) -> Any:
    return importlib.import_module(f"{package.__name__}.api.default.{name}")


def model(package: ModuleType, name: str) -> Any:
    return getattr(importlib.import_module(f"{package.__name__}.models"), name)


def test_a_client_generated_from_the_document_talks_to_the_mock(generated: ModuleType) -> None:
    app = create_app({"mock": MockErpConnector(customers=600)}, token="gen-token")
    with Server(app) as server:
        # The document's server URL, its variables filled in.
        host = f"{server.host}:{server.port}"
        base = "{scheme}://{host}/connectors/{connector_id}/v1".format(
            scheme="http", host=host, connector_id="mock"
        )
        client = generated.AuthenticatedClient(base_url=base, token="gen-token")
        with client:
            info = api(generated, "info").sync(client=client)
            assert info.ok and info.data.id == "mock" and info.data.protocol_version == "1.1"
            assert "search_advanced" in info.data.capabilities.operations

            guid = uuid.uuid4()
            config = model(generated, "ConfigBodyConfig").from_dict(dict(MOCK_CONFIG))
            body = model(generated, "ConfigBody")(config=config)
            saved = api(generated, "save_connection").sync(guid, client=client, body=body)
            assert saved.ok

            search = api(generated, "search_actors")
            search_body = model(generated, "SearchBody")
            first = search.sync(guid, "customer", client=client, body=search_body(text=""))
            assert first.state == "ok_with_info" and len(first.data) == 500
            rest = search.sync(
                guid, "customer", client=client, body=search_body(text="", cursor=first.next_cursor)
            )
            keys = {a.erp_key for a in first.data} | {a.erp_key for a in rest.data}
            assert len(keys) == 600 and not rest.next_cursor

            missing = api(generated, "get_list").sync_detailed(guid, "nope", client=client)
            assert missing.status_code == 404
            assert missing.parsed.ok is False and missing.parsed.error_code == "unknown_list"

            anonymous = generated.Client(base_url=base)
            with anonymous:
                refused = api(generated, "info").sync_detailed(client=anonymous)
            assert refused.status_code == 401 and refused.parsed.error_code == "unauthorized"
