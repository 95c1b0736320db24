"""`breakfix verify` again and again: pass counts and the time of every run, per entry.

Printed as tables; not a test. A flaky verify rejects good submissions in CI, so this is how a
scenario or lab proves it is not flaky:

    .venv/bin/python benchmarks/verify_loop.py 502-storm memory-leak --runs 50
    .venv/bin/python benchmarks/verify_loop.py --kind lab --runs 20 --fakes
    .venv/bin/python benchmarks/verify_loop.py all --runs 50 --restart-engine

- each run is a separate `breakfix verify <id>` process (with `--fakes`: every fake fix must be
  rejected every time; when the set of conditions rejecting it changes, each set is shown with the
  number of runs it occurred in);
- `--restart-engine` stops the Docker engine and starts it again (the way `./breakfix.sh` does)
  before the first run of each entry: the first verify after an engine start is the one that
  used to fail;
- `--stop-on-failure` ends an entry's loop at its first failure; by default the loop goes on, so
  the count says how often an entry fails, not only whether it can;
- each run is bounded (`--timeout`, default 15 min): a hung run counts as a failure;
- `--lock-dir DIR`: each run holds an flock on DIR/bf-lock-<id>, so on a machine several people
  share, a loop and their own runs of the same entry (same containers, same ports) take turns.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.table import Table

from harness import catalog, doctor

ROOT = Path(__file__).resolve().parent.parent
console = Console(stderr=True)


@dataclass
class Loop:
    entry_id: str
    seconds: list[float] = field(default_factory=list)
    failures: list[tuple[int, str]] = field(default_factory=list)
    # per fake, how many runs each set of rejecting conditions occurred in
    rejections: dict[str, Counter[tuple[str, ...]]] = field(default_factory=dict)

    @property
    def passed(self) -> int:
        return len(self.seconds) - len(self.failures)


def restart_engine() -> float:
    """Stop dockerd and start it again through the project's own set-up; seconds until it answers."""
    started = time.monotonic()
    if subprocess.run(["systemctl", "is-active", "--quiet", "docker"], check=False, capture_output=True).returncode == 0:
        subprocess.run(["systemctl", "restart", "docker"], check=True)
    else:
        subprocess.run(["pkill", "-TERM", "-x", "dockerd"], check=False)
        deadline = time.monotonic() + 60
        while subprocess.run(["pgrep", "-x", "dockerd"], check=False, capture_output=True).returncode == 0:
            if time.monotonic() > deadline:
                raise SystemExit("dockerd did not stop within 60 s")
            time.sleep(0.2)
        subprocess.run(["bash", "-c", f"source {ROOT}/scripts/bootstrap.sh && ensure_docker"], check=True)
    return time.monotonic() - started


def verify_once(entry_id: str, options: argparse.Namespace, state_dir: Path) -> tuple[bool, float, str, list[dict]]:
    """One verify process: (passed, seconds, the tail of its output when it failed, its fakes)."""
    command = [sys.executable, "-m", "harness.cli", "verify", entry_id, "--json", *(["--fakes"] if options.fakes else [])]
    with entry_lock(options.lock_dir, entry_id):
        return _timed_verify(command, options.timeout, state_dir)


@contextmanager
def entry_lock(lock_dir: Path | None, entry_id: str) -> Iterator[None]:
    if lock_dir is None:
        yield
        return
    with open(lock_dir / f"bf-lock-{entry_id}", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file closes
        yield


def _timed_verify(command: list[str], timeout: float, state_dir: Path) -> tuple[bool, float, str, list[dict]]:
    started = time.monotonic()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                               env={**os.environ, "BREAKFIX_STATE_DIR": str(state_dir)})
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGINT)  # verify cleans up on an interrupt
        stdout, stderr = process.communicate(timeout=120)
        return False, time.monotonic() - started, f"hung: no result within {timeout:.0f} s", []
    seconds = time.monotonic() - started
    if process.returncode != 0:
        return False, seconds, (stderr.strip() or stdout.strip())[-600:], []
    return True, seconds, "", _fakes_of(stdout)


def _fakes_of(stdout: str) -> list[dict]:
    """The fakes of a verify's JSON document (`breakfix verify --json`)."""
    try:
        document = json.loads(stdout)
    except json.JSONDecodeError:
        return []
    return [fake for entry in document.get("entries", []) for fake in entry.get("fakes", [])]


