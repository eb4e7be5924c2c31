"""Start a real `erpsync web` (uvicorn) on a free loopback port in a throw-away home, run the
CLI against that home, and sign in over HTTP."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from cryptography.fernet import Fernet
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
            raise AssertionError(f"erpsync {' '.join(args)} exited {done.returncode}: {done.stderr}")
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
