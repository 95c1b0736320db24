"""memory-leak: time from `breakfix start` to the first OOM kill, and the cost of a grading run.

Printed as a table; not a test. Run on an otherwise idle machine:

    .venv/bin/python benchmarks/bench_memory_leak.py [--rounds N]   (or PYTHONPATH=. python ... in a checkout)

Per round, `breakfix start memory-leak` runs in a subprocess while this process polls the
pricing container's State.OOMKilled: the first time it turns true is the moment the scenario
is broken the way production was (the goal: under 60 s from start). Then one `breakfix check`
on the broken system, and `stop`. Finally one `breakfix verify memory-leak --fakes`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time

from docker.errors import NotFound
from rich.console import Console
from rich.table import Table

from harness.runtime.docker import connect

SCENARIO = "memory-leak"
CONTAINER = f"bf-{SCENARIO}-pricing"
console = Console()


def breakfix(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness.cli", *args], capture_output=True, text=True, timeout=600, check=False)


def first_oom_kill(client, since: float, seen: list[float]) -> None:
    """Poll until the pricing container reports OOMKilled (at most 120 s); record when."""
    while time.monotonic() - since < 120:
        try:
            if client.containers.get(CONTAINER).attrs["State"]["OOMKilled"]:
                seen.append(time.monotonic() - since)
                return
        except NotFound:  # not created yet, or between two runs
            pass
        time.sleep(0.05)


def one_round(client) -> tuple[float, float, float]:
    started = time.monotonic()
    seen: list[float] = []
    watcher = threading.Thread(target=first_oom_kill, args=(client, started, seen), daemon=True)
    watcher.start()
    result = breakfix("start", SCENARIO)
    start_seconds = time.monotonic() - started
    if result.returncode != 0:
        raise SystemExit(f"start failed:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")
    watcher.join(130)
    check_started = time.monotonic()
    breakfix("check", "--json")
    check_seconds = time.monotonic() - check_started
    breakfix("stop")
    if not seen:
        raise SystemExit("no OOM kill within 120 s of start: the scenario is broken")
    return seen[0], start_seconds, check_seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()
    os.environ["BREAKFIX_STATE_DIR"] = tempfile.mkdtemp(prefix="bfbench-state-")
    client = connect()
    rounds = [one_round(client) for _ in range(options.rounds)]
    oom, start, check = (list(column) for column in zip(*rounds, strict=True))
    verify_started = time.monotonic()
    verified = breakfix("verify", SCENARIO, "--fakes")
    verify_seconds = time.monotonic() - verify_started

    table = Table(title=f"breakfix benchmark: {SCENARIO} ({options.rounds} rounds, load average {os.getloadavg()[0]:.1f})")
    for column in ("measure", "median", "max", "notes"):
        table.add_column(column)
    table.add_row("start -> first OOM kill seen", f"{statistics.median(oom):.1f}s", f"{max(oom):.1f}s",
                  "State.OOMKilled turns true; goal: under 60 s")
    table.add_row("start -> confirmed broken (CLI returns)", f"{statistics.median(start):.1f}s", f"{max(start):.1f}s",
                  "provision, baseline, inject, confirm")
    table.add_row("breakfix check on the broken system", f"{statistics.median(check):.1f}s", f"{max(check):.1f}s", "one grading run")
    table.add_row("verify --fakes", f"{verify_seconds:.1f}s", "", "passed" if verified.returncode == 0 else "FAILED")
    console.print(table)
    if max(oom) >= 60 or verified.returncode != 0:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
