"""Start a real `erpsync web` (uvicorn) on a free loopback port in a throw-away home, run the
CLI against that home, and sign in over HTTP."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from cryptography.fernet import Fernet

from helpers import MOCK_PASSWORD
from helpers.mock_server import _first_line, env_without_erpsync, stop_process

SERVING_PREFIX = "serving the web admin at "
ADMIN = "admin"
ADMIN_PASSWORD = "correct horse battery staple"


@dataclass
class WebHome:
    """An erpsync home for a web server and the CLI commands that fill it."""

    path: Path
    secret_key: str = field(default_factory=lambda: Fernet.generate_key().decode())
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def env(self) -> dict[str, str]:
        return {
            **env_without_erpsync(),
            "ERPSYNC_HOME": str(self.path),
            "ERPSYNC_SECRET_KEY": self.secret_key,
            **self.extra_env,
        }

    def cli(self, *args: str, input: str | None = None, check: bool = True) -> str:
        """Run `erpsync ARGS` in a subprocess against this home; returns stdout."""
        done = subprocess.run(
            [sys.executable, "-m", "host.cli", *args],
            env=self.env,
            input=input,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if check and done.returncode != 0:
            raise AssertionError(
                f"erpsync {' '.join(args)} exited {done.returncode}: {done.stderr}"
            )
        return done.stdout

    def add_admin(self, name: str = ADMIN, password: str = ADMIN_PASSWORD) -> None:
        self.cli("admins", "add", name, "--password-file", "-", input=password + "\n")


@dataclass
class WebServer:
    url: str  # http://127.0.0.1:PORT (no trailing slash)
    process: subprocess.Popen[str]
    home: WebHome
    stderr_path: Path

    def stderr(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")


def start_web_server(home: WebHome, *extra: str, scheme: str = "http") -> WebServer:
    """`erpsync web --port 0 ...` in `home`; waits until the sign-in page answers."""
    home.path.mkdir(parents=True, exist_ok=True)
    stderr_path = home.path.parent / f"{home.path.name}-web.stderr"
    with stderr_path.open("w") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "host.cli", "web", "--port", "0", *extra],
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            env=home.env,
        )
    assert process.stdout is not None
    line = _first_line(process.stdout, timeout=60).strip()
    if not line.startswith(SERVING_PREFIX):
        stop_process(process)
        raise RuntimeError(f"web admin did not start: {line!r}, {stderr_path.read_text()!r}")
    url = line[len(SERVING_PREFIX) :].rstrip("/")
    server = WebServer(url, process, home, stderr_path)
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(url + "/login", verify=False, timeout=2)
            return server
        except httpx.TransportError:
            if time.monotonic() > deadline:
                stop_process(process)
                raise
            time.sleep(0.05)


def login_token(client: httpx.Client) -> str:
    """GET /login and return the form's CSRF token (its cookie lands in the client)."""
    page = client.get("/login")
    assert page.status_code == 200, page.text
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, page.text
    return found.group(1)


def sign_in(
    client: httpx.Client, name: str = ADMIN, password: str = ADMIN_PASSWORD
) -> httpx.Response:
    """POST the sign-in form as a browser would (Origin header included)."""
    token = login_token(client)
    return client.post(
        "/login",
        data={"name": name, "password": password, "csrf_token": token},
        headers={"Origin": str(client.base_url).rstrip("/")},
    )


def page_csrf(html: str) -> str:
    found = re.search(r'<meta name="csrf-token" content="([^"]+)"', html)
    assert found, html[:500]
    return found.group(1)


# --- browser ------------------------------------------------------------------------------

CHROMIUM_CANDIDATES = ("/usr/lib/chromium/chromium", "/usr/bin/chromium")
"""Debian's chromium package: the real binary first (the wrapper script prints a warning)."""
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def find_chromium() -> str | None:
    """Debian's Chromium, or $ERPSYNC_CHROMIUM; never a browser Playwright downloads."""
    import os
    import shutil

    explicit = os.environ.get("ERPSYNC_CHROMIUM")
    if explicit:
        return explicit
    for candidate in CHROMIUM_CANDIDATES:
        if Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return shutil.which("chromium")


# --- demo data ----------------------------------------------------------------------------

MARKUP = "<img src=x onerror=alert(1)>"
"""A name and description an attacker would like rendered as HTML."""

XSS_APP = """
from host import ConfigField, Connector, FieldType, Response, hookimpl


class MarkupConnector(Connector):
    id = "markup"
    name = "Markup <b>ERP</b>"
    vendor = "<script>alert(3)</script>"
    version = "1.0.0"
    description = "<img src=x onerror=alert(1)>"
    config_fields = [ConfigField("path", "Path", FieldType.TEXT)]

    def test_config(self, config):
        return Response.success("fine")


@hookimpl
def register_connectors(register):
    register(MarkupConnector())
"""

