"""`erpsync apps disable|enable|install|uninstall` and the persisted app state (apps.json)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import Result
from helpers.apps import AppFactory, good_app_source, write_app_project
from helpers.cli import assert_one_line_error

from host import appstate
from host.apps import AppStatus, load_apps

Invoke = Callable[..., Result]


def ok(result: Result) -> Result:
    assert result.exit_code == 0, (result.exit_code, result.stdout, result.stderr)
    return result


def apps_by_name(invoke: Invoke) -> dict[str, dict[str, object]]:
    return {row["name"]: row for row in json.loads(ok(invoke("apps", "list", "--json")).stdout)}


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "home"
    monkeypatch.setenv("ERPSYNC_HOME", str(path))
    return path


# --- apps.json -------------------------------------------------------------------------------


def test_missing_or_unreadable_state_means_nothing_disabled(home: Path) -> None:
    assert appstate.disabled_apps() == set()
    home.mkdir()
    for text in ("{not json", "[1, 2]", '{"disabled": "mock"}', "\xff\xfe"):
        (home / "apps.json").write_text(text, encoding="latin-1")
        assert appstate.disabled_apps() == set()
    (home / "apps.json").write_text('{"disabled": ["a", 3, "b"]}')
    assert appstate.disabled_apps() == {"a", "b"}


def test_set_disabled_writes_atomically_and_keeps_other_keys(home: Path) -> None:
    home.mkdir()
    (home / "apps.json").write_text('{"disabled": ["old"], "note": "kept"}')
    assert appstate.set_disabled("mock", True) is True
    assert appstate.set_disabled("mock", True) is False
    assert json.loads((home / "apps.json").read_text()) == {
        "disabled": ["mock", "old"],
        "note": "kept",
    }
    assert appstate.set_disabled("old", False) is True
    assert appstate.set_disabled("old", False) is False
    assert appstate.disabled_apps() == {"mock"}
    assert sorted(p.name for p in home.iterdir()) == ["apps.json", "apps.json.lock"]


def test_set_disabled_creates_the_home(home: Path) -> None:
    assert appstate.set_disabled("mock", True) is True
    assert json.loads((home / "apps.json").read_text()) == {"disabled": ["mock"]}


def test_appstate_does_not_import_heavy_modules() -> None:
    code = (
        "import sys, host.appstate, host.apps; host.apps.load_apps(allowed=set()); "
        "print(sorted(m for m in ('sqlite_utils', 'fastapi', 'httpx', 'uvicorn') "
        "if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


# --- disable / enable ------------------------------------------------------------------------


def test_disable_and_enable_the_bundled_app(invoke: Invoke, home: Path) -> None:
    from host.admin.clients import make_client
    from host.admin.errors import NotFound

    assert (
        ok(invoke("apps", "disable", "mock")).stdout
        == "Disabled app 'mock': its connectors are no longer loaded\n"
    )
    assert json.loads((home / "apps.json").read_text()) == {"disabled": ["mock"]}
    mock = apps_by_name(invoke)["mock"]
    assert (mock["status"], mock["connectors"], mock["error"]) == ("disabled", [], "")
    table = ok(invoke("apps", "list")).stdout
    assert any(line.split()[:1] == ["mock"] and "disabled" in line for line in table.splitlines())

    loaded = load_apps()
    assert "mock" not in loaded.connectors  # so `erpsync serve` does not serve it
    with pytest.raises(NotFound, match="no installed app provides connector 'mock'"):
        make_client("app:mock", token=None)
    assert "mock" in load_apps(disabled=()).connectors  # an explicit set overrides the file

    assert ok(invoke("apps", "disable", "mock")).stdout == "App 'mock' was already disabled\n"
    assert ok(invoke("apps", "enable", "mock")).stdout == "Enabled app 'mock'\n"
    assert apps_by_name(invoke)["mock"]["status"] == "loaded"
    assert "mock" in load_apps().connectors
    assert ok(invoke("apps", "enable", "mock")).stdout == "App 'mock' was not disabled\n"
    assert json.loads((home / "apps.json").read_text()) == {"disabled": []}


def test_a_disabled_app_is_never_imported(invoke: Invoke, home: Path, make_app: AppFactory) -> None:
    app = make_app("acme", good_app_source("acme"))
    ok(invoke("apps", "disable", "acme"))
    assert app.module not in sys.modules
    record = load_apps().app("acme")
    assert record is not None and record.status == AppStatus.DISABLED
    assert app.module not in sys.modules
    ok(invoke("apps", "enable", "acme"))
    assert apps_by_name(invoke)["acme"]["connectors"] == ["acme"]


def test_disable_unknown_app_names_the_installed_ones(invoke: Invoke, home: Path) -> None:
    message = assert_one_line_error(invoke("apps", "disable", "nope"), 1)
    assert message.startswith("Error: no installed app named 'nope' (installed: ")
    assert "mock" in message
    assert_one_line_error(invoke("apps", "enable", "nope"), 1)
    assert not (home / "apps.json").exists()


def test_an_uninstalled_app_left_disabled_can_be_enabled(invoke: Invoke, home: Path) -> None:
    appstate.set_disabled("gone", True)
    assert ok(invoke("apps", "enable", "gone")).stdout == "Enabled app 'gone'\n"
    assert appstate.disabled_apps() == set()


def test_an_unwritable_home_is_a_one_line_error(
    invoke: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("ERPSYNC_HOME", str(blocker / "home"))
    message = assert_one_line_error(invoke("apps", "disable", "mock"), 1)
    assert message.startswith("Error: cannot write the app state")


# --- install / uninstall ---------------------------------------------------------------------

OFFLINE = ["--pip-arg=--no-index", "--pip-arg=--no-build-isolation", "--pip-arg=--no-deps"]
DIST = "erpsync-piptest-app"
MODULE = "erpsync_piptest_app"


@pytest.fixture
def offline_pip(monkeypatch: pytest.MonkeyPatch) -> None:
    """pip never reaches the network, whatever the developer's pip config says."""
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_DISABLE_PIP_VERSION_CHECK", "1")
    monkeypatch.setenv("PIP_NO_INPUT", "1")
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)


