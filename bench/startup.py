"""Start-up: `erpsync --help`, `apps list --json` and `connections list --json` against a bare
entry-point listing.

A temporary venv gets N tiny fake distributions (a .dist-info each, with console_scripts
entry points, as pip leaves them) plus a .pth that adds the project venv's site-packages (and
so its editable installs), so the commands run with the project venv's distributions *and*
the fake ones installed. Full size: 100 fake distributions and a registry of 100
connections (`connections list`); a tenth: 10 and 10 (the project venv alone already has
about 50 distributions, so both sizes have 50 or more). Targets (issue #15): `apps list
--json` at most 1.2x and `connections list --json` at most 1.3x the bare entry-point scan
(`bench/baseline_entry_points.py`: importlib.metadata's entry points of the group, printed).

Also: the peak memory (ru_maxrss of the child) of `erpsync apps list`, and which heavy
modules each command imports (`python -X importtime`): there must be none.

    python bench/startup.py [--quick]
"""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path
from typing import Any

from common import (
    BENCH_DIR,
    MIB,
    base_env,
    figure,
    interleaved,
    log,
    ratio_stats,
    run_child,
    stats,
    suite_main,
)

HEAVY_MODULES = (
    "fastapi",
    "starlette",
    "uvicorn",
    "httpx",
    "httpcore",
    "anyio",
    "sqlite_utils",
    "cryptography",
    "pydantic",
    "pydantic_core",
)
FULL_FAKE_DISTRIBUTIONS = 100

WRAPPER = """#!{python}
# -*- coding: utf-8 -*-
import re
import sys
from host.cli import main
if __name__ == '__main__':
    sys.argv[0] = re.sub(r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])
    sys.exit(main())
"""


def make_venv(directory: Path, fake_count: int) -> Path:
    """A venv seeing the project venv's distributions plus `fake_count` fake ones; its python."""
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", "--without-pip", str(directory)], check=True)
    python = directory / "bin" / "python"
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    project_site = sysconfig.get_paths()["purelib"]
    # A plain path line would not run the project's own .pth files (editable installs);
    # site.addsitedir does, exactly as for the venv's own site-packages.
    (site / "_bench_project_venv.pth").write_text(
        f"import site; site.addsitedir({project_site!r})\n", encoding="utf-8"
    )
    for number in range(fake_count):
        name = f"bench_fake_dist_{number:04d}"
        dist_info = site / f"{name}-1.0.{number}.dist-info"
        dist_info.mkdir()
        (dist_info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: bench-fake-dist-{number:04d}\nVersion: 1.0.{number}\n"
            f"Summary: a fake distribution for the start-up benchmark\n",
            encoding="utf-8",
        )
        (dist_info / "entry_points.txt").write_text(
            f"[console_scripts]\nbench-fake-{number:04d} = {name}:main\n", encoding="utf-8"
        )
        (dist_info / "top_level.txt").write_text(name + "\n", encoding="utf-8")
        (dist_info / "INSTALLER").write_text("pip\n", encoding="utf-8")
        (dist_info / "RECORD").write_text(
            f"{name}.py,,\n{dist_info.name}/METADATA,,\n", encoding="utf-8"
        )
        (site / f"{name}.py").write_text("def main():\n    return 0\n", encoding="utf-8")
    erpsync = directory / "bin" / "erpsync"
    erpsync.write_text(WRAPPER.format(python=python), encoding="utf-8")
    erpsync.chmod(0o755)
    return python


def count_distributions(python: Path, env: dict[str, str]) -> int:
    code = (
        "import importlib.metadata as m\n"
        "print(len({d.metadata['Name'].lower().replace('_', '-') for d in m.distributions()}))"
    )
    result = run_child([str(python), "-c", code], env=env)
    return int(result.stdout.decode().strip())


def imported_modules(argv: list[str], env: dict[str, str]) -> list[str]:
    """Every module a command imports, from `python -X importtime`."""
    result = run_child([argv[0], "-X", "importtime", *argv[1:]], env=env)
    modules = []
    for line in result.stderr.decode(errors="replace").splitlines():
        if line.startswith("import time:") and "|" in line:
            name = line.rsplit("|", 1)[1].strip()
            if name != "imported package":
                modules.append(name)
    return modules


def heavy(modules: list[str]) -> list[str]:
    return sorted({m for m in modules if m.split(".")[0] in HEAVY_MODULES})


REGISTRY_SETUP = """
import sys
from host.registry import Registry
registry = Registry.open()
registry.add_connector("mock-erp", "http://127.0.0.1:9/")
for number in range(int(sys.argv[1])):
    registry.add_connection(
        guid=f"bench-{number}", name=f"bench-{number}", connector="mock-erp",
        config={"username": "demo"}, secret_keys=[],
    )
registry.close()
"""


def make_registry(python: Path, env: dict[str, str], connections: int) -> None:
    """A registry of `connections` connections in the benchmark's home, for `connections
    list`."""
    run_child([str(python), "-c", REGISTRY_SETUP, str(connections)], env=env)


