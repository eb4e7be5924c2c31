"""Where `erpsync apps list --json` spends its CPU next to the bare entry-point scan.

In the start-up benchmark's venv (bench/startup.py: the project venv's distributions plus 100
fake ones), fresh interpreters time each step with `time.process_time` (CPU, so other work on
the machine changes it little), 15 runs each, medians:

- bare: importing importlib.metadata, then the scan of the `erpsync.apps` group;
- apps list: importing host.cli (click, the CLI's own modules), importlib_metadata (what
  host.apps scans with), host.apps, the scan, then loading each app (its modules, pluggy
  registration, its connectors' checks) as `load_apps` does, one by one;
- the whole of each command, measured from outside (user + system of the child, os.wait4),
  and `python -c pass` for the interpreter's own start.

    python bench/profile_startup.py
"""

from __future__ import annotations

import json
import statistics
import subprocess
import tempfile
from pathlib import Path

from common import BENCH_DIR, base_env, run_child
from startup import make_venv

BARE = """
import json, time
T = time.process_time
start = T()
import importlib.metadata as metadata
imported = T()
points = list(metadata.entry_points(group="erpsync.apps"))
print(json.dumps({"import importlib.metadata": imported - start, "scan": T() - imported}))
"""

APPS = """
import json, time
T = time.process_time
steps = {}
mark = T()
def step(name):
    global mark
    now = T()
    steps[name] = now - mark
    mark = now
import host.cli
step("import host.cli (click, the CLI)")
import importlib_metadata
step("import importlib_metadata")
from host import apps, hookspecs
import pluggy
step("import host.apps, pluggy, hookspecs")
points = apps._entry_points()
step("scan")
manager = pluggy.PluginManager(hookspecs.PROJECT_NAME)
manager.add_hookspecs(hookspecs)
for point in points:
    apps._name_and_version(getattr(point, "dist", None))
    apps._load_one(manager, point, {}, {})
    step(f"load app {point.name}")
print(json.dumps(steps))
"""


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="erpsync-profile-startup-") as temp:
        python = make_venv(Path(temp) / "venv", 100)
        env = base_env(ERPSYNC_HOME=str(Path(temp) / "home"))
        erpsync = str(python.parent / "erpsync")
        steps: dict[str, dict[str, list[float]]] = {"bare": {}, "apps": {}}
        whole: dict[str, list[float]] = {"bare": [], "apps list --json": [], "python -c pass": []}
        commands = {
            "bare": [str(python), str(BENCH_DIR / "baseline_entry_points.py")],
            "apps list --json": [str(python), erpsync, "apps", "list", "--json"],
            "python -c pass": [str(python), "-c", "pass"],
        }
        for run in range(17):
            for name, code in (("bare", BARE), ("apps", APPS)):
                out = subprocess.run(
                    [str(python), "-c", code], env=env, capture_output=True, text=True, check=True
                ).stdout
                if run >= 2:  # two warm-up runs
                    for key, value in json.loads(out).items():
                        steps[name].setdefault(key, []).append(value)
            for name, argv in commands.items():
                cpu = run_child(argv, env=env).cpu_seconds
                if run >= 2:
                    whole[name].append(cpu)
    for name, parts in steps.items():
        print(f"{name}:")
        for key, values in parts.items():
            print(f"  {key}: {statistics.median(values) * 1000:.1f} ms")
    print("whole commands (CPU of the child):")
    for name, values in whole.items():
        print(f"  {name}: {statistics.median(values) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
