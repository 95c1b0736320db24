"""The coding labs' sandbox and graders: what a run costs, how fast limits bite, what grading takes.

Printed as tables; not a test. Run on an otherwise idle machine:

    .venv/bin/python benchmarks/bench_labs.py [lab ...] [--rounds N] [--full-log]

- sandbox overhead: one `run` of `python3 -c pass` (create, start, wait, logs, remove) beside
  the time the program itself took inside; a `run_batch` of 10 such commands beside 10 runs;
- limits: wall time until a loop (5 s limit), a fork bomb (5 s limit) and a 10 GB allocation
  (128m) each come back with their verdict;
- per lab (default: every lab): `verify --fakes` wall time and its steps;
- --full-log: C1 at the interview's scale (BREAKFIX_LAB_SCALE=full, 1.15 GB): generation, the
  reference's time and peak memory, and the read-it-all wrong implementation's verdict.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.table import Table

from harness import catalog
from harness.lifecycle import Lifecycle
from harness.manifest import SandboxLimits
from harness.runtime.sandbox import Sandbox
from harness.runtime.sandbox_results import RunResult

console = Console()
INSTANCE = "bench-labs"


def timed(action: Callable[[], object]) -> tuple[float, object]:
    started = time.monotonic()
    value = action()
    return time.monotonic() - started, value


def sandbox_overhead(box: Sandbox, rounds: int) -> None:
    table = Table(title="sandbox overhead (median of rounds)")
    for column in ("what", "wall s", "inside s"):
        table.add_column(column)
    walls, insides = [], []
    for _ in range(rounds):
        wall, result = timed(lambda: box.python("pass"))
        assert isinstance(result, RunResult)
        walls.append(wall)
        insides.append(result.seconds)
    table.add_row("one run: python3 -c pass", f"{statistics.median(walls):.2f}", f"{statistics.median(insides):.2f}")
    cases = {f"case{n}": ["python3", "-c", "pass"] for n in range(10)}
    batch = statistics.median(timed(lambda: box.run_batch(cases))[0] for _ in range(rounds))
    table.add_row("run_batch of 10 commands", f"{batch:.2f}", "")
    table.add_row("10 separate runs (estimated)", f"{10 * statistics.median(walls):.2f}", "")
    console.print(table)


def limits(box: Sandbox) -> None:
    table = Table(title="limits: wall time to a verdict")
    for column in ("submission", "limit", "wall s", "verdict", "message"):
        table.add_column(column)
    runaway = {
        "infinite loop": ("while True:\n    pass\n", {"timeout": 5}, "5 s"),
        "fork bomb": ("import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n", {"timeout": 5}, "5 s, 32 pids"),
        "10 GB allocation": ("b = bytearray(10 * 2**30)\n", {"memory": "128m"}, "128m"),
    }
    for name, (code, overrides, limit) in runaway.items():
        wall, result = timed(lambda c=code, o=overrides: box.python(c, pids=32, **o))
        assert isinstance(result, RunResult)
        table.add_row(name, limit, f"{wall:.1f}", result.verdict, result.message)
    console.print(table)


def verify_labs(lab_ids: list[str]) -> None:
    table = Table(title="verify --fakes per lab")
    for column in ("lab", "total s", "steps"):
        table.add_column(column)
    for lab_id in lab_ids:
        report = Lifecycle(catalog.find(lab_id)).verify(fakes=True)
        steps = ", ".join(f"{name} {seconds:.0f}" for name, seconds in report.steps if seconds >= 0.5)
        table.add_row(lab_id, f"{report.seconds:.1f}", steps)
    console.print(table)


def full_log(box: Sandbox) -> None:
    os.environ["BREAKFIX_LAB_SCALE"] = "full"  # read by the grader module when it builds the log
    try:
        measure_full_log(box)
    finally:
        del os.environ["BREAKFIX_LAB_SCALE"]


def measure_full_log(box: Sandbox) -> None:
    directory = catalog.find("log-top-ips").directory
    spec = importlib.util.spec_from_file_location("bench_c1_grader", directory / "checks" / "conftest.py")
    assert spec and spec.loader
    grader = sys.modules["bench_c1_grader"] = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(grader)
    generation, log = timed(grader.big_log)
    table = Table(title=f"C1 at full scale: {log.path.stat().st_size / 1e9:.2f} GB log, generated (or read from the cache) in {generation:.0f} s")
    for column in ("program", "wall s", "inside s", "peak MiB", "verdict", "right answer"):
        table.add_column(column)
    files = {"access.log": log.path}
    with tempfile.TemporaryDirectory() as scratch:
        reading_all = Path(scratch) / "read_all.py"
        reading_all.write_text((directory / "solution" / "top_ips.py").read_text().replace("for raw in stream:", "for raw in stream.read().splitlines():"))
        programs = {"reference (streaming)": directory / "solution" / "top_ips.py", "read-all fake": reading_all}
        for name, program in programs.items():
            wall, result = timed(lambda p=program: box.run(["python3", "/grader/program.py", "/grader/access.log"], files={**files, "program.py": p},
                                                            memory=grader.PERF_MEMORY, timeout=600))
            assert isinstance(result, RunResult)
            peak = f"{result.peak_memory_bytes / 2**20:.0f}" if result.peak_memory_bytes else "-"
            table.add_row(name, f"{wall:.1f}", f"{result.seconds:.1f}", peak, result.message, str(result.stdout.splitlines() == log.top))
    console.print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("labs", nargs="*", help="labs to verify (default: every lab)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--full-log", action="store_true", help="C1 on the 1.15 GB log")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workspace:
        Path(workspace).chmod(0o755)
        with Sandbox(INSTANCE, Path(workspace), SandboxLimits(memory="256m", pids=64, seconds=60)) as box:
            sandbox_overhead(box, args.rounds)
            limits(box)
            if args.full_log:
                full_log(box)
    verify_labs(args.labs or [entry.id for entry in catalog.discover() if entry.kind == "lab"])


if __name__ == "__main__":
    main()