BROKEN_APP = """
from host import hookimpl


@hookimpl
def register_connectors(register):
    raise RuntimeError("<script>alert(2)</script> is not a connector")
"""


def write_app(root: Path, name: str, source: str, version: str = "1.0.0") -> Path:
    """A fake installed app (module + .dist-info with its entry point) in its own folder."""
    module = "erpsync_webtest_" + name
    folder = root / name
    folder.mkdir(parents=True)
    (folder / f"{module}.py").write_text(source, encoding="utf-8")
    dist_info = folder / f"erpsync_webtest_{name}-{version}.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: erpsync-webtest-{name}\nVersion: {version}\n",
        encoding="utf-8",
    )
    (dist_info / "entry_points.txt").write_text(
        f"[erpsync.apps]\n{name} = {module}\n", encoding="utf-8"
    )
    return folder


@dataclass
class DemoData:
    connector: str
    connection: str
    restricted: str
    markup_connector: str
    mock_token: str
    connection_password: str


def fill_demo_data(
    home: WebHome, mock_url: str, mock_token_file: Path, connection_password: str
) -> DemoData:
    """A connector to the real mock server, two connections, and a connector whose name and
    description hold markup (served by a fake installed app); made with the CLI."""
    import os

    apps = home.path.parent / f"{home.path.name}-apps"
    paths = [str(write_app(apps, "markup", XSS_APP)), str(write_app(apps, "broken", BROKEN_APP))]
    home.extra_env["PYTHONPATH"] = os.pathsep.join(
        [*paths, *filter(None, [os.environ.get("PYTHONPATH")])]
    )
    home.cli("connectors", "add", "mock-erp", mock_url, "--token-file", str(mock_token_file))
    config = [
        *("--config", "server=erp.mock.local", "--config", "username=demo"),
        *("--config", f"password={connection_password}", "--no-input"),
    ]
    home.cli(
        *("connections", "add", "acme", "--connector", "mock-erp", "--config", "company=1"),
        *(*config, "--description", "Demo connection"),
    )
    home.cli("mapping", "enable", "acme", "customer")
    home.cli("connections", "activate", "acme")
    home.cli("users", "add", "alice")
    home.cli("groups", "add", "sales")
    home.cli(
        *("connections", "add", "acme-sales", "--connector", "mock-erp", "--config", "company=2"),
        *(*config, "--group", "sales", "--user", "alice"),
    )
    home.cli("connectors", "add", MARKUP, "app:markup")
    token = mock_token_file.read_text(encoding="utf-8").strip()
    return DemoData("mock-erp", "acme", "acme-sales", MARKUP, token, connection_password)


def take_screenshots(page: Any, url: str, name: str, password: str, out_dir: Path) -> list[Path]:
    """Sign in with `page` (a Playwright page), open the Sync tab, wait for every connector's
    status, and write docs-ready PNGs to `out_dir`; returns the files written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    page.goto(url + "/login")
    page.get_by_label("Admin name").fill(name)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(url + "/settings/sync")
    page.locator("#connectors tr.status-pending").first.wait_for(state="detached")
    target = out_dir / "sync-tab.png"
    page.screenshot(path=str(target), full_page=True)
    # The dialog, after a passing test: OK enabled, a user and a group in the scope.
    page.goto(url + "/settings/sync/connections/new?connector=mock-erp")
    page.get_by_role("textbox", name="Name", exact=True).fill("acme-support")
    page.get_by_label("Specific users + groups").check()
    page.get_by_role("button", name="Choose users and groups…").click()
    page.get_by_label("alice", exact=True).check()
    page.get_by_label(re.compile(r"^sales")).check()
    page.get_by_role("button", name="Done").click()
    page.get_by_label("Username").fill("demo")
    page.get_by_label("Password").fill(MOCK_PASSWORD)
    page.get_by_label("Description").fill("Support team's view of Acme")
    page.get_by_role("button", name="Test ERP connection").click()
    page.locator('#test-outcome[data-passed="true"]').wait_for()
    page.get_by_role("button", name="OK", exact=True).wait_for()
    dialog = out_dir / "connection-dialog.png"
    page.screenshot(path=str(dialog), full_page=True)
    return [target, dialog]


def take_sync_settings_screenshot(page: Any, url: str, out_dir: Path) -> Path:
    """With `page` signed in: the demo connection's Sync settings after one *Run now*, its
    top (activation, status with the run, the start of the customer mapping) as a PNG."""
    page.goto(url + "/settings/sync/settings?name=acme")
    page.get_by_role("button", name="Run now").click()
    page.locator("#settings-outcome.notice").wait_for()
    target = out_dir / "sync-settings.png"
    page.screenshot(
        path=str(target), full_page=True, clip={"x": 0, "y": 0, "width": 1280, "height": 1400}
    )
    return target
