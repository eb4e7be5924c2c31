"""The web admin's files: the vendored htmx is the recorded one, templates carry no inline
script or style, and the text helpers and the rate limit behave (no server needed)."""

from __future__ import annotations

import asyncio
import hashlib
import re
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
from fastapi import Request  # module level: the route below is annotated with it

if TYPE_CHECKING:
    from host.protocol.scrub import Scrubber

WEB = Path(__file__).resolve().parents[1] / "host" / "web"
STATIC = WEB / "static"
TEMPLATES = WEB / "templates"


def vendored_records() -> list[tuple[str, str, str]]:
    """(file, version, sha256) rows of static/VENDORED.md's table."""
    rows = []
    for line in (STATIC / "VENDORED.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 5 and re.fullmatch(r"[0-9a-f]{64}", cells[3]):
            rows.append((cells[0], cells[2], cells[3]))
    return rows


def test_every_vendored_file_matches_its_recorded_sha256() -> None:
    records = vendored_records()
    assert [r[0] for r in records] == ["htmx.min.js"]
    for name, _, digest in records:
        assert hashlib.sha256((STATIC / name).read_bytes()).hexdigest() == digest, name


def test_htmx_is_a_2x_release_and_the_file_says_so() -> None:
    ((_, version, _),) = vendored_records()
    assert version.startswith("2.")
    assert f'version:"{version}"' in (STATIC / "htmx.min.js").read_text(encoding="utf-8")


def test_the_base_template_loads_only_static_scripts_and_disables_htmx_eval() -> None:
    base = (TEMPLATES / "base.html").read_text(encoding="utf-8")
    assert re.findall(r'<script src="([^"]+)"', base) == ["/static/htmx.min.js", "/static/app.js"]
    assert '"allowEval": false' in base
    assert '"includeIndicatorStyles": false' in base
    assert "//" not in "".join(re.findall(r'(?:src|href)="([^"]+)"', base))  # no CDN


@pytest.mark.parametrize("template", sorted(p.name for p in TEMPLATES.glob("*.html")))
def test_no_template_has_inline_script_handlers_or_styles(template: str) -> None:
    text = (TEMPLATES / template).read_text(encoding="utf-8")
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), "inline <script>"
    assert not re.search(r"\son[a-z]+\s*=", text), "inline event handler"
    assert not re.search(r"\sstyle\s*=|<style", text), "inline style"
    assert "|safe" not in text and "autoescape false" not in text


@pytest.mark.parametrize("template", sorted(p.name for p in TEMPLATES.glob("*.html")))
def test_every_input_has_a_label(template: str) -> None:
    text = (TEMPLATES / template).read_text(encoding="utf-8")
    labelled = set(re.findall(r'<label for="([^"]+)"', text))
    for tag in re.findall(r"<input\b[^>]*>", text, flags=re.S):
        if 'type="hidden"' in tag:
            continue
        found = re.search(r'\sid="([^"]+)"', tag)
        assert found and found.group(1) in labelled, tag


def test_templates_autoescape_everything() -> None:
    from host.web.app import make_environment

    env = make_environment()
    rendered = env.from_string("{{ v }} {{ v|shown(100) }}").render(v="<b>&")
    assert rendered == "&lt;b&gt;&amp; &lt;b&gt;&amp;"
    joined = env.from_string("{{ v|join(', ')|shown(100) }}").render(v=["<i>", "x"])
    assert joined == "&lt;i&gt;, x"  # escaped once, not twice


def test_the_web_shows_text_as_the_cli_prints_it() -> None:
    """One implementation (host.text) behind the `shown` filter and the CLI's `safe`."""
    from host.cli.errors import printable, safe
    from host.text import printable as shared_printable
    from host.text import safe as shared_safe
    from host.web.app import make_environment

    assert (safe, printable) == (shared_safe, shared_printable)
    assert make_environment().filters["shown"] is shared_safe
    assert shared_safe(None) == ""
    assert shared_safe("a\nb\x1b[2Jc") == "a\\nb\\x1b[2Jc"
    assert shared_safe("evil\u202eexe.txt") == "evil\\u202eexe.txt"
    assert shared_safe("x" * 10, 5) == "xxxxx…[+5 chars]"
    assert shared_safe("y" * 1000) == "y" * 200 + "…[+800 chars]"


