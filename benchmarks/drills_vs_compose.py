"""The payments design drills (D2 idempotent-payments, D1 webhook-delivery, D4 distributed-rate-limit) beside a raw compose up.

Printed as a table; not a test. For each drill, under its entry lock (/tmp/bf-lock-<id>, the one
engineers and tests take before provisioning it): raw `docker compose up` (or docker-compose v1) of
the same stack until healthy; `breakfix start` to a confirmed-broken system, cold (runs the
baseline) and warm (reuses its proof); `breakfix check` on the broken and on the fixed system beside
a plain pytest run of the same checks; the stack's peak memory during a check. Everything it brings
up it tears down; every command is bounded by its own timeouts and the harness's check_timeout.

    .venv/bin/python benchmarks/drills_vs_compose.py [--rounds N] [drill ...]

The measuring pieces are bench_docker_scenarios.py's; this script picks the drills' rows.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import shutil
import statistics
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).parent))
from bench_docker_scenarios import breakfix, check_beside_plain_pytest, raw_compose_ups, solved_checks_and_memory, timed  # noqa: E402

from harness import catalog  # noqa: E402
from harness.runtime.docker import compose_command, connect  # noqa: E402

DRILLS = ("idempotent-payments", "webhook-delivery", "distributed-rate-limit")
console = Console()


@contextmanager
def entry_lock(entry_id: str) -> Iterator[None]:
    """The lock every command that provisions this entry holds (fixed ports: one at a time)."""
    with open(f"/tmp/bf-lock-{entry_id}", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def drill_rows(entry: catalog.Entry, rounds: int, client) -> list[tuple[str, str, str]]:
    state = Path(tempfile.mkdtemp(prefix="bfbench-drills-"))
    os.environ["BREAKFIX_STATE_DIR"] = str(state)
    try:
        raw, unmeasured = raw_compose_ups(entry, client, rounds)
        starts = []
        for _ in range(rounds + 1):
            starts.append(timed(breakfix("start", entry.id)))
            timed(breakfix("stop"))
        timed(breakfix("start", entry.id))
        broken, plain_broken = check_beside_plain_pytest(entry, rounds)
        fixed, plain_fixed, peak = solved_checks_and_memory(entry, rounds, client)
    finally:
        timed(breakfix("stop", "--force"), ok=(0, 1, 2))
        shutil.rmtree(state, ignore_errors=True)
    raw_up = statistics.median(raw) if raw else None
    cold, warm = starts[0], statistics.median(starts[1:])

    def beside(seconds: float) -> str:
        return f"raw compose {unmeasured}" if raw_up is None else f"{seconds / raw_up:.1f}x raw up"

    return [
        ("raw compose up, healthy (median)", "-" if raw_up is None else f"{raw_up:.1f}s", " ".join(compose_command() or ["no compose CLI"])),
        ("start -> confirmed broken, cold", f"{cold:.1f}s", beside(cold) + "; provision, baseline, inject, confirm"),
        ("start -> confirmed broken, warm (median)", f"{warm:.1f}s", beside(warm) + "; the baseline proof reused"),
        ("check, broken (median)", f"{broken:.1f}s", f"plain pytest of the same checks {plain_broken:.1f}s"),
        ("check, fixed (median)", f"{fixed:.1f}s", f"plain pytest of the same checks {plain_fixed:.1f}s"),
        ("stack memory peak during check", f"{peak / 2**20:.0f} MiB", "sum over the stack's containers"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("drills", nargs="*", default=list(DRILLS))
    parser.add_argument("--rounds", type=int, default=2)
    options = parser.parse_args()
    client = connect()
    table = Table(title="payments design drills beside a raw compose up")
    for column in ("drill", "measure", "value", "beside / notes"):
        table.add_column(column)
    for drill in options.drills:
        with entry_lock(drill):
            for measure, value, note in drill_rows(catalog.find(drill), options.rounds, client):
                table.add_row(drill, measure, value, note)
    console.print(table)


if __name__ == "__main__":
    main()
