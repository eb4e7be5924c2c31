"""The example app installs like any partner's app: built into a wheel, pip-installed into a fresh
venv next to the host's wheel, found through its entry point, and usable from the CLI there.

No network: both wheels are built with this venv's hatchling (--no-build-isolation), installed
with --no-deps --no-index, and the host's dependencies are made importable in the fresh venv
through a .pth file naming a folder of links to this venv's installed packages (without the
erpsync distributions themselves, so only the fresh wheels can answer).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "example_connector_app"
OWN_DISTRIBUTIONS = ("erpsync_host", "erpsync_example_csv", "erpsync_mock_erp", "host")


def run(
    command: list[str], cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run in `cwd`, never in the checkout, where `python -c` would import ./host."""
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300, cwd=cwd)
    assert done.returncode == 0, f"{command}\nstdout: {done.stdout}\nstderr: {done.stderr}"
    return done


def project_version(pyproject: Path) -> str:
    return str(tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["version"])


def link_dependencies(into: Path) -> None:
    """Links to every package of this venv but the erpsync ones; .pth files are left out."""
    into.mkdir()
    site = Path(sysconfig.get_paths()["purelib"])
    for entry in site.iterdir():
        name = entry.name
        if (
            name.endswith(".pth")
            or name == "__pycache__"
            or name.startswith(("_editable_impl", "__editable__"))
            or name.split("-")[0].split(".")[0].lower() in OWN_DISTRIBUTIONS
        ):
            continue
        (into / name).symlink_to(entry)


@pytest.mark.slow
def test_the_example_app_installs_into_a_fresh_venv_and_is_listed(tmp_path: Path) -> None:
    if not (EXAMPLE / "pyproject.toml").exists():
        pytest.fail("example_connector_app/pyproject.toml is missing")
    wheels = tmp_path / "wheels"
    work = tmp_path / "work"
    work.mkdir()
    run(
        [
            sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
            "--no-index", "--quiet", "--wheel-dir", str(wheels), str(ROOT), str(EXAMPLE),
        ],
        work,
    )  # fmt: skip
    built = sorted(p.name for p in wheels.glob("*.whl"))
    assert [name.split("-")[0] for name in built] == ["erpsync_example_csv", "erpsync_host"]

    fresh = tmp_path / "fresh"
    run([sys.executable, "-m", "venv", "--without-pip", str(fresh)], work)
    python = fresh / "bin" / "python"
    run(
        [
            sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
            "--no-index", "--quiet", *(str(w) for w in wheels.glob("*.whl")),
        ],
        work,
    )  # fmt: skip
    fresh_site = Path(
        run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], work
        ).stdout.strip()
    )
    link_dependencies(tmp_path / "deps")
    (fresh_site / "zz_erpsync_test_deps.pth").write_text(str(tmp_path / "deps") + "\n")

    home = tmp_path / "home"
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("ERPSYNC_", "PYTHON", "VIRTUAL_ENV"))
    }
    env.update(ERPSYNC_HOME=str(home), ERPSYNC_SECRET_KEY=Fernet.generate_key().decode())

    # The packages come from the fresh venv's own site-packages, not from this checkout.
    where = run(
        [
            str(python), "-c",
            "import host, erpsync_mock_erp, erpsync_example_csv;"
            "print(host.__file__); print(erpsync_mock_erp.__file__);"
            "print(erpsync_example_csv.__file__)",
        ],
        work,
        env=env,
    )  # fmt: skip
    for path in where.stdout.split():
        assert Path(path).is_relative_to(fresh_site), path
    sample = fresh_site / "erpsync_example_csv" / "sample_data"
    assert (sample / "customers.csv").is_file()

    erpsync = str(fresh / "bin" / "erpsync")
    listed = run([erpsync, "apps", "list", "--json"], work, env=env)
    apps = {row["name"]: row for row in json.loads(listed.stdout)}
    assert set(apps) == {"mock", "example-csv"}
    assert apps["mock"]["status"] == "loaded", apps["mock"]
    assert apps["mock"]["distribution"] == "erpsync-host"
    assert apps["mock"]["version"] == project_version(ROOT / "pyproject.toml")
    assert apps["mock"]["connectors"] == ["mock"]
    example = apps["example-csv"]
    assert example["status"] == "loaded", example
    assert example["distribution"] == "erpsync-example-csv"
    assert example["version"] == project_version(EXAMPLE / "pyproject.toml")
    assert example["module"] == "erpsync_example_csv"
    assert example["connectors"] == ["example-csv"]

    # And it works there: register it in-process and add a tested connection on its sample.
    added = run([erpsync, "connectors", "add", "csv", "app:example-csv"], work, env=env)
    assert "CSV export ERP" in added.stdout
    run(
        [
            erpsync, "connections", "add", "sample", "--connector", "csv",
            "--config", f"directory={sample}", "--no-input",
        ],
        work,
        env=env,
    )  # fmt: skip
    (connection,) = json.loads(
        run([erpsync, "connections", "list", "--json"], work, env=env).stdout
    )
    assert connection["name"] == "sample"
    assert connection["last_test"]["state"] in ("ok", "ok_with_info")
