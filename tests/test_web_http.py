"""The web admin over real HTTP: a real `erpsync web` (uvicorn) on a free loopback port.

Sign-in, sessions, CSRF, the rate limit, the Host check and the security headers, as a client
other than a browser sees them (the browser tests in tests/web/ drive Chromium).
"""

from __future__ import annotations

import sqlite3
import ssl
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from helpers.faults import self_signed_cert
from helpers.mock_server import stop_process
from helpers.web import (
    ADMIN,
    ADMIN_PASSWORD,
    WebHome,
    WebServer,
    login_token,
    page_csrf,
    sign_in,
    start_web_server,
)


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebServer]:
    home = WebHome(tmp_path_factory.mktemp("web-http") / "home")
    home.add_admin()
    server = start_web_server(home)
    try:
        yield server
    finally:
        stop_process(server.process)


@pytest.fixture
def client(web: WebServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=web.url, follow_redirects=False, timeout=30) as c:
        yield c


def signed_in(client: httpx.Client) -> str:
    """Sign in and return the Sync tab's CSRF token."""
    answer = sign_in(client)
    assert answer.status_code == 303, answer.text
    page = client.get("/settings/sync")
    assert page.status_code == 200
    return page_csrf(page.text)


def test_every_page_but_sign_in_needs_a_session(client: httpx.Client) -> None:
    answer = client.get("/settings/sync?x=1")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=%2Fsettings%2Fsync%3Fx%3D1"
    assert client.get("/").headers["location"] in ("/settings/sync", "/login")
    fragment = client.get("/settings/sync/connector-status?name=x", headers={"HX-Request": "true"})
    assert fragment.status_code == 401
    assert fragment.headers["hx-redirect"].startswith("/login")
    assert client.get("/login").status_code == 200
    assert client.get("/static/htmx.min.js").status_code == 200


