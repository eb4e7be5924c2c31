"""`erpsync mock-server --workers N` / `erpsync serve --workers N`: any worker answers any call.

Real processes on real ports: a connection's config is saved through one worker and every
call after it, through connections held by each of the workers, must answer correctly
(never `unknown_connection`), and actors created through one worker are seen by all.
Which worker holds a kept-alive connection is read from /proc (the socket inodes of each
worker process), so the test knows it really crossed workers.
"""

from __future__ import annotations

import json
import socket
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.helpers import MOCK_CONFIG, MOCK_PASSWORD, MOCK_USERNAME
from tests.helpers.mock_server import MockServer, start_mock_server, stop_process

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc"),
]

CONFIG = MOCK_CONFIG
WORKERS = 2


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(p) for p in (task / "children").read_text().split()]
    return found


def _worker_pids(server: MockServer) -> list[int]:
    """The uvicorn workers: children of the server process that are not its helpers
    (multiprocessing's resource tracker is a child too, and holds no socket)."""
    return [p for p in _children(server.process.pid) if _socket_inodes(p)]


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    try:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                target = fd.readlink()
            except OSError:
                continue
            if str(target).startswith("socket:["):
                inodes.add(str(target)[8:-1])
    except OSError:
        pass
    return inodes


def _server_inode(server_port: int, client_port: int) -> str | None:
    """The inode of the server side of the loopback TCP connection from client_port."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        parts = line.split()
        local, remote, inode = parts[1], parts[2], parts[9]
        if int(local.split(":")[1], 16) == server_port and (
            int(remote.split(":")[1], 16) == client_port
        ):
            return inode
    return None


class Link:
    """One kept-alive HTTP connection to the server, and the worker that accepted it."""

    def __init__(self, server: MockServer, worker: int, client: httpx.Client) -> None:
        self.server, self.worker, self.client = server, worker, client

    def call(self, method: str, path: str, **kwargs: object) -> dict:
        answer = self.client.request(method, self.server.url + "/v1" + path, **kwargs)  # type: ignore[arg-type]
        body = answer.json()
        assert isinstance(body, dict)
        return body


def _links(server: MockServer, wanted_per_worker: int = 3, tries: int = 200) -> list[Link]:
    """Kept-alive connections until each worker holds `wanted_per_worker` of them."""
    workers = _worker_pids(server)
    assert len(workers) == WORKERS, workers
    inodes = {pid: _socket_inodes(pid) for pid in workers}
    held: dict[int, list[Link]] = {pid: [] for pid in workers}
    spare: list[httpx.Client] = []
    headers = {"Authorization": f"Bearer {server.token}"}
    for _ in range(tries):
        client = httpx.Client(headers=headers, timeout=30)
        client.get(server.base + "/").raise_for_status()
        # the connection's local port, from the pool's socket
        stream = client._transport._pool.connections[0]._connection._network_stream  # type: ignore[attr-defined]
        sock: socket.socket = stream.get_extra_info("socket")
        inode = _server_inode(server.port, sock.getsockname()[1])
        owner = next((pid for pid in workers if inode in _socket_inodes(pid)), None)
        if owner is not None and len(held[owner]) < wanted_per_worker:
            held[owner].append(Link(server, owner, client))
        else:
            spare.append(client)
        if all(len(v) >= wanted_per_worker for v in held.values()):
            break
    for client in spare:
        client.close()
    assert all(held.values()), f"a worker accepted no connection: {held} (inodes {inodes})"
    return [link for links in held.values() for link in links]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MockServer]:
    directory = tmp_path_factory.mktemp("workers")
    started = start_mock_server(directory, "--workers", str(WORKERS), "--customers", "300")
    yield started
    stop_process(started.process)


def test_a_saved_connection_answers_through_every_worker(server: MockServer) -> None:
    links = _links(server)
    assert len({link.worker for link in links}) == WORKERS
    for round_ in range(5):
        guid = str(uuid.uuid4())
        saver = links[round_ % len(links)]
        assert saver.call("PUT", f"/connections/{guid}", json={"config": CONFIG})["ok"]
        for link in links * 4:  # 24 calls, every worker several times
            answer = link.call("GET", f"/connections/{guid}/actor-types")
            assert answer["ok"], answer  # never unknown_connection
            assert answer["data"] == ["customer", "supplier", "person", "project"]
            held = link.call("GET", "/connections")
            assert guid in held["data"]
        # forgotten through one worker: unknown to all
        other = links[(round_ + 1) % len(links)]
        assert other.call("DELETE", f"/connections/{guid}")["ok"]
        for link in links:
            gone = link.call("GET", f"/connections/{guid}/actor-types")
            assert gone["error_code"] == "unknown_connection"


def test_actors_created_through_one_worker_are_seen_by_all(server: MockServer) -> None:
    links = _links(server)
    guid = str(uuid.uuid4())
    assert links[0].call("PUT", f"/connections/{guid}", json={"config": CONFIG})["ok"]
    created: list[dict] = []
    for n, link in enumerate(links * 2):
        body = {"actor": {"actor_type": "customer", "field_values": {"NAME": f"Worker {n} AS"}}}
        answer = link.call("POST", f"/connections/{guid}/actors/customer", json=body)
        assert answer["ok"], answer
        created.append(answer["data"])
    keys = [a["erp_key"] for a in created]
    assert len(set(keys)) == len(keys)  # distinct numbers across workers
    assert sorted(int(k) for k in keys) == list(range(301, 301 + len(keys)))
    stamps = [a["last_modified"] for a in created]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
    saved = links[-1].call(
        "PUT",
        f"/connections/{guid}/actors",
        json={
            "actors": [
                {"actor_type": "customer", "erp_key": keys[0], "field_values": {"PHONE": "+47 1"}}
            ]
        },
    )
    assert saved["ok"], saved
    for link in links:
        got = link.call(
            "POST",
            f"/connections/{guid}/actors/customer/get",
            json={"erp_keys": keys, "field_keys": ["NAME", "PHONE"]},
        )
        assert [a["field_values"]["NAME"] for a in got["data"]] == [
            f"Worker {n} AS" for n in range(len(keys))
        ]
        assert got["data"][0]["field_values"]["PHONE"] == "+47 1"
        since = stamps[0]
        page = link.call(
            "GET", f"/connections/{guid}/actors/customer/changes", params={"since": since}
        )
        assert [a["erp_key"] for a in page["data"]["actors"]] == [*keys[1:], keys[0]]


def test_the_shared_store_holds_configs_encrypted_and_private(server: MockServer) -> None:
    links = _links(server, wanted_per_worker=1)
    guid = str(uuid.uuid4())
    assert links[0].call("PUT", f"/connections/{guid}", json={"config": CONFIG})["ok"]
    stores = list((server.token_file.parent / "home" / "connector-host").glob("configs-*.db"))
    assert len(stores) == 1
    assert stores[0].stat().st_mode & 0o077 == 0
    raw = b"".join(
        p.read_bytes() for p in stores[0].parent.iterdir() if p.name.startswith(stores[0].name)
    )
    assert MOCK_PASSWORD.encode() not in raw and MOCK_USERNAME.encode() not in raw
    with sqlite3.connect(stores[0]) as db:
        assert db.execute("SELECT count(*) FROM connections").fetchone()[0] >= 1


def test_every_worker_answers_an_unreadable_request_with_the_envelope(
    server: MockServer,
) -> None:
    """Raw non-UTF-8 bytes in the path: uvicorn's plain-text 400 is replaced by the protocol's
    `invalid_request` envelope in each worker, as in a single-process server."""
    url = httpx.URL(server.url)
    for _ in range(4 * WORKERS):  # new connections: the kernel spreads them over the workers
        with socket.create_connection((url.host, url.port)) as sock:
            sock.sendall(b"GET " + url.raw_path + b"/v1/lists/\xff\xfe HTTP/1.1\r\nHost: x\r\n\r\n")
            raw = b""
            while chunk := sock.recv(65536):
                raw += chunk
        head, _, body = raw.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 400") and b"application/json" in head, raw[:200]
        assert json.loads(body)["error_code"] == "invalid_request"


def test_the_shared_store_is_removed_when_the_server_stops(tmp_path: Path) -> None:
    started = start_mock_server(tmp_path, "--workers", "2", "--customers", "10")
    folder = tmp_path / "home" / "connector-host"
    assert list(folder.glob("configs-*.db"))
    stop_process(started.process)
    assert not list(folder.glob("configs-*"))


def test_one_worker_keeps_the_configs_in_memory(tmp_path: Path) -> None:
    started = start_mock_server(tmp_path, "--customers", "10")
    try:
        guid = str(uuid.uuid4())
        answer = httpx.put(
            f"{started.url}/v1/connections/{guid}",
            json={"config": CONFIG},
            headers={"Authorization": f"Bearer {started.token}"},
        )
        assert answer.json()["ok"]
        assert not (tmp_path / "home" / "connector-host").exists()
    finally:
        stop_process(started.process)


def test_serve_workers_refuses_a_bad_count(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "host.cli", "serve", "--no-auth", "--workers", "0"],
        capture_output=True,
        text=True,
        env={"ERPSYNC_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 2
    assert "--workers" in result.stderr and "Traceback" not in result.stderr