@pytest.fixture
def own_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """`apps install` pips into sys.executable's environment: here a throw-away venv that sees
    this one's packages (pip, hatchling, the host) through a .pth, and whose site-packages this
    process sees too. Installing into the shared .venv would show the app to every test running
    meanwhile (pytest -n 2)."""
    import sysconfig

    fresh = tmp_path / "own-venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(fresh)], check=True)
    python = fresh / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    ours = sysconfig.get_paths()["purelib"]
    (Path(site) / "zz_erpsync_parent_venv.pth").write_text(
        f"import site; site.addsitedir({ours!r})\n", encoding="utf-8"
    )
    monkeypatch.setattr(sys, "executable", str(python))
    monkeypatch.syspath_prepend(site)
    return Path(site)


@pytest.fixture
def sync_app_project(tmp_path: Path, own_environment: Path) -> Iterator[Path]:
    """A tiny sync app project (hatchling, entry point erpsync.apps); uninstalled afterwards."""
    project = write_app_project(
        tmp_path / "piptest-app",
        DIST,
        "0.3.0",
        "piptest",
        MODULE,
        textwrap.dedent(good_app_source("piptest")),
    )
    try:
        yield project
    finally:  # what pip installed goes with own_environment's venv
        sys.modules.pop(MODULE, None)


@pytest.mark.slow
def test_install_and_uninstall_a_real_package(
    invoke: Invoke, home: Path, offline_pip: None, sync_app_project: Path, own_environment: Path
) -> None:
    assert "piptest" not in apps_by_name(invoke)

    result = ok(invoke("apps", "install", *OFFLINE, "--json", str(sync_app_project)))
    assert f"Successfully installed {DIST}-0.3.0" in result.stderr  # pip's own output
    assert list(own_environment.glob("erpsync_piptest_app-0.3.0.dist-info")), "not in own venv"
    report = json.loads(result.stdout)
    assert report == {
        "added": [
            {
                "name": "piptest",
                "distribution": DIST,
                "version": "0.3.0",
                "module": MODULE,
                "status": "loaded",
                "error": "",
                "connectors": ["piptest"],
            }
        ],
        "removed": [],
        "changed": [],
        "upgrade_checks": [],
    }
    listed = apps_by_name(invoke)
    assert listed["piptest"]["status"] == "loaded"
    assert listed["piptest"]["distribution"] == DIST

    result = ok(invoke("apps", "uninstall", DIST))
    assert f"Successfully uninstalled {DIST}-0.3.0" in result.stderr
    assert result.stdout == f"Removed app piptest ({DIST} 0.3.0)\n"
    assert "piptest" not in apps_by_name(invoke)

    result = ok(invoke("apps", "uninstall", DIST))  # pip only warns: nothing to remove
    assert result.stdout == "No sync app appeared or disappeared (entry-point group erpsync.apps)\n"


def test_a_pip_failure_is_one_line_without_traceback(
    invoke: Invoke, home: Path, offline_pip: None
) -> None:
    result = invoke("apps", "install", "--pip-arg=--no-index", "erpsync-no-such-package-x9")
    assert result.exit_code == 1, (result.stdout, result.stderr)
    assert result.stderr.splitlines()[-1] == "Error: pip install failed (exit 1)"
    assert "No matching distribution" in result.stderr  # pip's output was streamed
    assert "Traceback" not in result.output
    assert result.stdout == ""


def test_uninstalling_the_host_is_refused(invoke: Invoke, home: Path) -> None:
    message = assert_one_line_error(invoke("apps", "uninstall", "erpsync_Host"), 1)
    assert message == "Error: refusing to uninstall 'erpsync_Host': it is the host, not an app"


def test_install_needs_a_package(invoke: Invoke) -> None:
    result = invoke("apps", "install")
    assert result.exit_code == 2
    assert "Missing argument 'PKG...'" in result.stderr


@pytest.mark.parametrize("command", ["disable", "enable", "install", "uninstall"])
def test_help_has_an_example(invoke: Invoke, command: str) -> None:
    text = ok(invoke("apps", command, "--help")).stdout
    assert "Example" in text and f"erpsync apps {command} " in text, text
