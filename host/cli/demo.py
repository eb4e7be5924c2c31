"""`erpsync demo`: the whole admin flow against the bundled mock ERP, for newcomers.

It runs the real commands in a throw-away home (also their working directory), against a
real mock connector server on a free loopback port, and prints each command before its output.
Passwords come from files there, as docs/security.md advises: never on a command line.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import click

from host.cli.errors import CliError

WRONG_PASSWORD = "not-the-password"


def _start_mock_server(env: dict[str, str], token_file: Path) -> tuple[subprocess.Popen[str], str]:
    command = [
        sys.executable,
        "-m",
        "host.cli",
        "mock-server",
        "--port",
        "0",
        "--token-file",
        str(token_file),
    ]
    server = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert server.stdout is not None
    line = server.stdout.readline().strip()
    if not line.startswith("serving connector"):
        server.kill()
        _, err = server.communicate(timeout=10)
        raise CliError(f"the mock server did not start: {err.strip().splitlines()[-1:] or line}")
    return server, line.rsplit(" ", 1)[-1]


def demo_login() -> dict[str, Any]:
    """The mock ERP's demo login, as the app declares it (read through its entry point)."""
    from host.apps import mock_demo_login

    return mock_demo_login()


def login_options(login: dict[str, Any], *leave_out: str) -> list[str]:
    """`--config KEY=VALUE` options of a login, in its order, without the keys left out."""
    return [
        part
        for key, value in login.items()
        if key not in leave_out
        for part in ("--config", f"{key}={value}")
    ]


def _shown(args: list[str]) -> str:
    return "$ erpsync " + " ".join(shlex.quote(a) for a in args)


def _secret_file(home: Path, name: str, value: str) -> str:
    """A file only its owner can read, holding one secret: what `--config KEY=@FILE` reads."""
    path = home / name
    path.touch(mode=0o600)
    path.write_text(value + "\n", encoding="utf-8")
    return name


def _run(args: list[str], env: dict[str, str], expect: int = 0) -> None:
    click.secho(_shown(args), bold=True)
    done = subprocess.run(
        [sys.executable, "-m", "host.cli", *args],
        env=env,
        cwd=env["ERPSYNC_HOME"],
        capture_output=True,
        text=True,
    )
    if done.stdout:
        click.echo(done.stdout.rstrip())
    if done.stderr:
        click.echo(done.stderr.rstrip())
    if done.returncode != expect:
        raise CliError(
            f"demo step failed: '{' '.join(args[:2])}' exited {done.returncode}, expected {expect}"
        )
    click.echo()


@click.command()
@click.option("--keep", is_flag=True, help="Keep the demo's home directory and print its path.")
def demo(keep: bool) -> None:
    """Run the whole flow against the bundled mock ERP in a throw-away home.

    Lists the apps, starts the mock connector server on a free loopback port, registers it,
    shows a connection with a wrong password being refused and nothing saved, adds, tests and
    enables customer sync and activates the right one, shows it with the actor types it cached,
    lists everything, imports the customers into the CRM store, shows one synced record, and
    stops the server.

    \b
    Example:
        erpsync demo
    """
    home = Path(tempfile.mkdtemp(prefix="erpsync-demo-"))
    env = {k: v for k, v in os.environ.items() if k not in ("ERPSYNC_DB", "ERPSYNC_SECRET_KEY")}
    env["ERPSYNC_HOME"] = str(home)
    token_file = home / "mock-server.token"
    server: subprocess.Popen[str] | None = None
    started = time.monotonic()
    try:
        _run(["apps", "list"], env)
        server, url = _start_mock_server(env, token_file)
        click.echo(f"# mock ERP connector server started at {url}\n")
        _run(["connectors", "add", "mock-erp", url, "--token-file", token_file.name], env)
        login = demo_login()
        base = ["--connector", "mock-erp", *login_options(login, "password")]
        wrong = _secret_file(home, "wrong-password.txt", WRONG_PASSWORD)
        right = _secret_file(home, "erp-password.txt", login["password"])
        click.echo(
            f"# passwords come from files ({wrong}, {right}: --config password=@FILE), "
            "not the command line,\n# which every local user can see"
        )
        click.echo("# a wrong password: the connector's test fails and nothing is saved")
        _run(
            [
                "connections",
                "add",
                "acme-wrong",
                *base,
                "--config",
                f"password=@{wrong}",
                "--no-input",
            ],
            env,
            expect=3,
        )
        _run(
            [
                "connections",
                "add",
                "acme",
                *base,
                "--config",
                f"password=@{right}",
                "--description",
                "Demo connection to the mock ERP",
                "--no-input",
            ],
            env,
        )
        _run(["connections", "test", "acme"], env)
        click.echo("# sync settings first: customers sync to CRM companies (fields mapped by name)")
        _run(["mapping", "enable", "acme", "customer"], env)
        _run(["connections", "activate", "acme"], env)
        _run(["connections", "show", "acme"], env)
        _run(["connectors", "list"], env)
        _run(["connections", "list"], env)
        click.echo("# import the ERP's customers into the CRM, then one synced record")
        _run(["import", "run", "acme", "customer", "--all"], env)
        _run(["crm", "list", "company", "--limit", "5"], env)
        _run(["crm", "show", "company", "1", "--erp-tab"], env)
        _run(["sync", "status"], env)
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
        if keep:
            click.echo(f"# demo home kept at {home}")
        else:
            shutil.rmtree(home, ignore_errors=True)
    click.echo(f"# demo finished in {time.monotonic() - started:.1f}s: mock server stopped")
