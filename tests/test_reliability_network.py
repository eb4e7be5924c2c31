"""Network faults on every admin-side call that talks to a connector.

Each fault is produced for real on loopback: by the bundled mock ERP's fault injection
(`erpsync_mock_erp.faults.FaultInjector`, the code behind `erpsync mock-server --fail ...`,
served here by uvicorn in a thread so its requests can be counted), or by a purpose-built
server from tests/helpers/faults.py. Only DNS is stubbed: this machine's resolver is off the
machine, so `socket.getaddrinfo` answers "no such name" for `*.invalid` names (the reserved
TLD that never resolves) without asking anyone; httpx's own error path runs unchanged.

For every (command, fault) pair: the failure is classified (transient / config error /
system), reported in one line naming the connector and what to check, retried with bounded
backoff only when transient (the fault server counts the requests), and the registry is left
as it was (a dump of every table before and after), except what the command records on
purpose (`connections test` stores the failed result; `connections remove` removes here
anyway, with a warning).
"""

from __future__ import annotations

import asyncio
import itertools
import socket
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from helpers import MOCK_CONFIG, MOCK_PASSWORD
from helpers.cli import assert_one_line_error
from helpers.faults import (
    HTML_500,
    HTML_502,
    WRONG_SHAPE,
    backlog_full,
    envelope,
    http_answer,
    raw_server,
    registry_dump,
    serve_asgi,
    tls_server,
)
from helpers.mock_server import refusing_port

import host.client
from host.client import (
    CertificateError,
    ConnectorBusy,
    ConnectorClient,
    ConnectorUnreachable,
    ProtocolError,
    Unauthorized,
)

Invoke = Callable[..., Result]

TOKEN = "reliability-token-7f3a"
"""The bearer token of the registered connector: it must never show in any output."""

TIMING_TIMEOUT = 0.15
"""Client timeout for faults that are about time (connect/read timeouts, slow bodies)."""

PATIENT_TIMEOUT = 10.0
"""Client timeout for every other fault: they must fail for their own reason, fast."""

RETRIES = 2
"""ConnectorClient's default: a transient failure is tried 1 + 2 times."""


# --- the fault servers -------------------------------------------------------------------------


@dataclass
class MockFaults:
    """The real mock ERP app behind FaultInjector, one prefix per fault kind."""

    base: str
    counts: Counter[str]

    def url(self, kind: str) -> str:
        return f"{self.base}/f/{kind}/connectors/mock"


MOCK_KINDS: dict[str, dict[str, Any]] = {
    "ok": {},
    "http500": {"fail": ["http500"]},
    "malformed-json": {"fail": ["malformed-json"]},
    "wrong-version": {"fail": ["wrong-version"]},
    "reject-token": {"fail": ["reject-token"]},
    "drop": {"fail": ["drop"]},
    "slow-body": {"fail": ["slow-body"]},
    "latency": {"latency": 2.0},
}


@pytest.fixture(scope="module")
def mock_faults() -> Iterator[MockFaults]:
    from erpsync_mock_erp import MockErpConnector
    from erpsync_mock_erp.faults import FaultInjector
    from host.server import create_app

    inner = create_app({"mock": MockErpConnector(customers=5)}, token=TOKEN)
    apps = {
        kind: FaultInjector(inner, **options) if options else inner
        for kind, options in MOCK_KINDS.items()
    }
    counts: Counter[str] = Counter()

    async def dispatch(scope: Any, receive: Any, send: Any) -> None:
        # /f/<kind>/connectors/mock/v1/... -> that kind's app, at /connectors/mock/v1/...
        _, _, kind, rest = scope["path"].split("/", 3)
        counts[kind] += 1
        path = "/" + rest
        await apps[kind]({**scope, "path": path, "raw_path": path.encode()}, receive, send)

    with serve_asgi(dispatch) as base:
        yield MockFaults(base, counts)


@dataclass
class Fault:
    name: str
    kind: str  # transient | config_error | system
    error: type[Exception]
    hint: str  # what the one line tells the admin to check
    timing: bool = False  # about time: run with the short timeout


