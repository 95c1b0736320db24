"""Start, check and verify latency and stack memory of Docker scenarios, beside the raw tools.

Printed as a table; not a test. Run on an otherwise idle machine:

    .venv/bin/python benchmarks/bench_docker_scenarios.py [scenario ...] [--rounds N]

For each scenario:
- raw compose up: `docker compose up -d --wait` (or docker-compose v1 `up -d` + waiting for the
  same healthchecks) of the same stack file, its healthchecks every 200 ms so the raw tool is at
  its fastest -- what breakfix's provision step replaces; a stack with a pki.yaml gets its lab
  certificates written before the clock starts (breakfix's start makes them inside its time);
- breakfix start up to a confirmed-broken system: provision + baseline + inject + confirm. Cold is
  the first start in a fresh state dir (it runs the baseline); warm ones reuse that baseline proof;
  `start --baseline` reruns it;
- breakfix check (the CLI, one grading run) beside a plain `pytest` run of the same checks, on
  the broken system and after the reference fix;
- breakfix verify (without and with fakes);
- peak memory of the stack's containers during a check (docker stats), and of the CLI process.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import yaml
from rich.console import Console
from rich.table import Table

from harness import catalog
from harness.grading.runner import PYTEST_INI
from harness.runtime import pki
from harness.runtime.docker import compose_command, connect

console = Console()


def timed(command: list[str], env: dict[str, str] | None = None, ok: tuple[int, ...] = (0,)) -> float:
    """Wall seconds of one command; an unexpected exit code aborts the benchmark with its output."""
    started = time.monotonic()
    result = subprocess.run(command, capture_output=True, text=True, env={**os.environ, **(env or {})})
    if result.returncode not in ok:
        raise SystemExit(f"{' '.join(command)} exited {result.returncode}:\n{result.stdout[-1500:]}{result.stderr[-1500:]}")
    return time.monotonic() - started


def breakfix(*args: str) -> list[str]:
    return [sys.executable, "-m", "harness.cli", *args]


def fastest_healthchecks(stack_file: Path) -> None:
    """The raw tool at its best: compose waits for the engine's healthcheck schedule (the first
    check runs one interval after start), so the copy checks every 200 ms."""
    stack = yaml.safe_load(stack_file.read_text())
    for service in stack["services"].values():
        if "healthcheck" in service:
            service["healthcheck"].update(interval="200ms", retries=100)
    stack_file.write_text(yaml.safe_dump(stack))


def write_lab_certificates(stack: Path) -> None:
    """The certificates a stack's pki.yaml names, written before the clock starts, by the same pki runtime
    breakfix's provision runs: a user of the raw tool has made them beforehand, and without them the
    stack's TLS containers exit at once."""
    certificates = pki.PkiRuntime(stack)
    if certificates.spec_file.is_file():
        certificates.provision(lambda _: None)


RAW_UP_TIMEOUT = 180.0  # seconds the raw stack gets to be healthy


def raw_compose_up(entry: catalog.Entry, client) -> float | str:
    """Seconds for the raw compose CLI to bring the same stack up healthy, or why that was not measured."""
    compose = compose_command()
    if compose is None or entry.stack_file is None:
        return "not measured: no compose CLI here (benchmarks/setup.sh installs Debian's docker-compose)"
    project = f"rawbench{entry.id.replace('-', '')}"
    workdir = Path(tempfile.mkdtemp(prefix="bfbench-"))
    shutil.copytree(entry.stack_file.parent, workdir / "stack")
    stack_file = workdir / "stack" / entry.stack_file.name
    fastest_healthchecks(stack_file)
    write_lab_certificates(workdir / "stack")
    base = [*compose, "-p", project, "-f", str(stack_file)]
    wait = ["--wait"] if compose[-1] == "compose" else []
    try:
        started = time.monotonic()
        try:
            up = subprocess.run([*base, "up", "-d", *wait], check=False, capture_output=True, text=True, timeout=RAW_UP_TIMEOUT)
        except subprocess.TimeoutExpired:
            return f"not measured: the stack alone was not healthy within {RAW_UP_TIMEOUT:.0f} s"
        if up.returncode != 0:
            return f"not measured: the stack alone does not come up ({up.stderr.strip().splitlines()[-1:]})"
        while not wait:  # v1 has no --wait: poll the same healthchecks
            containers = client.containers.list(all=True, filters={"label": f"com.docker.compose.project={project}"})
            exited = sorted(c.name for c in containers if c.attrs["State"]["Status"] == "exited")
            if exited:  # e.g. a stack that needs files breakfix's provision writes (certificates, keys)
                return f"not measured: the stack alone does not come up ({', '.join(exited)} exited)"
            if containers and all(c.attrs["State"].get("Health", {}).get("Status", "healthy") == "healthy" for c in containers):
                break
            if time.monotonic() - started > RAW_UP_TIMEOUT:
                return f"not measured: the stack alone was not healthy within {RAW_UP_TIMEOUT:.0f} s"
            time.sleep(0.05)
        return time.monotonic() - started
    finally:
        subprocess.run([*base, "down", "-v", "-t", "1"], capture_output=True)
        shutil.rmtree(workdir, ignore_errors=True)


def raw_compose_ups(entry: catalog.Entry, client, rounds: int) -> tuple[list[float], str]:
    """raw_compose_up `rounds` times: the seconds of those that came up, and why one did not ("" if all did)."""
    attempts = [raw_compose_up(entry, client) for _ in range(rounds)]
    return [seconds for seconds in attempts if isinstance(seconds, float)], next((a for a in attempts if isinstance(a, str)), "")