def measure_size(directory: Path, fake_count: int, runs: int) -> dict[str, Any]:
    python = make_venv(directory / f"venv-{fake_count}", fake_count)
    erpsync = str(python.parent / "erpsync")
    home = directory / f"home-{fake_count}"
    home.mkdir()
    env = base_env(ERPSYNC_HOME=str(home))
    make_registry(python, env, fake_count)
    commands = {
        "bare": [str(python), str(BENCH_DIR / "baseline_entry_points.py")],
        "help": [str(python), erpsync, "--help"],
        "apps_list_json": [str(python), erpsync, "apps", "list", "--json"],
        "connections_list_json": [str(python), erpsync, "connections", "list", "--json"],
    }
    bare_out = run_child(commands["bare"], env=env).stdout.decode()
    if "mock erpsync_mock_erp" not in bare_out:
        raise RuntimeError(f"the benchmark venv does not see the bundled app: {bare_out!r}")
    cpu: dict[str, list[float]] = {name: [] for name in commands}

    def timed(name: str, argv: list[str]) -> float:
        child = run_child(argv, env=env)
        cpu[name].append(child.cpu_seconds)
        return child.seconds

    measures = {
        name: (lambda name=name, argv=argv: timed(name, argv)) for name, argv in commands.items()
    }
    samples = interleaved(
        measures,
        runs=runs,
        warmup=2,
    )
    cpu = {name: values[-len(samples[name]) :] for name, values in cpu.items()}  # no warm-up
    rss = [run_child([*commands["apps_list_json"][:-1]], env=env).max_rss_bytes for _ in range(3)]
    imports = {name: imported_modules(argv, env) for name, argv in commands.items()}
    return {
        "fake_distributions": fake_count,
        "connections": fake_count,
        "distributions": count_distributions(python, env),
        "seconds": {name: stats(values) for name, values in samples.items()},
        "help_ratio": ratio_stats(samples["help"], samples["bare"]),
        "apps_list_ratio": ratio_stats(samples["apps_list_json"], samples["bare"]),
        "connections_list_ratio": ratio_stats(samples["connections_list_json"], samples["bare"]),
        "cpu_seconds": {name: stats(values) for name, values in cpu.items()},
        "apps_list_cpu_ratio": ratio_stats(cpu["apps_list_json"], cpu["bare"]),
        "connections_list_cpu_ratio": ratio_stats(cpu["connections_list_json"], cpu["bare"]),
        "apps_list_max_rss_mib": stats([r / MIB for r in rss], digits=1),
        "modules_imported": {name: len(mods) for name, mods in imports.items()},
        "heavy_imports": {name: heavy(mods) for name, mods in imports.items() if name != "bare"},
    }


def run(quick: bool = False) -> dict[str, Any]:
    runs = 5 if quick else 20
    with tempfile.TemporaryDirectory(prefix="erpsync-bench-startup-") as temp:
        directory = Path(temp)
        log(f"start-up: {FULL_FAKE_DISTRIBUTIONS} fake distributions, {runs} runs")
        full = measure_size(directory, FULL_FAKE_DISTRIBUTIONS, runs)
        log(f"start-up: {FULL_FAKE_DISTRIBUTIONS // 10} fake distributions")
        tenth = measure_size(directory, FULL_FAKE_DISTRIBUTIONS // 10, runs)
    no_heavy = not any(full["heavy_imports"].values()) and not any(tenth["heavy_imports"].values())
    figures = [
        figure(
            "startup.help",
            "`erpsync --help` / bare entry-point listing (wall time)",
            "<= 1.5x",
            full["help_ratio"],
            tenth["help_ratio"],
            full["help_ratio"]["median"] <= 1.5 and tenth["help_ratio"]["median"] <= 1.5,
            unit="x",
        ),
        figure(
            "startup.apps_list",
            "`erpsync apps list --json` / bare entry-point listing (wall time)",
            "<= 1.2x",
            full["apps_list_ratio"],
            tenth["apps_list_ratio"],
            full["apps_list_ratio"]["median"] <= 1.2 and tenth["apps_list_ratio"]["median"] <= 1.2,
            unit="x",
        ),
        figure(
            "startup.connections_list",
            f"`erpsync connections list --json` ({FULL_FAKE_DISTRIBUTIONS} connections; a "
            f"tenth: {FULL_FAKE_DISTRIBUTIONS // 10}) / bare entry-point listing (wall time)",
            "<= 1.3x",
            full["connections_list_ratio"],
            tenth["connections_list_ratio"],
            full["connections_list_ratio"]["median"] <= 1.3
            and tenth["connections_list_ratio"]["median"] <= 1.3,
            unit="x",
        ),
        figure(
            "startup.apps_list_cpu",
            "`erpsync apps list --json` / bare entry-point listing, CPU time (user + system "
            "of the child: steadier than wall time on a shared machine)",
            "(reported)",
            full["apps_list_cpu_ratio"],
            tenth["apps_list_cpu_ratio"],
            None,
            unit="x",
        ),
        figure(
            "startup.connections_list_cpu",
            "`erpsync connections list --json` / bare entry-point listing, CPU time",
            "(reported)",
            full["connections_list_cpu_ratio"],
            tenth["connections_list_cpu_ratio"],
            None,
            unit="x",
        ),
        figure(
            "startup.heavy_imports",
            "heavy modules (FastAPI, uvicorn, httpx, sqlite-utils, cryptography, pydantic ...) "
            "imported by `--help`, `apps list` and `connections list`",
            "none",
            {"median": sum(len(v) for v in full["heavy_imports"].values())},
            {"median": sum(len(v) for v in tenth["heavy_imports"].values())},
            no_heavy,
            unit="modules",
        ),
        figure(
            "memory.apps_list",
            "peak memory of `erpsync apps list` (ru_maxrss of the child)",
            "< 50 MiB",
            full["apps_list_max_rss_mib"],
            tenth["apps_list_max_rss_mib"],
            full["apps_list_max_rss_mib"]["max"] < 50,
            unit="MiB",
        ),
    ]
    return {"figures": figures, "details": {"full": full, "tenth": tenth}}


def main() -> None:
    suite_main(__doc__, run)


if __name__ == "__main__":
    main()
