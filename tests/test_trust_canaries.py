"""Issue #10, all of it at once: canary secrets through the whole admin flow, then a search.

Distinct canaries are planted: a long password, the password an edit sets, a 1-character
password, a password that is a substring of the server name (issue item 5: ".local" in
"erp.mock.local"), the `erpsync serve` token and the token of a connector that is not ours.
The real `erpsync` CLI runs through the whole admin flow (in-process through click's CliRunner
for the repetitive per-connection steps; as real subprocesses where the process matters: the
first command on a fresh home, the connector that never answers, a password piped on stdin,
the lost key file) against

- a real `erpsync serve --log-level debug` subprocess serving a misbehaving app installed
  through a real entry point (`blabber`: repeats the password in every explanation and list
  text, and raises an exception holding it);
- the hostile connector of tests/helpers/hostile_connector.py (repeats the password and the
  Authorization header everywhere, sends ESC/OSC/BEL; nothing on its side scrubs);
- a connector that never answers, a URL with a newline, a token with a trailing space, and a
  lost key file;

and afterwards every stdout and stderr, every JSON document, every audit row, every file of the
home (registry.db, -wal and -shm copied while the test holds the database open, so they still
exist; crm.db and the rest), the connector host's log and the command lines and environments of
the connector host's processes (what `ps` shows) are searched for each canary, raw and as JSON
escapes, base64 and URL encoding would write it: 0 hits. A failure names where.

The canaries are chosen so that a hit means a leak: the 1-character password is a 4-byte
symbol (U+1D11E) that no output uses and that random bytes in the -wal (salts, checksums)
cannot spell by chance, as a 2-byte one such as "§" could; the substring password ".l¤cal"
is searched with the server name "erp.mock.l¤cal" (which may be shown) taken out first, and
"erp.mock****" — the hint the issue reported — counts as a hit. The search is not vacuous:
`test_the_search_finds_the_canaries_when_the_client_does_not_scrub` runs the same harness, both
its in-process and its subprocess runs, with the admin side's scrubbing switched off and asserts
that it finds each canary.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import traceback
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from helpers.apps import AppFactory
from helpers.faults import raw_server
from helpers.hostile_connector import HostileConnector, hostile_connector
from helpers.mock_server import env_without_erpsync, stop_process

from host.protocol import scrub
from host.protocol.scrub import MASK, WITHHELD

LONG = "Cnry-Pw/7f3a+9c1e@5b"
EDITED = "Edtd-Pw/4e2d+8a0b@6c"
ONE = "\U0001d11e"
SUB = ".l\u00a4cal"
SERVER = "erp.mock.l\u00a4cal"
SERVE_TOKEN = "canary-serve-tok-8d2f6a1b9e"
EVIL_TOKEN = "canary-evil-tok-3c7e0f5a2d"

CANARIES = {
    "long password": LONG,
    "edited password": EDITED,
    "1-character password": ONE,
    "substring-of-the-server password": SUB,
    "serve token": SERVE_TOKEN,
    "connector token": EVIL_TOKEN,
}
PASSWORDS = {"long": LONG, "one": ONE, "sub": SUB}

ERPSYNC = [sys.executable, "-m", "host.cli"]
UNSCRUBBED = [
    sys.executable,
    "-c",
    "import sys\n"
    "from host.protocol import scrub\n"
    "scrub.Scrubber._clean = lambda self, text, replacement: text\n"
    "from host.cli import cli\n"
    "sys.exit(cli(prog_name='erpsync'))\n",
]
"""`erpsync` with the admin side's scrubbing switched off: every Scrubber text is returned as it
came (explanations, labels, list names, stored test messages)."""

BLABBER_APP = """
    from erpsync_mock_erp.connector import MockErpConnector
    from host import Response, hookimpl


    class Blabber(MockErpConnector):
        \"\"\"The mock ERP, but it says the password back, and raises holding it.\"\"\"

        id = "blabber"
        name = "Blabber ERP"
        vendor = "Tests"

        def test_config(self, config):
            server, user = config.get("server"), config.get("username")
            password = config.get("password")
            if config.get("read_only"):
                raise RuntimeError(f"cannot log in to {server} with {password}")
            if user == "nobody":
                return Response.error(
                    f"Login to {server} failed for {user} with password {password}",
                    f"tried {password!r} on {server}",
                    "login_failed",
                )
            return Response.success(f"Connected to {server} as {user} with password {password}")

        def get_list(self, connection, list_name):
            items = dict(super().get_list(connection, list_name))
            if connection.config:
                items["9"] = f"Company of {connection.config.get('password')}"
            return items


    @hookimpl
    def register_connectors(register):
        register(Blabber())