FAULTS = {
    f.name: f
    for f in [
        Fault("refused", "transient", ConnectorUnreachable, "check the URL", timing=True),
        Fault("unresolvable", "transient", ConnectorUnreachable, "check the URL", timing=True),
        Fault("connect-timeout", "transient", ConnectorUnreachable, "timed out", timing=True),
        Fault("read-timeout", "transient", ConnectorUnreachable, "timed out", timing=True),
        Fault("slow-body", "transient", ConnectorUnreachable, "timed out", timing=True),
        Fault("trickle-past-deadline", "transient", ConnectorUnreachable, "timed out", True),
        Fault("dropped", "transient", ConnectorUnreachable, "connector's log"),
        Fault("html-502", "transient", ConnectorBusy, "try again later"),
        Fault("html-500", "system", ProtocolError, "is this URL a connector?"),
        Fault("html-500-raw", "system", ProtocolError, "is this URL a connector?"),
        Fault("malformed-json", "system", ProtocolError, "is this URL a connector?"),
        Fault("wrong-shape", "system", ProtocolError, "not a protocol envelope"),
        Fault("wrong-version", "system", ProtocolError, "Upgrade erpsync-host"),
        Fault("unauthorized", "config_error", Unauthorized, "check --token"),
        Fault("redirect", "system", ProtocolError, "register the final URL"),
        Fault("tls-unverified", "config_error", CertificateError, "--ca-bundle"),
        Fault("too-large", "system", ProtocolError, "cap"),
        Fault("too-large-chunked", "system", ProtocolError, "cap"),
    ]
}


@dataclass
class Prepared:
    url: str
    requests: Callable[[], int | None]  # requests the fault server saw (None: cannot count)
    extra: dict[str, Any]


class FaultFactory:
    """Brings up one fault on loopback and tells how to count what reached it."""

    def __init__(self, mock: MockFaults, tmp_path: Path, stack: Any) -> None:
        self.mock = mock
        self.tmp_path = tmp_path
        self.stack = stack

    def _mock(self, kind: str) -> Prepared:
        before = self.mock.counts[kind]
        return Prepared(self.mock.url(kind), lambda: self.mock.counts[kind] - before, {})

    def _raw(self, mode: str, **kwargs: Any) -> Prepared:
        server = self.stack.enter_context(raw_server(mode, **kwargs))
        return Prepared(server.base + "/c/erp", server.hits, {"server": server})

    def __call__(self, name: str) -> Prepared:
        if name == "refused":
            port = self.stack.enter_context(refusing_port())
            return Prepared(f"http://127.0.0.1:{port}/c/erp", lambda: None, {})
        if name == "unresolvable":
            return Prepared("http://erp-reliability.invalid:8765/c/erp", lambda: None, {})
        if name == "connect-timeout":
            base = self.stack.enter_context(backlog_full())
            return Prepared(base + "/c/erp", lambda: None, {})
        if name == "read-timeout":
            return self._mock("latency")
        if name == "slow-body":
            return self._mock("slow-body")
        if name == "trickle-past-deadline":
            # A byte every 50 ms never trips the 150 ms read timeout: only the overall
            # deadline (twice the timeout) ends it.
            return self._raw("trickle", interval=0.05)
        if name == "dropped":
            return self._mock("drop")
        if name == "html-502":
            return self._raw("bytes", payload=HTML_502)
        if name == "html-500":
            return self._mock("http500")
        if name == "html-500-raw":
            return self._raw("bytes", payload=HTML_500)
        if name == "malformed-json":
            return self._mock("malformed-json")
        if name == "wrong-shape":
            return self._raw("bytes", payload=WRONG_SHAPE)
        if name == "wrong-version":
            return self._mock("wrong-version")
        if name == "unauthorized":
            return self._mock("reject-token")
        if name == "redirect":
            target = self.stack.enter_context(raw_server("bytes", payload=WRONG_SHAPE))
            prepared = self._raw("redirect", location=target.base + "/c/erp/v1/info")
            prepared.extra["target"] = target
            return prepared
        if name == "tls-unverified":
            directory = self.tmp_path / "tls"
            directory.mkdir(exist_ok=True)
            server, cert = self.stack.enter_context(tls_server(directory, WRONG_SHAPE))
            # The handshake fails before any request: count TLS connections instead.
            return Prepared(server.base + "/c/erp", lambda: server.connections, {"cert": cert})
        if name == "too-large":
            return self._raw("huge")
        if name == "too-large-chunked":
            return self._raw("huge-chunked")
        raise ValueError(name)


# --- the world the commands run in ---------------------------------------------------------------


@pytest.fixture
def client_timeouts(monkeypatch: pytest.MonkeyPatch) -> dict[str, float]:
    """Every ConnectorClient the CLI makes in this test uses `settings["timeout"]` and a 10 ms
    backoff; retries stay the default. (The default backoff is checked on its own below.)
    `settings["attempts"]` counts the HTTP attempts the clients made."""
    settings = {"timeout": PATIENT_TIMEOUT, "backoff": 0.01, "attempts": 0}
    original = host.client.ConnectorClient

    class Tuned(original):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs["timeout"] = settings["timeout"]
            kwargs["backoff"] = settings["backoff"]
            super().__init__(*args, **kwargs)

        async def _attempt(self, *args: Any, **kwargs: Any) -> Any:
            settings["attempts"] += 1
            return await super()._attempt(*args, **kwargs)

    monkeypatch.setattr(host.client, "ConnectorClient", Tuned)
    return settings