def test_the_web_does_not_pull_in_the_cli_nor_the_cli_the_web() -> None:
    """host.text is neutral: importing it loads neither click nor jinja2."""
    code = (
        "import sys, host.text; "
        "print(sorted(m for m in ('click', 'jinja2', 'fastapi') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_the_rate_limit_counts_per_name_and_per_address_and_forgets_in_time() -> None:
    from host.web.ratelimit import LoginRateLimiter

    clock = [0.0]
    limiter = LoginRateLimiter(
        per_name=3, per_address=5, window_seconds=100, clock=lambda: clock[0]
    )
    for _ in range(3):
        assert limiter.retry_after("Alice", "10.0.0.1") == 0
        limiter.failed("Alice", "10.0.0.1")
    assert limiter.retry_after("alice", "10.0.0.2") == 100  # names compare case-blind
    assert limiter.retry_after("bob", "10.0.0.1") == 0
    limiter.failed("bob", "10.0.0.1")
    limiter.failed("carol", "10.0.0.1")
    assert limiter.retry_after("dave", "10.0.0.1") == 100  # the address is locked now
    clock[0] = 60
    assert limiter.retry_after("dave", "10.0.0.1") == 40
    clock[0] = 101
    assert limiter.retry_after("alice", "10.0.0.1") == 0
    limiter.failed("erin", "10.0.0.3")
    limiter.succeeded("erin")
    assert limiter.retry_after("erin", "10.0.0.3") == 0


def test_only_local_paths_are_followed_after_sign_in() -> None:
    from host.web.auth import local_path

    assert local_path("/settings/sync?x=1") == "/settings/sync?x=1"
    for bad in ("https://evil.example", "//evil.example", "/\\evil", "evil", "", "/a\r\nb"):
        assert local_path(bad) == "/settings/sync", bad


def test_a_change_made_by_a_route_is_audited_under_the_signed_in_admin(
    erpsync_home: Path,
) -> None:
    """The session guard sets the audit's *who* for the whole request, worker threads included
    (sync routes run in a thread pool): the dialogs' routes will need nothing more."""
    from host.registry import Registry
    from host.registry.admins import AdminStore
    from host.web import WebSettings, create_app

    db = erpsync_home / "registry.db"
    store = AdminStore(Registry.open(db))
    store.add("alice", "a long enough password")
    session_id = store.start_session("alice", "test")
    app = create_app(WebSettings(db_path=db, allowed_hosts=["testserver"]))

    @app.post("/test-change")
    def change(request: Request) -> dict[str, str]:
        request.app.state.web.registry().add_user("zed")
        return {"ok": "yes"}

    async def visit() -> tuple[int, int]:
        transport = httpx.ASGITransport(app=app)
        cookies = {"erpsync_session": session_id}
        async with httpx.AsyncClient(
            transport=transport, base_url="http://testserver", cookies=cookies
        ) as client:
            refused = await client.post("/test-change")  # no CSRF token
            session = store.session(session_id)
            assert session is not None
            done = await client.post("/test-change", headers={"X-CSRF-Token": session.csrf_token})
            return refused.status_code, done.status_code

    assert asyncio.run(visit()) == (403, 200)
    entries = Registry.open(db).audit_log()
    assert (entries[0]["who"], entries[0]["action"], entries[0]["target"]) == (
        "web:alice",
        "user.add",
        "zed",
    )


def test_a_test_message_repeating_a_secret_is_not_shown(erpsync_home: Path) -> None:
    """A connector that echoes the password or the connector token into its test message:
    the Sync tab shows a generic line instead (whatever was stored)."""
    from host.apps import load_apps
    from host.protocol.scrub import WITHHELD
    from host.registry import Registry
    from host.web.sync import sync_tab_data

    registry = Registry.open(erpsync_home / "registry.db")
    registry.add_connector("c", "http://127.0.0.1:1/x", "the-connector-token")
    for name, message in [
        ("leaks-password", "Login failed for bob with password s3cr3t-pw"),
        ("leaks-token", "auth Bearer the-connector-token refused"),
        ("honest", "Connected as bob"),
    ]:
        registry.add_connection(
            guid=name,
            name=name,
            connector="c",
            config={"user": "bob", "password": "s3cr3t-pw"},
            secret_keys=["password"],
            test_state="failed",
            test_message=message,
        )
    registry.add_connection(
        guid="raw", name="raw", connector="c", config={"user": "bob", "password": "s3cr3t-pw"},
        secret_keys=["password"], test_state="failed", test_message="-",
    )  # fmt: skip
    # As an older registry (or another writer) may have left it: stored without scrubbing.
    with registry.db.conn:
        registry.db.execute(
            "update connections set last_test_message = ? where name = 'raw'",
            ["pw=S3CR3T-PW; token the-connector-token"],
        )
    cache: dict[tuple[str, str], Scrubber | None] = {}
    for _ in range(2):  # the second time from the cache of decrypted secrets
        rows = {r.name: r for r in sync_tab_data(registry, load_apps(), cache)["connections"]}
        # The registry stores a scrubbed message; the tab adds its own check behind it.
        for name in ("leaks-password", "leaks-token", "raw"):
            shown = rows[name].last_test_message
            assert "s3cr3t-pw" not in shown.lower() and "the-connector-token" not in shown
            assert "****" in shown or WITHHELD in shown
        assert rows["raw"].last_test_message == "pw=****; token ****"
        assert rows["honest"].last_test_message == "Connected as bob"
    assert len(cache) == 4
