"""aws-iam scenarios (an account of their own, on a dedicated moto with IAM enforced): start, check
and verify latency and the emulator's memory, beside the raw emulator set-up.

Printed as a table; not a test. Run on an otherwise idle machine, with no scenario active:

    .venv/bin/python benchmarks/bench_aws_account.py [scenario ...] [--rounds N]

For each scenario:
- raw emulator set-up: `python -m moto.server` started by hand with the same environment (IAM
  enforced after the bootstrap calls) until its page answers, then the account file's API calls
  (users, groups, roles, policies, keys, buckets, parameters, functions) -- what a team scripts
  with boto3 without breakfix, and what breakfix's provision step replaces;
- breakfix start up to a confirmed-broken account: provision + baseline + inject (the IAM drift)
  + confirm; cold is the first start in a fresh state dir (it runs the baseline), warm reuses it;
- breakfix check beside a plain pytest run of the same checks, broken and after the reference fix;
- the account emulator's peak RSS during the checks of the fixed account;
- breakfix verify, without and with fakes.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_docker_scenarios import breakfix, check_beside_plain_pytest, check_rows, timed, verify_rows
from measure import peak_rss
from rich.console import Console
from rich.table import Table

from harness import catalog, procs
from harness.runtime.aws_account import AccountRuntime, load_account
from harness.timing import wait_until

console = Console()
SCENARIOS = ["iam-privilege-escalation"]


def raw_setup(entry: catalog.Entry) -> float:
    """Seconds from a hand-started moto server to the account seeded, the server stopped after."""
    assert entry.stack_file is not None
    with tempfile.TemporaryDirectory(prefix="bfbench-raw-") as home:
        runtime = AccountRuntime("bench-raw", entry.stack_file, Path(home))
        port = str(runtime.account.port)
        started = time.monotonic()
        server = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", port],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, **runtime.emulator.environment},
        )
        try:
            wait_until(runtime.alive, 60, every=0.05, error=f"moto did not answer on 127.0.0.1:{port} within 60 s")
            runtime.seed()
            return time.monotonic() - started
        finally:
            server.terminate()
            server.wait(10)


def account_emulator(port: int) -> int:
    """The pid of the moto server breakfix started for the active instance's account."""
    wanted = f"-p\0{port}".encode()
    for pid in procs.pids():
        command = procs.cmdline(pid) or b""
        if b"moto.server" in command and wanted in command:
            return pid
    raise SystemExit(f"no moto server on port {port}: did `breakfix start` fail?")


def bench(entry: catalog.Entry, rounds: int) -> list[tuple[str, str, str, str]]:
    state = Path(tempfile.mkdtemp(prefix="bfbench-state-"))
    os.environ["BREAKFIX_STATE_DIR"] = str(state)
    raw = statistics.median(raw_setup(entry) for _ in range(rounds))
    starts = []
    for _ in range(rounds):
        starts.append(timed(breakfix("start", entry.id)))
        timed(breakfix("stop"))
    cold, warm = starts[0], statistics.median(starts[1:] or starts)

    timed(breakfix("start", entry.id))
    broken, plain_broken = check_beside_plain_pytest(entry, rounds)
    timed(breakfix("solve", "--apply", "--yes"))
    assert entry.stack_file is not None
    with peak_rss(account_emulator(load_account(entry.stack_file).port)) as peak:
        fixed, plain_fixed = check_beside_plain_pytest(entry, rounds)
    timed(breakfix("stop"))

    rows = [("raw emulator set-up (median)", f"{raw:.1f}s", "", "moto.server by hand + the account file's boto3 calls")]
    for label, seconds, note in (
        ("start -> confirmed broken, cold", cold, "first start: runs the baseline (every check passes on the healthy account)"),
        ("start -> confirmed broken, warm (median)", warm, "reuses the baseline proof; injects the IAM drift and confirms"),
    ):
        raw_start = raw + plain_broken
        rows.append((label, f"{seconds:.1f}s", f"{seconds / raw_start:.2f}x raw set-up + plain pytest ({raw_start:.1f}s); "
                     f"{seconds / raw:.2f}x raw set-up alone", note))
    rows += check_rows({"broken": (broken, plain_broken), "fixed": (fixed, plain_fixed)}, "account")
    rows.append(("account emulator peak RSS during check", f"{peak[0]:.0f} MiB", "", "the instance's own moto server, fixed account"))
    rows += verify_rows(entry, "account")
    shutil.rmtree(state, ignore_errors=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenarios", nargs="*", default=SCENARIOS)
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()
    console.print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cpus; {options.rounds} rounds")
    for scenario in options.scenarios:
        table = Table(title=f"breakfix benchmark: {scenario}")
        for column in ("measure", "value", "beside the raw tool", "notes"):
            table.add_column(column)
        for row in bench(catalog.find(scenario), options.rounds):
            table.add_row(*row)
        console.print(table)


if __name__ == "__main__":
    main()