def sample_stack_memory(instance: str, client, stop: threading.Event, peaks: list[int]) -> None:
    """Sum of the instance's containers' memory usage, sampled until `stop` is set."""
    while not stop.is_set():
        containers = client.containers.list(filters={"label": f"breakfix.instance={instance}"})
        peaks.append(sum(c.stats(stream=False).get("memory_stats", {}).get("usage", 0) for c in containers))


def check_beside_plain_pytest(entry: catalog.Entry, rounds: int) -> tuple[float, float]:
    """Median seconds of `breakfix check` and of a plain pytest run of the same checks, interleaved."""
    checks, plain = [], []
    for _ in range(rounds):
        checks.append(timed(breakfix("check", "--json"), ok=(0, 1)))
        plain.append(timed(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "harness.grading.plugin",
             "-c", str(PYTEST_INI), "--rootdir", str(entry.checks_dir), "--import-mode=importlib", str(entry.checks_dir)],
            env={"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}, ok=(0, 1)))
    return statistics.median(checks), statistics.median(plain)


def solved_checks_and_memory(entry: catalog.Entry, rounds: int, client) -> tuple[float, float, int]:
    """The reference fix applied to the active instance, then check_beside_plain_pytest on it while the
    stack's memory is sampled: (check, plain pytest, peak bytes)."""
    timed(breakfix("solve", "--apply", "--yes"))
    peaks: list[int] = []
    stop = threading.Event()
    sampler = threading.Thread(target=sample_stack_memory, args=(entry.id, client, stop, peaks), daemon=True)
    sampler.start()
    fixed, plain_fixed = check_beside_plain_pytest(entry, rounds)
    stop.set()
    sampler.join(30)
    return fixed, plain_fixed, max(peaks, default=0)


def bench(entry: catalog.Entry, rounds: int, client) -> list[tuple[str, str, str, str]]:
    state = Path(tempfile.mkdtemp(prefix="bfbench-state-"))
    os.environ["BREAKFIX_STATE_DIR"] = str(state)
    rows = []
    raw, unmeasured = raw_compose_ups(entry, client, rounds)

    starts = []
    for _ in range(rounds):
        starts.append(timed(breakfix("start", entry.id)))
        timed(breakfix("stop"))
    cold, warm = starts[0], statistics.median(starts[1:] or starts)
    rows.append(("start -> confirmed broken, cold", f"{cold:.1f}s", "", "first start: runs the baseline"))
    rebaselined = []
    for _ in range(rounds):
        rebaselined.append(timed(breakfix("start", entry.id, "--baseline")))
        timed(breakfix("stop"))
    timed(breakfix("start", entry.id))
    broken, plain_broken = check_beside_plain_pytest(entry, rounds)
    fixed, plain_fixed, peak = solved_checks_and_memory(entry, rounds, client)
    timed(breakfix("stop"))
    # the raw equivalent of a start: compose up to healthy, then one plain pytest run of the checks
    raw_median = statistics.median(raw) if raw else None
    if raw_median is None:
        rows.append(("raw compose up, healthy (median)", "-", unmeasured, ""))
    else:
        rows.append(("raw compose up, healthy (median)", f"{raw_median:.1f}s", "", " ".join(compose_command() or [])))
    for label, seconds, note in (
        ("start -> confirmed broken, warm (median)", warm, "reuses the cold start's baseline proof; injects and confirms"),
        ("start --baseline, warm (median)", statistics.median(rebaselined), "reruns the baseline: a passing run of every check"),
    ):
        if raw_median is None:
            ratio = "no ratio: raw compose up not measured"
        else:
            raw_start = raw_median + plain_broken
            ratio = f"{seconds / raw_start:.2f}x raw up + plain pytest ({raw_start:.1f}s); {seconds / raw_median:.2f}x raw up alone"
        rows.append((label, f"{seconds:.1f}s", ratio, note))
    rows += check_rows({"broken": (broken, plain_broken), "fixed": (fixed, plain_fixed)}, "system")
    rows.append(("stack memory peak during check", f"{peak / 2**20:.0f} MiB", "", "sum over the stack's containers, fixed system"))
    rows += verify_rows(entry, "system")
    shutil.rmtree(state, ignore_errors=True)
    return rows


def check_rows(checks: dict[str, tuple[float, float]], thing: str) -> list[tuple[str, str, str, str]]:
    """Rows of `breakfix check` beside plain pytest: {"broken": (check, plain), "fixed": ...}."""
    rows = []
    for system, (check, plain) in checks.items():
        rows.append((f"plain pytest of the same checks, {system} (median)", f"{plain:.2f}s", "", "pytest -p harness.grading.plugin"))
        rows.append((f"breakfix check, {system} (median)", f"{check:.2f}s", f"{check / plain:.2f}x plain pytest", f"on the {system} {thing}"))
    return rows


def verify_rows(entry: catalog.Entry, thing: str) -> list[tuple[str, str, str, str]]:
    """`breakfix verify` of the entry, then `verify --fakes`, timed once each."""
    plain = timed(breakfix("verify", entry.id))
    fakes = timed(breakfix("verify", entry.id, "--fakes"))
    return [("verify", f"{plain:.1f}s", "", "healthy, broken, solved, teardown"),
            ("verify --fakes", f"{fakes:.1f}s", "", f"{len(entry.manifest.fake_fixes)} fake fixes, each on a fresh broken {thing}")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenarios", nargs="*", default=["502-storm"])
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()
    client = connect()
    for scenario in options.scenarios:
        table = Table(title=f"breakfix benchmark: {scenario}")
        for column in ("measure", "value", "beside the raw tool", "notes"):
            table.add_column(column)
        for row in bench(catalog.find(scenario), options.rounds, client):
            table.add_row(*row)
        console.print(table)
    console.print(f"benchmark process peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