@pytest.fixture
def no_dns(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """`*.invalid` names fail to resolve without a query leaving the machine."""
    asked: list[str] = []
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name.rstrip(".").endswith(".invalid"):
            asked.append(name)
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return asked


def seed_registry(home: Path, url: str) -> str:
    """Connector `erp` at `url` (with TOKEN) and a tested, inactive connection `acme`."""
    from host.registry import Registry

    registry = Registry.open(home / "registry.db")
    registry.add_connector("erp", url, TOKEN)
    guid = str(uuid.uuid4())
    registry.add_connection(
        guid=guid,
        name="acme",
        connector="erp",
        config=MOCK_CONFIG,
        secret_keys=["password"],
        test_state="ok",
        test_message="Connected",
    )
    registry.close()
    return guid


GOOD = [f"--config={k}={v}" for k, v in MOCK_CONFIG.items()]

COMMANDS: dict[str, list[str]] = {
    "connectors add": ["connectors", "add", "erp2", "{url}", "--token", TOKEN],
    "connections add": ["connections", "add", "new", "--connector", "erp", "--no-input", *GOOD],
    "connections edit": ["connections", "edit", "acme", "--config", "company=2", "--no-input"],
    "connections test": ["connections", "test", "acme"],
    "connections activate": ["connections", "activate", "acme"],
    "connections remove": ["connections", "remove", "acme", "--yes"],
}

ALREADY_COVERED = {
    ("connectors add", "refused"): "test_cli_skeleton.py::"
    "test_connectors_add_of_an_unreachable_url_exits_4",
    ("connectors add", "unauthorized"): "test_cli_skeleton.py::"
    "test_connectors_add_with_a_wrong_token_exits_5",
    ("connectors add", "tls-unverified"): "test_tls.py::"
    "test_an_unverifiable_certificate_is_refused_and_a_private_ca_is_trusted",
}


def exit_code_for(fault: Fault) -> int:
    return 4 if fault.kind == "transient" else 5


def expected_requests(fault: Fault) -> int:
    return 1 + RETRIES if fault.kind == "transient" else 1


def assert_registry_as_expected(
    command: str, before: dict[str, list[Any]], after: dict[str, list[Any]], guid: str
) -> None:
    if command == "connections test":
        # The failed result is recorded on purpose; every other column and table is as it was.
        (row_before,) = before["connections"]
        (row_after,) = after["connections"]
        changed = {i for i, (a, b) in enumerate(zip(row_before, row_after, strict=True)) if a != b}
        assert len(changed) <= 3, (row_before, row_after)  # last test state, message, time
        assert {k: v for k, v in after.items() if k != "connections"} == {
            k: v for k, v in before.items() if k != "connections"
        }
    elif command == "connections remove":
        # Removed here anyway (documented), with a warning; nothing else changed.
        assert after["connections"] == []
        assert after["connection_access"] == []
        assert len(after["audit"]) == len(before["audit"]) + 1
        for table in set(before) - {"connections", "connection_access", "audit"}:
            if table not in ("actor_type_cache", "guid_journal"):
                assert after[table] == before[table], table
        # The connector may still hold the GUID: the journal says this registry removed it.
        assert [row[3] for row in after["guid_journal"]] == ["removed"]
    else:
        assert after == before


SLOW_IN_THE_MATRIX = {"connect-timeout", "read-timeout", "slow-body", "trickle-past-deadline"}
"""Faults that wait out a timeout on every attempt: marked slow across all the commands
(`make test-fast` still meets each of them in test_each_fault_has_one_class)."""


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize(
    "fault_name",
    [pytest.param(n, marks=pytest.mark.slow) if n in SLOW_IN_THE_MATRIX else n for n in FAULTS],
)
def test_every_admin_call_survives_every_network_fault(
    command: str,
    fault_name: str,
    invoke: Invoke,
    erpsync_home: Path,
    tmp_path: Path,
    mock_faults: MockFaults,
    client_timeouts: dict[str, float],
    no_dns: list[str],
) -> None:
    import contextlib

    if (command, fault_name) in ALREADY_COVERED:
        pytest.skip(f"covered by {ALREADY_COVERED[command, fault_name]}")
    fault = FAULTS[fault_name]
    with contextlib.ExitStack() as stack:
        prepared = FaultFactory(mock_faults, tmp_path, stack)(fault_name)
        guid = seed_registry(erpsync_home, prepared.url)
        before = registry_dump(erpsync_home / "registry.db")
        client_timeouts["timeout"] = TIMING_TIMEOUT if fault.timing else PATIENT_TIMEOUT
        args = [a.replace("{url}", prepared.url) for a in COMMANDS[command]]
        started = time.monotonic()
        result = invoke(*args)
        elapsed = time.monotonic() - started
        seen = prepared.requests()

    assert "Traceback" not in result.output
    label = "connector 'erp2'" if command == "connectors add" else "connector 'erp'"
    if (command, fault_name) == ("connections remove", "wrong-version"):
        # Removing does not read info: the DELETE itself is answered in v1, so it just works.
        assert result.exit_code == 0 and result.stderr == "", result.output
        assert registry_dump(erpsync_home / "registry.db")["connections"] == []
        return
    if command == "connections remove":
        assert result.exit_code == 0, result.output
        warning = result.stderr.strip()
        assert "\n" not in warning and warning.startswith("warning: "), warning
        assert warning.endswith("removed here anyway")
        text = warning
    else:
        text = assert_one_line_error(result, exit_code_for(fault))
    assert label in text, text
    assert fault.hint in text, text
    assert TOKEN not in result.output and MOCK_PASSWORD not in result.output

    # Retried only when transient, and boundedly so: counted by the client and, where the
    # fault lets a request arrive, by the server. (A timing fault's last attempt may end
    # before its request is read, so there the server may count one less.)
    assert client_timeouts["attempts"] == expected_requests(fault), text
    if seen is not None:
        if fault.timing:
            assert 1 <= seen <= expected_requests(fault), (seen, text)
        else:
            assert seen == expected_requests(fault), (seen, text)
    if fault_name == "unresolvable":
        assert len(no_dns) == expected_requests(fault)
    if fault.timing:
        assert elapsed < 10 * TIMING_TIMEOUT * (1 + RETRIES) + 2, elapsed
    if fault_name == "redirect":
        assert prepared.extra["target"].hits() == 0  # the token never went there

    after = registry_dump(erpsync_home / "registry.db")
    assert_registry_as_expected(command, before, after, guid)


# --- classification at the client, and what the matrix tuned -------------------------------------


@pytest.mark.parametrize("fault_name", list(FAULTS))
def test_each_fault_has_one_class(
    fault_name: str, tmp_path: Path, mock_faults: MockFaults, no_dns: list[str]
) -> None:
    import contextlib

    fault = FAULTS[fault_name]
    timeout = TIMING_TIMEOUT if fault.timing else PATIENT_TIMEOUT

    async def call(url: str) -> BaseException:
        async with ConnectorClient(url, token=TOKEN, timeout=timeout, retries=0) as client:
            with pytest.raises(Exception) as caught:
                await client.info()
            return caught.value

    with contextlib.ExitStack() as stack:
        prepared = FaultFactory(mock_faults, tmp_path, stack)(fault_name)
        error = asyncio.run(call(prepared.url))
    assert type(error) is fault.error, repr(error)
    assert error.kind == fault.kind  # type: ignore[attr-defined]


def test_transient_faults_back_off_0_25_then_0_5_seconds_by_default(
    invoke: Invoke, erpsync_home: Path
) -> None:
    """No tuning here: the CLI's own client, default retries and backoff."""
    with raw_server("bytes", payload=HTML_502) as server:
        seed_registry(erpsync_home, server.base + "/c/erp")
        started = time.monotonic()
        result = invoke("connections", "test", "acme")
        elapsed = time.monotonic() - started
    assert_one_line_error(result, 4)
    stamps = [r.at for r in server.requests]
    assert len(stamps) == 3
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    assert 0.2 <= gaps[0] < 1.0 and 0.4 <= gaps[1] < 1.5, gaps  # 0.25 s, then 0.5 s
    assert elapsed < 5


def test_a_private_ca_is_trusted_through_ca_bundle(tmp_path: Path) -> None:
    """Verification stays on; the self-signed certificate is trusted once named. (The CLI
    flag --ca-bundle is tested in test_tls.py.)"""
    import json

    body = json.dumps(
        envelope(
            {"id": "tls", "name": "TLS", "vendor": "t", "version": "1", "protocol_version": "1.0"}
        )
    ).encode()

    async def info(url: str, ca: Path | None) -> Any:
        async with ConnectorClient(url, ca_bundle=str(ca) if ca else None, retries=0) as c:
            return await c.info()

    with tls_server(tmp_path, http_answer(200, body, "application/json")) as (server, cert):
        with pytest.raises(CertificateError, match="--ca-bundle"):
            asyncio.run(info(server.base + "/c", None))
        assert asyncio.run(info(server.base + "/c", cert))["id"] == "tls"
        assert server.hits() == 1  # only the trusted call got as far as a request