def test_sign_in_sets_a_strict_http_only_session_cookie_and_goes_where_asked(
    client: httpx.Client,
) -> None:
    token = login_token(client)
    answer = client.post(
        "/login",
        data={
            "name": ADMIN,
            "password": ADMIN_PASSWORD,
            "csrf_token": token,
            "next": "/settings/sync?tab=1",
        },
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/settings/sync?tab=1"
    cookie = next(
        v for k, v in answer.headers.multi_items() if k == "set-cookie" and "erpsync_session" in v
    )
    attributes = [part.strip().lower() for part in cookie.split(";")]
    assert "httponly" in attributes
    assert "samesite=strict" in attributes
    assert "path=/" in attributes
    assert "secure" not in attributes  # plain http on loopback
    page = client.get("/settings/sync")
    assert page.status_code == 200
    assert "Signed in as" in page.text and ADMIN in page.text


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil"])
def test_sign_in_never_redirects_off_site(client: httpx.Client, target: str) -> None:
    token = login_token(client)
    answer = client.post(
        "/login",
        data={"name": ADMIN, "password": ADMIN_PASSWORD, "csrf_token": token, "next": target},
    )
    assert answer.headers["location"] == "/settings/sync"


def test_a_wrong_password_is_refused_and_the_name_kept(client: httpx.Client) -> None:
    answer = sign_in(client, ADMIN, "not the password at all")
    assert answer.status_code == 401
    assert "Wrong name or password." in answer.text
    assert f'value="{ADMIN}"' in answer.text
    assert "erpsync_session" not in answer.headers.get("set-cookie", "")
    assert client.get("/settings/sync").status_code == 303


def test_sign_in_without_its_csrf_token_is_refused(client: httpx.Client, web: WebServer) -> None:
    login_token(client)  # the cookie is there, the form field is not
    answer = client.post("/login", data={"name": ADMIN, "password": ADMIN_PASSWORD})
    assert answer.status_code == 403
    assert "CSRF" in answer.text
    fresh = httpx.post(
        f"{web.url}/login",
        data={"name": ADMIN, "password": ADMIN_PASSWORD, "csrf_token": "guess"},
    )
    assert fresh.status_code == 403


@pytest.mark.parametrize(
    "headers, data",
    [
        ({}, {}),
        ({"X-CSRF-Token": "0" * 64}, {}),
        ({}, {"csrf_token": "wrong"}),
    ],
    ids=["no token", "wrong header", "wrong form field"],
)
def test_a_post_without_the_sessions_csrf_token_is_refused(
    client: httpx.Client, headers: dict[str, str], data: dict[str, str]
) -> None:
    signed_in(client)
    answer = client.post("/logout", headers=headers, data=data)
    assert answer.status_code == 403
    assert "CSRF" in answer.text
    assert client.get("/settings/sync").status_code == 200  # still signed in


def test_a_post_from_another_origin_is_refused_even_with_the_token(client: httpx.Client) -> None:
    token = signed_in(client)
    answer = client.post(
        "/logout", headers={"X-CSRF-Token": token, "Origin": "http://evil.example"}
    )
    assert answer.status_code == 403
    assert client.get("/settings/sync").status_code == 200


def test_sign_out_ends_the_session_for_good(client: httpx.Client, web: WebServer) -> None:
    token = signed_in(client)
    cookie = client.cookies.get("erpsync_session")
    assert cookie
    answer = client.post("/logout", data={"csrf_token": token})
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?signed_out=1"
    # The old cookie, replayed, opens nothing.
    with httpx.Client(base_url=web.url, cookies={"erpsync_session": cookie}) as replay:
        assert replay.get("/settings/sync", follow_redirects=False).status_code == 303


def test_the_htmx_header_carries_the_csrf_token(client: httpx.Client) -> None:
    token = signed_in(client)
    answer = client.post("/logout", headers={"X-CSRF-Token": token, "HX-Request": "true"})
    assert answer.status_code == 204
    assert answer.headers["hx-redirect"] == "/login?signed_out=1"


def test_the_registry_keeps_only_a_hash_of_the_session_id(
    client: httpx.Client, web: WebServer
) -> None:
    signed_in(client)
    session_id = client.cookies.get("erpsync_session")
    assert session_id
    db = web.home.path / "registry.db"
    raw = b"".join(p.read_bytes() for p in web.home.path.glob("registry.db*"))
    assert session_id.encode() not in raw
    with sqlite3.connect(db) as conn:
        hashes = [r[0] for r in conn.execute("select id_hash from admin_sessions")]
        hashed = [r[0] for r in conn.execute("select password_hash from admins")]
    import hashlib

    assert hashlib.sha256(session_id.encode()).hexdigest() in hashes
    assert all(h.startswith("$argon2id$") for h in hashed)
    assert ADMIN_PASSWORD.encode() not in raw


def test_sign_in_and_out_are_audited_under_the_admins_name(
    client: httpx.Client, web: WebServer
) -> None:
    token = signed_in(client)
    client.post("/logout", data={"csrf_token": token})
    out = web.home.cli("audit", "--json")
    import json

    entries = json.loads(out)
    actions = [(e["who"], e["action"], e["target"]) for e in entries]
    assert (f"web:{ADMIN}", "admin.login", ADMIN) in actions
    assert (f"web:{ADMIN}", "admin.logout", ADMIN) in actions


@pytest.mark.parametrize("path", ["/login", "/settings/sync", "/static/app.js"])
def test_every_answer_carries_the_security_headers(client: httpx.Client, path: str) -> None:
    if path != "/login":  # signed in, /login sends you on to the Sync tab
        signed_in(client)
    answer = client.get(path)
    assert answer.status_code == 200
    csp = answer.headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["script-src"] == "'self'"
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert directives["frame-ancestors"] == "'none'"
    assert directives["default-src"] == "'none'"
    assert answer.headers["x-frame-options"] == "DENY"
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["referrer-policy"] == "same-origin"
    if not path.startswith("/static/"):
        assert answer.headers["cache-control"] == "no-store"


def test_a_foreign_host_name_is_refused(web: WebServer) -> None:
    """DNS rebinding: a page of evil.example re-pointed at 127.0.0.1 gets nothing."""
    answer = httpx.get(web.url + "/login", headers={"Host": "evil.example"})
    assert answer.status_code == 400
    assert httpx.get(web.url.replace("127.0.0.1", "localhost") + "/login").status_code == 200


def test_the_rate_limit_stops_guessing_with_a_clear_message(tmp_path: Path) -> None:
    home = WebHome(tmp_path / "home")
    home.add_admin()
    home.add_admin("other", "another good password")
    server = start_web_server(home)
    try:
        with httpx.Client(base_url=server.url) as client:
            for _ in range(5):
                assert sign_in(client, ADMIN, "wrong password!").status_code == 401
            # Locked: even the right password is refused now, with a message saying why.
            locked = sign_in(client, ADMIN, ADMIN_PASSWORD)
            assert locked.status_code == 429
            assert "Too many failed sign-ins for this name or from this address" in locked.text
            assert "Wait 15 minutes" in locked.text
            # Another name from the same address still signs in (the address limit is higher).
            assert sign_in(client, "other", "another good password").status_code == 303
            client.cookies.clear()
            # ...until the address limit is reached too.
            for i in range(15):
                assert sign_in(client, f"guess-{i}", "wrong password!").status_code == 401
            assert sign_in(client, "other", "another good password").status_code == 429
    finally:
        stop_process(server.process)


def test_tls_gives_a_secure_host_prefixed_cookie(tmp_path: Path) -> None:
    cert, key = self_signed_cert(tmp_path)
    home = WebHome(tmp_path / "home")
    home.add_admin()
    server = start_web_server(home, "--cert", str(cert), "--key", str(key))
    try:
        assert server.url.startswith("https://")
        trust = ssl.create_default_context(cafile=str(cert))
        with httpx.Client(base_url=server.url, verify=trust) as client:
            answer = sign_in(client)
            assert answer.status_code == 303, answer.text
            cookie = next(
                v
                for k, v in answer.headers.multi_items()
                if k == "set-cookie" and "erpsync_session" in v
            )
            assert cookie.startswith("__Host-erpsync_session=")
            assert "secure" in [p.strip().lower() for p in cookie.split(";")]
            page = client.get("/settings/sync")
            assert page.status_code == 200
            assert page.headers["strict-transport-security"].startswith("max-age=")
    finally:
        stop_process(server.process)


@pytest.mark.slow
def test_web_demo_serves_the_mock_with_demo_data_and_cleans_up(tmp_path: Path) -> None:
    """`make web` = `erpsync web --demo`: mock server, connector, connections, admin 'admin'."""
    import os
    import queue
    import subprocess
    import sys
    import threading

    from helpers.mock_server import env_without_erpsync

    password = "demo password from env"
    env = {
        **env_without_erpsync(),
        "ERPSYNC_WEB_DEMO_PASSWORD": password,
        "TMPDIR": str(tmp_path),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "host.cli", "web", "--demo", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    lines: queue.Queue[str] = queue.Queue()
    assert process.stdout is not None
    stdout = process.stdout
    threading.Thread(target=lambda: [lines.put(line) for line in stdout], daemon=True).start()
    homes: list[Path] = []
    try:
        seen: list[str] = []
        while not (seen and seen[-1].startswith("serving the web admin at ")):
            seen.append(lines.get(timeout=120))
        homes = list(tmp_path.glob("erpsync-web-demo-*"))
        assert len(homes) == 1 and homes[0].is_dir()
        assert password not in "".join(seen)  # from the environment: not printed
        url = seen[-1].split(" at ", 1)[1].strip().rstrip("/")
        with httpx.Client(base_url=url) as client:
            assert sign_in(client, "admin", password).status_code == 303
            page = client.get("/settings/sync").text
        assert "mock-erp" in page and "acme-sales" in page
        assert "Specific users + groups: group sales" in page
        assert os.path.isdir(homes[0])
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert not homes[0].exists()  # the throw-away home is gone, the mock server stopped
