"""The observer's overhead on the system under test: 502-storm's `breakfix check` time with no page open and
with the active page's signal stream open (the observer sampling 4 requests/s through the load balancer),
in alternating rounds, plus the observer's request rate and the `breakfix ui` process's CPU while it runs.

Provisions 502-storm: run it under its entry lock, with its own state dir:

    flock /tmp/bf-lock-502-storm .venv/bin/python benchmarks/ui_observer.py --rounds 5 [--fixed]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import subprocess
import sys
import threading
import time

from ui_common import Page, median, ui_server

SCENARIO = "502-storm"


def breakfix(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


class Stream:
    """An open page: the signal stream read in a thread, counting the http-status points (each one second of requests)."""

    def __init__(self, page: Page) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", page.port, timeout=30)
        self.connection.request("GET", "/api/signals", headers={"x-breakfix-token": page.token})
        self.response = self.connection.getresponse()
        self.requests = 0
        self.seconds = 0
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        try:
            for raw in self.response:
                line = raw.decode()
                if line.startswith("data: "):
                    point = json.loads(line[6:])
                    if point["kind"] == "http-status":
                        self.requests += point["value"]["total"]
                        self.seconds += 1
        except (OSError, ValueError, AttributeError, http.client.HTTPException):
            pass  # closed by close() from the main thread (http.client then reads from a None file: AttributeError)

    def close(self) -> None:
        self.connection.close()


def timed_check() -> tuple[float, bool]:
    started = time.perf_counter()
    done = breakfix("check", "--json")
    return time.perf_counter() - started, json.loads(done.stdout)["passed"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--fixed", action="store_true", help="apply the reference fix first: time the passing check")
    parser.add_argument("--entry", default=SCENARIO, help="an id or entry directory of the same shape (default 502-storm)")
    args = parser.parse_args()
    start = breakfix("start", args.entry)
    if start.returncode != 0:
        raise SystemExit(start.stdout + start.stderr)
    closed: list[float] = []
    opened: list[float] = []
    verdicts: dict[str, set[bool]] = {"closed": set(), "open": set()}
    rates: list[float] = []
    cpu: list[float] = []
    try:
        if args.fixed:
            breakfix("solve", "--apply", "--yes")
        with ui_server() as page:
            for _ in range(args.rounds):
                seconds, passed = timed_check()
                closed.append(seconds)
                verdicts["closed"].add(passed)
                stream = Stream(page)
                time.sleep(3)  # the observer is up and sampling before the check starts
                cpu_before, wall_before, requests_before = cpu_seconds(page.process.pid), time.monotonic(), stream.requests
                seconds, passed = timed_check()
                opened.append(seconds)
                verdicts["open"].add(passed)
                wall = time.monotonic() - wall_before
                cpu.append((cpu_seconds(page.process.pid) - cpu_before) / wall)
                rates.append((stream.requests - requests_before) / wall)
                stream.close()
                time.sleep(2)  # the observer stops once the page is gone
    finally:
        breakfix("stop")
    state = "fixed (passing)" if args.fixed else "broken (failing)"
    print(f"{args.entry} check on the {state} system, median of {args.rounds} alternating rounds\n")
    print("| measure | result |")
    print("|---|---|")
    print(f"| check, no page open | {median(closed)} (verdicts {sorted(verdicts['closed'])}) |")
    print(f"| check, active page open (observer running) | {median(opened)} (verdicts {sorted(verdicts['open'])}) |")
    print(f"| observer requests through the load balancer | {sorted(rates)[len(rates) // 2]:.1f}/s |")
    print(f"| `breakfix ui` process CPU while observing | {100 * sorted(cpu)[len(cpu) // 2]:.1f}% of one core |")


if __name__ == "__main__":
    main()
