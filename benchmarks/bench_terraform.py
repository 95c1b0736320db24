"""AWS emulator and Terraform scenarios: emulator start and reuse, its memory, `terraform init` against
the s3 backend on moto (offline), and each scenario's start -> confirmed-broken time.

Printed as tables; not a test. Run on an otherwise idle machine, with no scenario active:

    .venv/bin/python benchmarks/bench_terraform.py [scenario ...] [--rounds N] [--verify]

- emulator cold start: `Emulator.ensure()` with nothing on 127.0.0.1:4566, until moto answers;
  then the first S3 call (moto loads its S3 backend lazily);
- emulator reuse: `ensure()` when it already runs (what every later scenario pays);
- emulator RSS: idle after start, and the peak while a scenario is brought up and graded;
- terraform init: `terraform init` of a scenario's configuration against its s3 backend on moto;
- start -> confirmed broken: preflight + provision + baseline + inject + confirm of the lifecycle
  (what `breakfix start` does before it hands over), with the teardown after it;
- with --verify: `breakfix verify` (reference solution included, no fakes).
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import tempfile
from pathlib import Path

from measure import peak_rss, rss_mib, summary, timed
from rich.console import Console
from rich.table import Table

from harness import catalog, state
from harness.lifecycle import Lifecycle
from harness.runtime.aws import PORT, Emulator, client, create_versioned_bucket, delete_bucket
from harness.runtime.common import port_is_free

console = Console()
SCENARIOS = ["terraform-stale-lock", "terraform-corrupted-state"]


def emulator_rows(rounds: int) -> tuple[list[tuple[str, str]], int]:
    emulator = Emulator()
    cold, first_s3, warm = [], [], []
    for _ in range(rounds):
        emulator.stop()
        if not port_is_free(PORT):
            raise SystemExit(f"127.0.0.1:{PORT} is served by an emulator breakfix does not manage: stop it first")
        cold.append(timed(emulator.ensure))
        first_s3.append(timed(lambda: client("s3").list_buckets()))
        warm.append(timed(emulator.ensure))
    pid = emulator.pid()
    assert pid is not None
    rows = [
        ("emulator cold start (s)", summary(cold)),
        ("first S3 call after start (s)", summary(first_s3)),
        ("emulator reuse: ensure() when running (s)", summary(warm)),
        ("emulator RSS idle (MiB)", f"{rss_mib(pid):.0f}"),
    ]
    return rows, pid


def init_seconds(entry_id: str, rounds: int) -> list[float]:
    """`terraform init` of the scenario's configuration against a fresh s3 backend bucket on moto."""
    lifecycle = Lifecycle(catalog.find(entry_id))
    runtime = lifecycle.terraform_runtime()
    create_versioned_bucket(runtime.backend.bucket)
    seconds = []
    try:
        for _ in range(rounds):
            with tempfile.TemporaryDirectory(prefix="bfbench-") as scratch:
                work = Path(scratch)
                for source in runtime.pristine_dir.glob("*.tf"):
                    (work / source.name).write_text(source.read_text())
                (work / "backend.tf").write_text(runtime.backend.render())
                seconds.append(timed(functools.partial(runtime.must, work, "init", "-input=false", "-no-color")))
    finally:
        delete_bucket(runtime.backend.bucket)
    return seconds


def scenario_row(entry_id: str, rounds: int, pid: int, verify: bool) -> list[str]:
    entry = catalog.find(entry_id)
    broken, teardown, verified = [], [], []
    steps: dict[str, list[float]] = {}
    with peak_rss(pid) as peak:
        for _ in range(rounds):
            lifecycle = Lifecycle(entry)
            lifecycle.teardown()
            broken.append(timed(functools.partial(lifecycle.bring_up_broken, reuse_baseline=False)))
            for name, seconds in lifecycle.times.steps:
                steps.setdefault(name, []).append(seconds)
            teardown.append(timed(lifecycle.teardown))
            state.forget(entry_id)
            if verify:
                verified.append(Lifecycle(entry).verify().seconds)
    breakdown = ", ".join(f"{name} {statistics.median(values):.1f}" for name, values in steps.items() if name != "teardown")
    init = init_seconds(entry_id, rounds)
    return [entry_id, summary(broken), breakdown, summary(teardown), summary(init), f"{peak[0]:.0f}",
            summary(verified) if verified else "-"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("scenarios", nargs="*", default=SCENARIOS)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--verify", action="store_true", help="also time `verify` (reference solution, no fakes)")
    args = parser.parse_args()
    os.environ.setdefault("BREAKFIX_STATE_DIR", tempfile.mkdtemp(prefix="bfbench-state-"))
    console.print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cpus; {args.rounds} rounds")

    rows, pid = emulator_rows(args.rounds)
    table = Table(title="AWS emulator (moto on 127.0.0.1:4566)")
    table.add_column("measure")
    table.add_column("value (median of rounds)")
    for row in rows:
        table.add_row(*row)
    console.print(table)

    table = Table(title="Terraform scenarios (seconds; RSS in MiB)")
    for column in ("scenario", "start -> confirmed broken", "of which (median)", "teardown", "terraform init (s3 on moto)",
                   "emulator peak RSS", "verify"):
        table.add_column(column)
    for entry_id in args.scenarios:
        table.add_row(*scenario_row(entry_id, args.rounds, pid, args.verify))
    console.print(table)
    Emulator().stop()


if __name__ == "__main__":
    main()
