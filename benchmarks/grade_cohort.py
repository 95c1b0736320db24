"""A cohort of N submissions of one lab graded by `breakfix grade`, beside grading them one by one.

Printed as a table; not a test. Three ways to grade the same N submissions (the reference and each fake
fix in turn, made by bench_grade.make_submissions):

- one by one: N runs of `breakfix grade LAB ONE --jobs 1`, one after another -- what a grader does
  without a batch, a `check` per candidate;
- one batch, `--jobs 1`;
- one batch, `--jobs J` (default: what `breakfix grade` itself picks for this machine).

For each: wall time, time per submission, how many passed, peak resident memory of the grading
process tree (sampled every 0.2 s) and the largest sandbox peak a submission reported, and the ratio
of the one-by-one time per submission to this row's. Bounded: each of the three has `--budget` seconds
(default 900; the one-by-one runs share theirs) and what is over it is stopped and reported, never
waited out; the time per submission is then over what was graded:

    .venv/bin/python benchmarks/grade_cohort.py [--lab kv-ttl] [-n 30] [--jobs J] [--budget 900]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from bench_grade import make_submissions, tree_rss
from rich.console import Console
from rich.table import Table

from harness import catalog
from harness.grading.batch import default_jobs

console = Console()


@dataclass
class Run:
    wall: float = 0.0
    peak_rss: int = 0
    passed: int = 0
    graded: int = 0
    sandbox_peak: int = 0
    over_budget: bool = False

    def per_submission(self) -> float:
        return self.wall / self.graded if self.graded else 0.0

    def add(self, other: Run) -> None:
        """One more `breakfix grade` process of a run made of several, one after another."""
        self.wall += other.wall
        self.peak_rss = max(self.peak_rss, other.peak_rss)
        self.passed += other.passed
        self.graded += other.graded
        self.sandbox_peak = max(self.sandbox_peak, other.sandbox_peak)
        self.over_budget = self.over_budget or other.over_budget


def grade(lab: str, paths: list[Path], jobs: int, out: Path, budget: float) -> Run:
    """One `breakfix grade` process, its memory sampled, killed past `budget` seconds."""
    started = time.monotonic()
    process = subprocess.Popen([sys.executable, "-m", "harness", "grade", lab, *map(str, paths), "--jobs", str(jobs), "--out", str(out),
                                "--force", "--json"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    run = Run()
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.2):
            run.peak_rss = max(run.peak_rss, tree_rss(process.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        stdout, _ = process.communicate(timeout=budget)
    except subprocess.TimeoutExpired:
        process.terminate()  # breakfix grade ends its workers and removes their sandboxes on SIGTERM
        try:
            process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
        stdout, run.over_budget = "", True
    done.set()
    sampler.join()
    run.wall = time.monotonic() - started
    if stdout:
        submissions = json.loads(stdout)["submissions"]
        run.graded = len(submissions)
        run.passed = sum(1 for s in submissions if s["passed"])
        run.sandbox_peak = max((s["peak_memory_bytes"] or 0 for s in submissions), default=0)
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lab", default="kv-ttl")
    parser.add_argument("-n", type=int, default=30, help="submissions (default 30)")
    parser.add_argument("--jobs", type=int, default=None, help="the parallel batch's jobs (default: breakfix's own choice)")
    parser.add_argument("--budget", type=float, default=900.0, help="seconds each `breakfix grade` process may take (default 900)")
    args = parser.parse_args()
    lab = catalog.find(args.lab)
    jobs = args.jobs or default_jobs(lab)[0]
    with tempfile.TemporaryDirectory(prefix="grade-cohort-") as scratch:
        root = Path(scratch)
        paths = make_submissions(lab, args.n, root / "subs")
        one_by_one = Run()
        for number, path in enumerate(paths):
            remaining = args.budget - one_by_one.wall
            if remaining <= 0:
                one_by_one.over_budget = True
                break
            one_by_one.add(grade(lab.id, [path], 1, root / "one" / str(number), remaining))
        rows = [("one by one", 1, one_by_one)]
        for run_jobs in dict.fromkeys([1, jobs]):
            rows.append((f"batch, --jobs {run_jobs}", run_jobs, grade(lab.id, paths, run_jobs, root / f"batch-{run_jobs}", args.budget)))
    table = Table(title=f"breakfix grade: {args.n} submissions of {lab.id} on {os.cpu_count()} cores (budget {args.budget:.0f} s per run)")
    for column in ("grading", "jobs", "wall s", "s per submission", "passed", "peak RSS of graders MiB", "peak sandbox MiB",
                   "one by one / this"):
        table.add_column(column, justify="right")
    for name, run_jobs, run in rows:
        over = " (over budget: stopped)" if run.over_budget else ""
        # per graded submission: a run stopped by its budget still compares by what it graded
        ratio = one_by_one.per_submission() / run.per_submission() if run.graded and one_by_one.graded else None
        table.add_row(name, str(run_jobs), f"{run.wall:.1f}{over}", f"{run.per_submission():.2f}", f"{run.passed}/{run.graded}",
                      f"{run.peak_rss / 2**20:.0f}", f"{run.sandbox_peak / 2**20:.0f}" if run.sandbox_peak else "-",
                      f"{ratio:.2f}x" if ratio else "-")
    console.print(table)


if __name__ == "__main__":
    main()
