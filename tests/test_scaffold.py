"""`erpsync apps new`: the project it writes installs into a fresh venv and passes its own tests
there (unit tests, the erpsync fixtures and every conformance check), without network."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result
from helpers.cli import assert_one_line_error
from test_example_app_install import link_dependencies, run

from host.cli.errors import EXIT_ERROR
from host.conformance import CHECKS
from host.scaffold import TOKEN

ROOT = Path(__file__).resolve().parent.parent
Invoke = Callable[..., Result]

EXPECTED_FILES = [
    ".github/workflows/test.yml",
    ".gitignore",
    "README.md",
    "erpsync_acme/__init__.py",
    "erpsync_acme/connector.py",
    "erpsync_acme/erp.py",
    "pyproject.toml",
    "tests/test_conformance.py",
    "tests/test_connector.py",
]


def test_new_writes_the_project_with_every_name_filled_in(invoke: Invoke, tmp_path: Path) -> None:
    target = tmp_path / "acme"
    result = invoke(
        "apps", "new", "acme", "--directory", str(target), "--vendor", 'Acme "Nordic" AS', "--json"
    )
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert sorted(data["files"]) == EXPECTED_FILES
    assert (data["distribution"], data["package"], data["class_name"]) == (
        "erpsync-acme",
        "erpsync_acme",
        "AcmeConnector",
    )
    for name in EXPECTED_FILES:
        text = (target / name).read_text(encoding="utf-8")
        assert not TOKEN.search(text), f"{name} has an unfilled template token"
    pyproject = tomllib.loads((target / "pyproject.toml").read_text(encoding="utf-8"))
    project = pyproject["project"]
    assert project["name"] == "erpsync-acme"
    assert project["authors"] == [{"name": 'Acme "Nordic" AS'}]
    assert project["entry-points"]["erpsync.apps"] == {"acme": "erpsync_acme"}
    assert project["dependencies"] == ["erpsync-host>=0.1.0"]
    workflow = (target / ".github/workflows/test.yml").read_text(encoding="utf-8")
    assert "${{ matrix.python-version }}" in workflow
    assert "erpsync apps check acme" in workflow
    connector = (target / "erpsync_acme/connector.py").read_text(encoding="utf-8")
    assert 'vendor = "Acme \\"Nordic\\" AS"' in connector
    compile(connector, "connector.py", "exec")


def test_new_refuses_bad_names_and_non_empty_directories(invoke: Invoke, tmp_path: Path) -> None:
    error = assert_one_line_error(invoke("apps", "new", "Acme ERP"), EXIT_ERROR)
    assert "is not a connector id" in error
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("mine")
    error = assert_one_line_error(
        invoke("apps", "new", "acme", "--directory", str(tmp_path / "full")), EXIT_ERROR
    )
    assert "already exists and is not an empty directory" in error
    assert (tmp_path / "full" / "keep.txt").read_text() == "mine"
    error = assert_one_line_error(invoke("apps", "new", "acme", "--title", 'Ac"me'), EXIT_ERROR)
    assert "--title" in error


def test_new_defaults_to_a_directory_named_after_the_distribution(
    invoke: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = invoke("apps", "new", "erpsync-nordic-books")
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "erpsync-nordic-books" / "erpsync_nordic_books" / "connector.py").exists()
    assert "Created sync app erpsync-nordic-books (connector erpsync-nordic-books" in result.stdout
    assert "pytest" in result.stdout


@pytest.mark.slow
def test_a_new_project_passes_its_own_tests_in_a_fresh_venv(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    wheels = tmp_path / "wheels"

    fresh = tmp_path / "fresh"
    python = fresh / "bin" / "python"

    def build(source: Path) -> Path:
        before = set(wheels.glob("*.whl"))
        run(
            [
                sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                "--no-index", "--quiet", "--wheel-dir", str(wheels), str(source),
            ],
            work,
        )  # fmt: skip
        (wheel,) = set(wheels.glob("*.whl")) - before
        return wheel

    def install(wheel: Path) -> None:
        run(
            [
                sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
                "--no-index", "--quiet", str(wheel),
            ],
            work,
        )  # fmt: skip

    host_wheel = build(ROOT)
    with zipfile.ZipFile(host_wheel) as archive:
        shipped = {n for n in archive.namelist() if n.startswith("host/scaffold/template/")}
    assert len(shipped) == len(EXPECTED_FILES), sorted(shipped)

    run([sys.executable, "-m", "venv", "--without-pip", str(fresh)], work)
    install(host_wheel)
    fresh_site = Path(
        run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], work
        ).stdout.strip()
    )
    link_dependencies(tmp_path / "deps")
    (fresh_site / "zz_erpsync_test_deps.pth").write_text(str(tmp_path / "deps") + "\n")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("ERPSYNC_", "PYTHON", "VIRTUAL_ENV", "PYTEST_"))
    }
    env["ERPSYNC_HOME"] = str(tmp_path / "home")

    # `erpsync apps new` of the installed host wheel writes the project ...
    project = tmp_path / "erpsync-acme"
    erpsync = str(fresh / "bin" / "erpsync")
    new = [erpsync, "apps", "new", "acme", "--directory", str(project), "--vendor", "Acme AS"]
    run(new, work, env=env)
    # ... which builds and installs like any sync app.
    install(build(project))

    # The project's own tests, with the fresh venv's pytest, from the project directory.
    done = subprocess.run(
        [str(python), "-m", "pytest", "-v", "-p", "no:cacheprovider"],
        capture_output=True,
        text=True,
        env=env,
        cwd=project,
        timeout=300,
    )
    assert done.returncode == 0, f"stdout: {done.stdout}\nstderr: {done.stderr}"
    summary = done.stdout.strip().splitlines()[-1]
    assert re.search(rf"\b{len(CHECKS) + 6} passed\b", summary), summary
    assert "skipped" not in summary and "failed" not in summary
    for check in CHECKS:
        assert f"test_conformance[{check.id}] PASSED" in done.stdout, check.id
    # It is the fresh venv's installed copy of the app and the host that ran.
    code = "import host, erpsync_acme; print(host.__file__, erpsync_acme.__file__)"
    where = run([str(python), "-c", code], work, env=env)
    for path in where.stdout.split():
        assert Path(path).is_relative_to(fresh_site), path
    # And an admin's `erpsync apps check` there agrees.
    check = subprocess.run(
        [erpsync, "apps", "check", "acme", "--write", "--json",
         "--config", "username=demo", "--config", "password=demo-password"],
        capture_output=True, text=True, env=env, cwd=work, timeout=120,
    )  # fmt: skip
    assert check.returncode == 0, check.stdout + check.stderr
    assert json.loads(check.stdout)["summary"] == {"pass": len(CHECKS), "fail": 0, "skip": 0}
