"""Batch grading: N submissions of one lab graded with --jobs 1 and with --jobs J, wall time and peak memory.

Printed as a table; not a test. The submissions cycle through the lab's reference solution and each of
its fake fixes (starter + solve.sh, then the fake's script), each copy made distinct by a marker file so
none is skipped as already graded (and --force regrades anyway):

    .venv/bin/python benchmarks/bench_grade.py [--lab alert-dedup] [-n 30] [--jobs J]

--jobs defaults to what `breakfix grade` itself picks for this machine. Peak memory is the largest sum
of resident memory of `breakfix grade` and its workers at any sample (every 0.2 s), and the largest
peak the sandbox reported for a submission's own runs.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from harness import catalog
from harness.grading.batch import default_jobs

console = Console()


def make_submissions(lab: catalog.Entry, count: int, root: Path) -> list[Path]:
    variants: list[Path | None] = [None, *(lab.directory / fake.script for fake in lab.manifest.fake_fixes)]
    paths = []
    for number in range(count):
        target = root / f"sub-{number:03d}"
        shutil.copytree(lab.directory / "starter", target)
        env = {**os.environ, "BREAKFIX_WORKSPACE": str(target), "BREAKFIX_INSTANCE": lab.id}
        subprocess.run(["bash", str(lab.solve_script)], cwd=target, env=env, check=True, capture_output=True)
        fake = variants[number % len(variants)]
        if fake is not None:
            subprocess.run(["bash", str(fake)], cwd=target, env=env, check=True, capture_output=True)
        (target / ".bench-copy").write_text(f"{number}\n")
        paths.append(target)
    return paths


def tree_rss(pid: int) -> int:
    """Resident bytes of `pid` and every descendant, read from /proc."""
    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
            # workers are started from the pool's threads: each thread (task) has its own children
            children = [child for task in Path(f"/proc/{current}/task").iterdir() for child in (task / "children").read_text().split()]
        except OSError:
            continue
        stack.extend(int(child) for child in children)
    return total


def grade(lab: str, paths: list[Path], jobs: int, out: Path) -> tuple[float, int, dict[str, object]]:
    started = time.monotonic()
    process = subprocess.Popen([sys.executable, "-m", "harness", "grade", lab, *map(str, paths), "--jobs", str(jobs),
                                "--out", str(out), "--force", "--json"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.wait(0.2):
            peak = max(peak, tree_rss(process.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout, _ = process.communicate()
    done.set()
    sampler.join()
    return time.monotonic() - started, peak, json.loads(stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lab", default="alert-dedup")
    parser.add_argument("-n", type=int, default=30, help="submissions (default 30)")
    parser.add_argument("--jobs", type=int, default=None, help="the parallel run's jobs (default: breakfix's own choice)")
    args = parser.parse_args()
    lab = catalog.find(args.lab)
    jobs = args.jobs or default_jobs(lab)[0]
    table = Table(title=f"breakfix grade: {args.n} submissions of {lab.id} on {os.cpu_count()} cores")
    for column in ("jobs", "wall s", "s per submission", "passed", "peak RSS of graders MiB", "peak sandbox MiB"):
        table.add_column(column, justify="right")
    with tempfile.TemporaryDirectory(prefix="bench-grade-") as scratch:
        paths = make_submissions(lab, args.n, Path(scratch) / "subs")
        for run_jobs in dict.fromkeys([1, jobs]):
            wall, rss, summary = grade(lab.id, paths, run_jobs, Path(scratch) / f"out-{run_jobs}")
            submissions = summary["submissions"]
            assert isinstance(submissions, list)
            passed = sum(1 for s in submissions if s["passed"])
            sandbox_peak = max((s["peak_memory_bytes"] or 0 for s in submissions), default=0)
            table.add_row(str(run_jobs), f"{wall:.1f}", f"{wall / args.n:.1f}", f"{passed}/{len(submissions)}",
                          f"{rss / 2**20:.0f}", f"{sandbox_peak / 2**20:.0f}" if sandbox_peak else "-")
    console.print(table)


if __name__ == "__main__":
    main()
