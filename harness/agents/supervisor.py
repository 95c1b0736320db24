"""PID 1 of every sandbox container: runs the learner's command within the limits and reports.

This file is mounted read-only into the container and runs there as root under `python3 -E -s`
(standard library only; its directory, read-only too, is the only one on sys.path beyond Python's own). It starts the learner's program as an unprivileged user, pumps its
output (capped, so an endless print cannot fill the host's disk through the container log),
samples the cgroup's anonymous memory, enforces the wall-clock limit itself and, as PID 1,
ends every process left in the container with one kill(-1). Its last act is one report line on
stderr, tagged with a per-run nonce the learner cannot read (the config arrives in PID 1's
environment, which is private to root), so the host learns what happened even on a timeout.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING or __package__:  # imported on the host, as part of harness.agents
    from .constants import REPORT_TAG, SANDBOX_CONFIG_VARIABLE
else:  # run in a container, the constants bound beside this file (harness.agents.volumes)
    from breakfix_constants import REPORT_TAG, SANDBOX_CONFIG_VARIABLE

CGROUP_V1 = Path("/sys/fs/cgroup/memory/memory.stat").exists()
SAMPLE_SECONDS = 0.05
# The OOM killer must pick the learner's program, never the supervisor that reports on it. Only
# the program itself (already `nobody`, and dumpable again after exec) may raise its own score.
OOM_FIRST = ["/bin/sh", "-c", 'echo 1000 2>/dev/null > /proc/self/oom_score_adj; exec "$@"', "sandbox"]


def _counter(path: str, key: str) -> int:
    """One `key value` line of a cgroup file (oom kills, pids-limit hits); 0 when absent."""
    try:
        for line in Path(path).read_text().splitlines():
            name, _, value = line.partition(" ")
            if name == key:
                return int(value)
    except OSError:
        pass
    return 0


def oom_kills() -> int:
    if CGROUP_V1:
        return _counter("/sys/fs/cgroup/memory/memory.oom_control", "oom_kill")
    return _counter("/sys/fs/cgroup/memory.events", "oom_kill")


def pids_limit_hits() -> int:
    return _counter("/sys/fs/cgroup/pids/pids.events" if CGROUP_V1 else "/sys/fs/cgroup/pids.events", "max")


def anon_memory() -> int:
    """Anonymous memory of the whole container (all processes), excluding the page cache:
    reading a big input through the cache must not count as holding it in memory."""
    if CGROUP_V1:
        return _counter("/sys/fs/cgroup/memory/memory.stat", "total_rss")
    return _counter("/sys/fs/cgroup/memory.stat", "anon")


def own_rss() -> int:
    try:
        return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, IndexError, ValueError):
        return 0


class Pump:
    """Copies the child's stdout/stderr to ours, keeping at most `limit` bytes of each."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.selector = selectors.DefaultSelector()
        self.written = {1: 0, 2: 0}
        self.dropped = {1: 0, 2: 0}

    def add(self, read_fd: int, target: int) -> None:
        self.selector.register(read_fd, selectors.EVENT_READ, target)

    @property
    def open(self) -> bool:
        return bool(self.selector.get_map())

    def step(self, timeout: float) -> None:
        if not self.open:
            time.sleep(timeout)
            return
        for key, _ in self.selector.select(timeout):
            data = os.read(key.fd, 65536)
            if not data:
                self.selector.unregister(key.fd)
                os.close(key.fd)
                continue
            target = key.data
            room = max(0, self.limit - self.written[target])
            if room:
                os.write(target, data[:room])  # blocking write: the host reads the log as we go
                self.written[target] += min(room, len(data))
            self.dropped[target] += max(0, len(data) - room)


def reap(pids: dict[int, int]) -> None:
    """Collect every exited process (PID 1 inherits orphans), remembering each status."""
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        pids[pid] = status


def reap_all(pids: dict[int, int]) -> None:
    """After kill(-1): wait until every process is gone (SIGKILL is prompt), remembering each status."""
    while True:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            return
        pids[pid] = status


def main() -> int:
    config = json.loads(os.environ.pop(SANDBOX_CONFIG_VARIABLE))
    nonce = config["nonce"]
    report: dict[str, object] = {"exit_code": None, "signal": None, "timed_out": False, "error": None}
    oom_before, pids_before = oom_kills(), pids_limit_hits()
    pump = Pump(int(config["output_limit"]))
    peak_anon = 0
    baseline = anon_memory() - own_rss()  # what the container held before the learner ran
    started = time.monotonic()
    stdin = open(config["stdin"], "rb") if config.get("stdin") else subprocess.DEVNULL  # noqa: SIM115
    out_read, out_write = os.pipe()
    err_read, err_write = os.pipe()
    try:
        child = subprocess.Popen(
            [*OOM_FIRST, *config["argv"]],
            stdin=stdin,
            stdout=out_write,
            stderr=err_write,
            cwd=config["cwd"],
            env=dict(os.environ),
            user=config["uid"],
            group=config["uid"],
            extra_groups=[],
            start_new_session=True,
        )
    except OSError as exc:
        report["error"] = f"could not start {config['argv'][0]!r}: {exc.strerror or exc}"
        child = None
    os.close(out_write)
    os.close(err_write)
    pump.add(out_read, 1)
    pump.add(err_read, 2)
    statuses: dict[int, int] = {}
    deadline = started + float(config["timeout"])
    while child is not None:
        pump.step(SAMPLE_SECONDS)
        peak_anon = max(peak_anon, anon_memory() - own_rss() - baseline)
        reap(statuses)
        if child.pid in statuses:
            break
        if time.monotonic() > deadline:
            report["timed_out"] = True
            break
    seconds = time.monotonic() - started
    # whatever the learner left running (daemons, a fork bomb) ends with the program
    with contextlib.suppress(ProcessLookupError):  # nothing left
        os.kill(-1, signal.SIGKILL)
    while pump.open:
        pump.step(SAMPLE_SECONDS)
    reap_all(statuses)
    if child is not None and child.pid in statuses:
        status = statuses[child.pid]
        if os.WIFSIGNALED(status):
            report["signal"] = os.WTERMSIG(status)
            report["exit_code"] = 128 + os.WTERMSIG(status)
        else:
            report["exit_code"] = os.WEXITSTATUS(status)
    # ru_maxrss: the largest single process exactly; the sampled cgroup figure: the sum over processes
    children_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    report.update(
        seconds=round(seconds, 4),
        oom_kills=oom_kills() - oom_before,
        pids_limit_hits=pids_limit_hits() - pids_before,
        peak_memory_bytes=max(children_peak, peak_anon),
        stdout_dropped=pump.dropped[1],
        stderr_dropped=pump.dropped[2],
    )
    sys.stderr.write(f"{REPORT_TAG}{nonce} {json.dumps(report)}\n")
    sys.stderr.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