def run_loop(entry_id: str, options: argparse.Namespace, state_dir: Path) -> Loop:
    loop = Loop(entry_id)
    if options.restart_engine:
        console.print(f"[dim]restarting the Docker engine before {entry_id}: {restart_engine():.1f} s[/]")
    for number in range(1, options.runs + 1):
        passed, seconds, why, fakes = verify_once(entry_id, options, state_dir)
        loop.seconds.append(seconds)
        for fake in fakes:
            loop.rejections.setdefault(fake["id"], Counter())[tuple(sorted(fake.get("rejected_by", [])))] += 1
        mark = "[green]pass[/]" if passed else "[red]FAIL[/]"
        console.print(f"{entry_id} run {number}/{options.runs}: {mark} {seconds:.1f} s", highlight=False)
        if not passed:
            loop.failures.append((number, why))
            console.print(f"  {why}", markup=False, highlight=False)
            if options.stop_on_failure:
                break
    return loop


def report(loops: list[Loop], fakes: bool) -> None:
    table = Table(title=f"breakfix verify{' --fakes' if fakes else ''}, run after run")
    # the id is what a reader types next: never cut, the run times wrap instead
    table.add_column("entry", no_wrap=True, min_width=max((len(loop.entry_id) for loop in loops), default=5))
    for column in ("passed", "min s", "median s", "max s", "every run (s)"):
        table.add_column(column)
    for loop in loops:
        table.add_row(loop.entry_id, f"{loop.passed}/{len(loop.seconds)}", f"{min(loop.seconds):.1f}",
                      f"{statistics.median(loop.seconds):.1f}", f"{max(loop.seconds):.1f}",
                      " ".join(f"{s:.0f}" for s in loop.seconds))
    out = Console()
    out.print(table)
    for loop in loops:
        for number, why in loop.failures:
            out.print(f"{loop.entry_id} run {number} failed: {why}", markup=False, highlight=False)
        for fake_id, sets in sorted(loop.rejections.items()):
            if len(sets) > 1:  # rejected every time, but not always by the same conditions: worth reading
                runs = "; ".join(f"{count} run{'' if count == 1 else 's'} by {', '.join(conditions) or 'nothing named'}" for conditions, count in sets.most_common())
                out.print(f"{loop.entry_id} fake {fake_id} was rejected by varying conditions: {runs}", highlight=False)


def selected(options: argparse.Namespace) -> list[str]:
    entries = catalog.discover()
    if options.entries and options.entries != ["all"]:
        return [catalog.find(entry_id).id for entry_id in options.entries]
    machine = doctor.by_requirement(sorted({r for entry in entries for r in entry.manifest.requires}))
    chosen = []
    for entry in entries:
        missing = doctor.unmet(list(entry.manifest.requires), machine)
        if options.kind and entry.kind != options.kind:
            continue
        if missing:
            console.print(f"[yellow]skipped[/] {entry.id}: this machine lacks {', '.join(missing)}")
            continue
        chosen.append(entry.id)
    return chosen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("entries", nargs="*", help="entry ids, or `all` (the default): every entry this machine can run")
    parser.add_argument("--kind", choices=("scenario", "lab"), help="with `all`: only this kind")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--fakes", action="store_true", help="verify --fakes: every fake must be rejected every time")
    parser.add_argument("--restart-engine", action="store_true", help="restart dockerd before each entry's first run")
    parser.add_argument("--stop-on-failure", action="store_true")
    parser.add_argument("--timeout", type=float, default=900, help="seconds one verify may take")
    parser.add_argument("--lock-dir", type=Path, help="take turns with other runs of the same entry through flock files here")
    options = parser.parse_args()
    state_dir = Path(tempfile.mkdtemp(prefix="bf-verify-loop-"))
    loops = []
    try:
        for entry_id in selected(options):
            loops.append(run_loop(entry_id, options, state_dir))
    except KeyboardInterrupt:
        console.print("[yellow]interrupted: the table shows the runs that finished[/]")
    if loops and any(loop.seconds for loop in loops):
        report([loop for loop in loops if loop.seconds], options.fakes)
    sys.exit(0 if loops and all(loop.passed == len(loop.seconds) for loop in loops) else 1)


if __name__ == "__main__":
    main()
