"""Shared pieces of the benchmarks: timing statistics, child processes, servers, figures.

Every benchmark measures the host and its baseline side by side in the same run, interleaved
(host, baseline, host, baseline ...), so a machine that gets slower or faster half way through
shifts both alike. Figures are the median of several runs, with min and max.
"""

from __future__ import annotations

import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BENCH_DIR.parent
PYTHON = sys.executable
BIN_DIR = Path(PYTHON).parent
MIB = 1024 * 1024


# --- statistics ------------------------------------------------------------------------------


def stats(samples: Sequence[float], digits: int = 4) -> dict[str, Any]:
    """Median, min and max of samples, and how many there were."""
    return {
        "median": round(statistics.median(samples), digits),
        "min": round(min(samples), digits),
        "max": round(max(samples), digits),
        "runs": len(samples),
    }


def ratio_stats(numerators: Sequence[float], denominators: Sequence[float]) -> dict[str, Any]:
    """Per-run ratios (run i of one side over run i of the other), then their statistics.

    Pairing runs that ran next to each other cancels most of the machine's drift.
    """
    return stats([n / d for n, d in zip(numerators, denominators, strict=True)], digits=3)


def figure(
    name: str,
    what: str,
    target: str,
    full: dict[str, Any],
    tenth: dict[str, Any] | None,
    met: bool | None,
    unit: str = "",
    **extra: Any,
) -> dict[str, Any]:
    """One row of the results table: the measured statistics at full and at a tenth of size."""
    row: dict[str, Any] = {
        "name": name,
        "what": what,
        "target": target,
        "unit": unit,
        "full": full,
        "tenth": tenth,
        "met": met,
    }
    if tenth is not None and tenth.get("median") and full.get("median"):
        row["growth"] = round(full["median"] / tenth["median"], 2)
    row.update(extra)
    return row


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) // 1024} MiB"
                break
    except OSError:
        pass
    return {
        "cpu": model or platform.processor(),
        "cores": os.cpu_count(),
        "memory": memory,
        "os": platform.platform(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
    }


def emit(document: Any) -> None:
    print(json.dumps(document, indent=2))


def suite_main(doc: str | None, run: Callable[[bool], Any]) -> None:
    """The command line of one suite script: `--quick` for fewer runs, JSON on stdout."""
    import argparse

    parser = argparse.ArgumentParser(description=(doc or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs, for a smoke test")
    emit(run(parser.parse_args().quick))


def log(message: str) -> None:
    """Progress on stderr, so stdout stays one JSON document."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- child processes ---------------------------------------------------------------------------


@dataclass
class ChildRun:
    seconds: float
    max_rss_bytes: int
    cpu_seconds: float
    returncode: int
    stdout: bytes
    stderr: bytes


def run_child(
    argv: Sequence[str],
    env: dict[str, str] | None = None,
    cwd: str | Path | None = None,
    check: bool = True,
    timeout: float = 600,
) -> ChildRun:
    """Run a command to its end: wall time, CPU time (user + system) and the peak resident
    memory of that child alone.

    os.wait4 gives the rusage of exactly this child (RUSAGE_CHILDREN would sum them all).
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        process = subprocess.Popen(argv, env=env, cwd=cwd, stdout=out, stderr=err)
        killer = threading.Timer(timeout, process.kill)
        killer.start()
        try:
            _, status, usage = os.wait4(process.pid, 0)
        finally:
            killer.cancel()
        seconds = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        result = ChildRun(
            seconds,
            usage.ru_maxrss * 1024,
            usage.ru_utime + usage.ru_stime,
            process.returncode,
            out.read(),
            err.read(),
        )
    if check and result.returncode != 0:
        raise RuntimeError(
            f"{' '.join(map(str, argv))} exited {result.returncode}: "
            f"{result.stderr.decode(errors='replace')[-2000:]}"
        )
    return result


def interleaved(
    commands: dict[str, Callable[[], float]], runs: int, warmup: int = 1
) -> dict[str, list[float]]:
    """Run each measurement in turn, `runs` rounds (after `warmup` rounds thrown away)."""
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for round_number in range(warmup + runs):
        for name, measure in commands.items():
            value = measure()
            if round_number >= warmup:
                samples[name].append(value)
    return samples


def base_env(**extra: str) -> dict[str, str]:
    """The environment of every child: no developer ERPSYNC_* settings leak in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ERPSYNC_")}
    env.pop("PYTHONPATH", None)
    # Byte-code caches as on any admin's machine: a module compiled anew on every run would
    # be measured instead of the host.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(extra)
    return env


# --- servers ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_serving(url: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:
                if answer.status == 200:
                    return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def rss_bytes(self) -> int:
        """Resident memory now (VmRSS) and at its peak (VmHWM) of the server process."""
        return _proc_status(self.process.pid, "VmRSS")

    def peak_rss_bytes(self) -> int:
        return _proc_status(self.process.pid, "VmHWM")


def _proc_status(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    return 0


@contextmanager
def server(argv: Sequence[str], env: dict[str, str], directory: Path) -> Iterator[Server]:
    """Start a server child on a free loopback port ({port} in argv) and wait until `/`
    answers; stop it (SIGTERM, then SIGKILL) on the way out."""
    port = free_port()
    log_path = directory / f"server-{port}.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [a.format(port=port) for a in argv],
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            cwd=str(directory),
        )
    running = Server(process, port, log_path)
    try:
        try:
            wait_until_serving(running.base + "/")
        except OSError as exc:
            raise RuntimeError(
                f"server {argv} did not start: {log_path.read_text(errors='replace')[-2000:]}"
            ) from exc
        yield running
    finally:
        stop(process)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