"""


# --- the search ---------------------------------------------------------------------------------


def _base64_forms(secret: str) -> list[str]:
    """What base64 (standard and URL-safe) writes for `secret` at any of the 3 alignments."""
    raw, forms = secret.encode(), []
    for pad in range(3):
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            text = encode(b"\0" * pad + raw).decode()
            first, last = -(-8 * pad // 6), (8 * (pad + len(raw))) // 6
            forms.append(text[first:last])
    return forms


def forms_of(secret: str) -> dict[str, str]:
    """How a canary may be written: raw, JSON-escaped, repr-escaped; long ones also base64 and
    URL-encoded."""
    forms = {
        "raw": secret,
        "JSON-escaped": json.dumps(secret)[1:-1],
        "repr-escaped": repr(secret)[1:-1],
        "URL-encoded": urllib.parse.quote(secret, safe=""),
        "form-encoded": urllib.parse.quote_plus(secret),
    }
    if len(secret) >= 8:
        forms.update({f"base64 #{i}": form for i, form in enumerate(_base64_forms(secret))})
    if secret == SUB:
        forms["the hint 'erp.mock****'"] = SERVER.replace(SUB, MASK)
    distinct: dict[str, str] = {}
    for name, form in forms.items():
        if form not in distinct.values():
            distinct[name] = form
    return distinct


SHOWN_AS_IS = [SERVER, json.dumps(SERVER)[1:-1], repr(SERVER)[1:-1]]
"""The server name is not a secret: it is taken out before the substring canary is looked for."""


def hits(where: str, data: str | bytes) -> list[str]:
    """Every canary (in any of its forms) found in `data`, as 'NAME (FORM) in WHERE'."""
    found = []
    for name, secret in CANARIES.items():
        if isinstance(data, bytes):
            hay: str | bytes = data.lower()
            if secret == SUB:
                for shown in SHOWN_AS_IS:
                    hay = hay.replace(shown.lower().encode(), b"")  # type: ignore[arg-type]
        else:
            hay = data.casefold()
            if secret == SUB:
                for shown in SHOWN_AS_IS:
                    hay = hay.replace(shown.casefold(), "")  # type: ignore[arg-type]
        for form_name, form in forms_of(secret).items():
            needle: str | bytes = form.casefold()
            if isinstance(hay, bytes):
                needle = form.lower().encode()
            if needle in hay:  # type: ignore[operator]
                found.append(f"{name} ({form_name}) in {where}")
    return found


# --- the harness --------------------------------------------------------------------------------


@dataclass
class Ran:
    """What one `erpsync` run left: its exit code and its two output streams."""

    returncode: int
    stdout: str
    stderr: str


@dataclass
class Flow:
    """Runs `erpsync` and keeps every place a secret could land in.

    A step runs in-process through click's CliRunner (the same command objects, a fresh
    invocation, the environment below), or with `process=True` as a real subprocess.
    """

    env: dict[str, str]
    inputs: Path
    erpsync: list[str] = field(default_factory=lambda: list(ERPSYNC))
    places: list[tuple[str, str | bytes]] = field(default_factory=list)
    steps: int = 0
    processes: int = 0

    def __call__(
        self,
        *args: str,
        expect: int | tuple[int, ...] = 0,
        stdin: str | None = None,
        process: bool = False,
    ) -> Ran:
        self.steps += 1
        label = f"#{self.steps} erpsync {' '.join(args)}" + (" (a subprocess)" if process else "")
        done = self._subprocess(args, stdin) if process else self._in_process(label, args, stdin)
        self.places += [(f"stdout of {label}", done.stdout), (f"stderr of {label}", done.stderr)]
        codes = expect if isinstance(expect, tuple) else (expect,)
        assert done.returncode in codes, (label, done.returncode, done.stdout, done.stderr)
        assert "Traceback" not in done.stdout + done.stderr, (label, done.stderr)
        if "--json" in args and done.stdout.strip():
            document = json.loads(done.stdout)  # one JSON document, whatever the outcome
            self.places.append((f"JSON of {label}", json.dumps(document, ensure_ascii=False)))
        return done

    def _subprocess(self, args: tuple[str, ...], stdin: str | None) -> Ran:
        self.processes += 1
        done = subprocess.run(
            [*self.erpsync, *args],
            env=self.env,
            input=stdin if stdin is not None else "",
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=120,
            cwd=self.inputs,
        )
        return Ran(done.returncode, done.stdout, done.stderr)

    def _in_process(self, label: str, args: tuple[str, ...], stdin: str | None) -> Ran:
        from host.cli import cli

        # The erpsync settings of this flow, and no other (an ERPSYNC_* of the test process
        # is unset for the run, as env_without_erpsync leaves it out of the subprocesses).
        env: dict[str, str | None] = {k: v for k, v in self.env.items() if k.startswith("ERPSYNC_")}
        env.update({k: None for k in os.environ if k.startswith("ERPSYNC_") and k not in env})
        result = CliRunner().invoke(
            cli, list(args), input=stdin if stdin is not None else "", env=env, prog_name="erpsync"
        )
        # A subprocess would have printed a crash's traceback: here it must not have crashed.
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            trace = "".join(traceback.format_exception(result.exception))
            raise AssertionError(f"{label} crashed:\n{trace}")
        return Ran(result.exit_code, result.stdout, result.stderr)

    def file(self, name: str, content: str) -> str:
        """An input file (config, password, token) 0600 outside the searched home."""
        path = self.inputs / name
        path.write_text(content, encoding="utf-8")
        path.chmod(0o600)
        return str(path)

    def config_file(self, name: str, **values: object) -> str:
        return self.file(name, json.dumps(values))

    def keep_files(self, home: Path) -> None:
        """The bytes of every file in the home: registry.db, -wal, -shm, crm.db, the key ..."""
        for path in sorted(home.rglob("*")):
            if path.is_file():
                self.places.append((f"the file {path.relative_to(home)}", path.read_bytes()))

    def found(self) -> list[str]:
        return [hit for where, data in self.places for hit in hits(where, data)]


@pytest.fixture
def evil() -> Iterator[HostileConnector]:
    with hostile_connector() as server:
        yield server


def make_flow(tmp_path: Path, make_app: AppFactory) -> Flow:
    make_app("blabber", BLABBER_APP)
    home, inputs = tmp_path / "home", tmp_path / "inputs"
    inputs.mkdir()
    env = {**env_without_erpsync(), "ERPSYNC_HOME": str(home), "ERPSYNC_ADMIN": "canary-admin"}
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [make_app.pythonpath(), env.get("PYTHONPATH")])
    )
    env["PYTHONIOENCODING"] = "utf-8"
    return Flow(env=env, inputs=inputs)


@dataclass
class Serve:
    process: subprocess.Popen[bytes]
    urls: dict[str, str]
    log: list[Path]


def start_serve(flow: Flow, token_file: str) -> Serve:
    """`erpsync serve --port 0 --log-level debug`, its stdout and stderr in files."""
    out, err = flow.inputs.parent / "serve.out", flow.inputs.parent / "serve.err"
    env = {**flow.env, "ERPSYNC_HOME": str(flow.inputs.parent / "serve-home")}
    command = [*ERPSYNC, "serve", "--port", "0", "--log-level", "debug"]
    process = subprocess.Popen(
        [*command, "--token-file", token_file, "--app", "blabber", "--app", "mock"],
        stdout=out.open("wb"),
        stderr=err.open("wb"),
        env=env,
    )
    deadline = time.monotonic() + 60
    urls: dict[str, str] = {}
    while len(urls) < 2:
        for line in out.read_text(encoding="utf-8").splitlines():
            if line.startswith("serving connector "):
                cid, _, url = line.removeprefix("serving connector ").partition(" at ")
                urls[cid] = url
        assert process.poll() is None and time.monotonic() < deadline, err.read_text()
        time.sleep(0.05)
    while True:
        try:
            httpx.get(urls["blabber"].split("/connectors/")[0] + "/", timeout=2)
            break
        except httpx.TransportError:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    return Serve(process, urls, [out, err])


def descendants(pid: int) -> list[int]:
    """`pid` and every process below it, from the parent ids in /proc/*/stat."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:  # ended meanwhile
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo += [child for child, parent in parents.items() if parent == current]
    return found


def process_tree_places(pid: int) -> list[tuple[str, str | bytes]]:
    """What `ps` shows of a process and its descendants: command lines and environments."""
    places: list[tuple[str, str | bytes]] = []
    for current in descendants(pid):
        for name in ("cmdline", "environ"):
            try:
                data = Path(f"/proc/{current}/{name}").read_bytes()
            except OSError:  # ended meanwhile
                continue
            places.append((f"the {name} of process {current}", data))
    return places


# --- the test -----------------------------------------------------------------------------------


@pytest.mark.slow
def test_no_canary_secret_is_found_anywhere_after_the_whole_admin_flow(
    tmp_path: Path, make_app: AppFactory, evil: HostileConnector
) -> None:
    flow = make_flow(tmp_path, make_app)
    home = Path(flow.env["ERPSYNC_HOME"])
    serve_token_file = flow.file("serve.token", SERVE_TOKEN + "\n")
    evil_token_file = flow.file("evil.token", EVIL_TOKEN)
    edited = flow.file("edited.txt", EDITED)
    serve = start_serve(flow, serve_token_file)
    held: sqlite3.Connection | None = None
    try:
        # Connectors: tokens from files; a token with a space and a URL with a newline are
        # refused (items 3, 6); a connector that never answers ends within --timeout (16).
        flow(
            "connectors",
            "add",
            "blab",
            serve.urls["blabber"],
            "--token-file",
            serve_token_file,
            process=True,  # a fresh process creates the home, the key and the registry
        )
        held = sqlite3.connect(home / "registry.db")  # keeps -wal and -shm while CLIs close
        held.execute("select count(*) from sqlite_master").fetchall()
        flow("connectors", "add", "mock", serve.urls["mock"], "--token-file", serve_token_file)
        flow("connectors", "add", "evil", evil.url, "--token-file", evil_token_file, "--json")
        flow("connectors", "add", "bad", evil.url, "--token", SERVE_TOKEN + " ", expect=1)
        flow("connectors", "add", "bad", evil.url, "--token", f"{EVIL_TOKEN}\x1b[2J", expect=1)
        forged = "http://127.0.0.1:1/x\nFORGED: y"
        flow(
            "connectors",
            "add",
            "bad",
            forged,
            "--no-check",
            "--token-file",
            serve_token_file,
            expect=1,
        )
        with raw_server("hang") as silent:
            url = f"{silent.base}/connectors/mock"
            flow(
                "connectors",
                "add",
                "silent",
                url,
                "--token-file",
                serve_token_file,
                "--timeout",
                "1",
                expect=4,
                process=True,
            )
            flow("connectors", "add", "silent", url, "--no-check", "--token-file", serve_token_file)
            long_file = flow.config_file(
                "silent.json", server=SERVER, username="demo", password=LONG
            )
            flow(
                "connections",
                "add",
                "quiet",
                "--connector",
                "silent",
                "--config-file",
                long_file,
                "--no-input",
                "--timeout",
                "1",
                expect=4,
                process=True,
            )
            flow("connectors", "remove", "silent")

        # The bundled mock refuses each canary password; its message names the server (5).
        for key, password in PASSWORDS.items():
            config = flow.config_file(
                f"mock-{key}.json", server=SERVER, username="demo", password=password
            )
            flow(
                "connections",
                "add",
                f"mock-{key}",
                "--connector",
                "mock",
                "--config-file",
                config,
                "--no-input",
                "--json",
                expect=3,
            )

        # The served misbehaving app: a failing then a passing test per password, each given
        # another way (a config file, @FILE, stdin); then test, show, activate, edit (1, 2, 4).
        base = flow.config_file("base.json", server=SERVER, username="demo", company=1)
        for key, password in PASSWORDS.items():
            name = f"blab-{key}"
            full = flow.config_file(
                f"{name}.json", server=SERVER, username="demo", password=password, company=1
            )
            add = ["connections", "add", name, "--connector", "blab", "--no-input"]
            flow(*add, "--config-file", full, "--config", "username=nobody", expect=3)
            flow(*add, "--config-file", full, "--config", "username=nobody", "--json", expect=3)
            if key == "long":
                flow(*add, "--config-file", full, "--json")
            elif key == "one":
                at = flow.file("one.txt", password + "\n")
                flow(*add, "--config-file", base, "--config", f"password=@{at}")
            else:
                flow(
                    *add, "--config-file", base, "--config", "password=-", stdin=password,
                    process=True,  # a real pipe
                )  # fmt: skip
            flow("connections", "test", name)
            flow("connections", "test", name, "--json")
            flow("connections", "show", name)
            flow("connections", "show", name, "--json")
            flow("mapping", "enable", name, "customer")
            flow("connections", "activate", name, "--json")
            flow("connections", "deactivate", name)
            flow(
                "connections",
                "edit",
                name,
                "--config",
                f"password=@{edited}",
                "--no-input",
                "--json",
            )
            flow("connections", "test", name)
            # The app raises holding the (merged, stored) password: logged with its traceback.
            flow("connections", "edit", name, "--config", "read_only=true", "--no-input", expect=3)
            flow("connections", "activate", name)

        # The hostile connector: failing, then passing tests that repeat the password and the
        # Authorization value; the stored test message; escape codes in every text (1, 2, 10).
        for key, password in PASSWORDS.items():
            name = f"evil-{key}"
            config = flow.config_file(
                f"{name}.json", server=SERVER, username="bob", password=password, company="1"
            )
            add = ["connections", "add", name, "--connector", "evil", "--no-input"]
            evil.test_config_mode = "error"
            flow(*add, "--config-file", config, expect=3)
            flow(*add, "--config-file", config, "--json", expect=3)
            evil.test_config_mode = "warning"
            flow(*add, "--config-file", config, "--description", "hostile\x1b[2J")
            evil.test_connection_mode = "error"
            flow("connections", "test", name, expect=3)
            flow("connections", "show", name, "--json")
            evil.test_connection_mode = "ok"
            flow("connections", "test", name, "--json")
            flow("connections", "show", name)
            flow("connections", "edit", name, "--config", f"password=@{edited}", "--no-input")
        evil.test_config_mode = "error"

        # Everything at once, conformance runs, doctor, a lost key file (items 8, 9).
        flow("connections", "test", "--all", expect=(0, 3))
        flow("connections", "test", "--all", "--json", expect=(0, 3))
        flow("connections", "list")
        flow("connections", "list", "--json")
        flow("connectors", "list", "--json")
        flow("connectors", "show", "blab", "--check", "--json")
        flow("connectors", "show", "evil", "--check")
        long_config = flow.config_file(
            "check.json", server=SERVER, username="demo", password=LONG, company="1"
        )
        flow(
            "apps",
            "check",
            evil.url,
            "--token-file",
            evil_token_file,
            "--config-file",
            long_config,
            "--json",
            expect=(0, 3),
        )
        flow(
            "apps",
            "check",
            evil.url,
            "--token-file",
            evil_token_file,
            "--config-file",
            long_config,
            expect=(0, 3),
        )
        flow(
            "apps",
            "check",
            serve.urls["blabber"],
            "--token-file",
            serve_token_file,
            "--config-file",
            long_config,
            expect=(0, 3),
        )
        flow(
            "apps",
            "check",
            "blabber",
            "--config",
            f"password=@{edited}",
            "--config",
            f"server={SERVER}",
            "--config",
            "username=demo",
            "--json",
            expect=(0, 3),
        )
        flow("doctor", expect=(0, 1))
        flow("doctor", "--json", expect=(0, 1))
        key_file, away = home / "secret.key", tmp_path / "secret.key.away"
        shutil.move(key_file, away)
        flow("connections", "test", "blab-long", expect=1, process=True)
        flow("doctor", "--json", expect=1, process=True)
        shutil.move(away, key_file)
        flow("audit")
        flow("audit", "--json", "--limit", "1000")

        # And away with it all.
        for name in ("blab-long", "blab-one", "blab-sub"):
            flow("connections", "deactivate", name)
        for key in PASSWORDS:
            flow("connections", "remove", f"blab-{key}", "--yes")
            flow("connections", "remove", f"evil-{key}", "--yes")
        for name in ("blab", "mock", "evil"):
            flow("connectors", "remove", name)
        flow("audit", "--json", "--limit", "1000")

        # Every file of the home while the database is still open: -wal and -shm exist.
        names = {p.name for p in home.iterdir()}
        assert {"registry.db", "registry.db-wal", "registry.db-shm"} <= names, names
        assert (home / "registry.db-wal").stat().st_size > 0
        flow.keep_files(home)
        rows = held.execute("select * from audit").fetchall()
        assert len(rows) > 20, rows
        flow.places += [(f"audit row {row!r:.80}", repr(row)) for row in rows]
        flow.places += process_tree_places(serve.process.pid)
    finally:
        if held is not None:
            held.close()
        stop_process(serve.process)  # type: ignore[arg-type]
    for path in serve.log:
        flow.places.append((f"the connector host's log ({path.name})", path.read_bytes()))
    log = b"".join(p.read_bytes() for p in serve.log).decode()
    # The log is at debug level and holds what it should: requests, the app's traceback.
    assert "POST /connectors/blabber/v1/config/test" in log and "Traceback" in log, log[-2000:]
    assert "cannot log in to" in log, log[-2000:]

    found = flow.found()
    assert not found, "canary found:\n" + "\n".join(found)
    assert flow.steps > 100 and 0 < flow.processes < 10, (flow.steps, flow.processes)

    # The connectors did repeat the secrets: the outputs show them masked or withheld.
    shown = "".join(data for _where, data in flow.places if isinstance(data, str))
    assert f"Bearer {MASK}" in shown and f"password {MASK}" in shown and WITHHELD in shown
    assert f"with {MASK}" in log, log[-2000:]


@pytest.mark.slow
def test_the_search_finds_the_canaries_when_the_client_does_not_scrub(
    tmp_path: Path, make_app: AppFactory, evil: HostileConnector, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The harness above can fail: with the admin side's Scrubber switched off (in this process
    for the in-process runs, in theirs for the subprocesses), the hostile connector's failed
    tests put each canary where the search looks, run either way; a passing one stores the
    password in the registry file as the last test message; the search finds them."""
    flow = make_flow(tmp_path, make_app)
    flow.erpsync = list(UNSCRUBBED)
    monkeypatch.setattr(scrub.Scrubber, "_clean", lambda self, text, replacement: text)
    evil_token_file = flow.file("evil.token", EVIL_TOKEN)
    flow("connectors", "add", "evil", evil.url, "--token-file", evil_token_file, process=True)
    evil.test_config_mode = "error"
    for key, password in PASSWORDS.items():
        config = flow.config_file(
            f"evil-{key}.json", server=SERVER, username="bob", password=password
        )
        for process in (False, True):
            flow(
                "connections",
                "add",
                f"evil-{key}",
                "--connector",
                "evil",
                "--config-file",
                config,
                "--no-input",
                "--json",
                expect=3,
                process=process,
            )
    evil.test_config_mode = "ok"
    config = flow.config_file("pass.json", server=SERVER, username="bob", password=LONG)
    add = ["connections", "add", "evil-ok", "--connector", "evil", "--config-file", config]
    flow(*add, "--no-input")
    flow.keep_files(Path(flow.env["ERPSYNC_HOME"]))
    found = flow.found()
    assert any(hit.startswith("long password (raw) in the file registry.db") for hit in found)
    for name in (
        "long password",
        "1-character password",
        "substring-of-the-server password",
        "connector token",
    ):
        for by_subprocess in (False, True):
            assert any(
                hit.startswith(f"{name} (raw) in ")
                and "connections add" in hit
                and ("(a subprocess)" in hit) == by_subprocess
                for hit in found
            ), (name, by_subprocess, found)
    # ... and the hint the issue reported is found as such.
    assert hits("a message", f"Login to {SERVER.replace(SUB, MASK)} failed") == [
        "substring-of-the-server password (the hint 'erp.mock****') in a message"
    ]
    assert hits("a message", f"Connected to {SERVER}") == []
    assert hits("bytes", json.dumps({"pw": ONE}).encode()) == [
        "1-character password (JSON-escaped) in bytes"
    ]
    assert hits("a URL", "?p=" + urllib.parse.quote(LONG, safe="")) == [
        "long password (URL-encoded) in a URL"
    ]
    assert any(
        "base64" in hit
        for hit in hits("a header", base64.b64encode(b"user:" + SERVE_TOKEN.encode()).decode())
    )


def test_what_ps_shows_of_a_process_and_its_children_is_searched(tmp_path: Path) -> None:
    """The connector host's processes are searched as `ps e` would show them: a canary that only
    a child process holds, in its environment, is found."""
    script = (
        "import subprocess, sys\n"
        "subprocess.run(['sleep', '60'], env={'CANARY': sys.stdin.readline().strip()})\n"
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", script], stdin=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        assert parent.stdin is not None
        parent.stdin.write(EVIL_TOKEN + "\n")
        parent.stdin.close()
        deadline = time.monotonic() + 60
        while True:
            found = [
                h for where, data in process_tree_places(parent.pid) for h in hits(where, data)
            ]
            if found or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert len(found) == 1 and found[0].startswith("connector token (raw) in the environ of"), (
            found
        )
        assert f"process {parent.pid}" not in found[0]  # the child's, not the parent's
    finally:
        os.killpg(parent.pid, signal.SIGKILL)
        parent.wait(timeout=10)
