"""Settle: bounded waits for readiness, reported, never a retry of a check (no Docker needed)."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest
from pydantic import ValidationError

from harness.manifest import SettleSpec
from harness.procs import start_time as _start_time
from harness.runtime.docker import DockerRuntime
from harness.runtime.terraform import Run
from harness.settle import Readiness, declared, wait_until_live


def live_after(seconds: float, detail: str = "in flight") -> Readiness:
    ready_at = time.monotonic() + seconds
    return Readiness(f"something live after {seconds}s", lambda: None if time.monotonic() >= ready_at else detail, timeout=5)


def test_a_live_system_costs_one_look_and_prints_nothing() -> None:
    looks = []
    lines: list[str] = []
    waited = wait_until_live([Readiness("x", lambda: looks.append(1)), Readiness("y", lambda: None)], lines.append)
    assert waited == [] and lines == [] and looks == [1]


def test_conditions_are_waited_for_together_and_reported_with_their_time() -> None:
    lines: list[str] = []
    started = time.monotonic()
    waited = wait_until_live([live_after(0.3), live_after(0.3), live_after(0)], lines.append)
    assert time.monotonic() - started < 0.55, "polled together: the wait is the longest, not the sum"
    assert [w.gave_up for w in waited] == [None, None] and all(0.3 <= w.seconds < 0.55 for w in waited)
    assert lines[0].startswith("waiting for something live after 0.3s... 0.") and lines[0].endswith(" s")


def test_past_its_bound_a_condition_is_given_up_and_said_never_raised() -> None:
    lines: list[str] = []
    started = time.monotonic()
    waited = wait_until_live([Readiness("nginx to finish reloading", lambda: "lb: 2 old workers", timeout=0.2)], lines.append)
    assert 0.2 <= time.monotonic() - started < 0.5
    assert waited[0].gave_up == "lb: 2 old workers"
    assert lines == ["still waiting for nginx to finish reloading after 0.2 s (lb: 2 old workers): grading anyway"]


def test_declared_conditions_wait_for_exit_zero_and_skip_a_stopped_service() -> None:
    spec = SettleSpec(what="pricing to answer again", service="pricing", command=["curl", "-fsS", "http://127.0.0.1:8000/healthz"])
    codes = iter([7, -1, 0])
    condition = declared([spec], lambda _: next(codes))[0]
    assert condition.what == "pricing to answer again" and condition.timeout == 10
    assert condition.pending() == "`curl -fsS http://127.0.0.1:8000/healthz` in pricing exits 7"
    assert condition.pending() == "pricing is not running"
    assert condition.pending() is None
    assert declared([spec], lambda _: None)[0].pending() is None, "stopped on purpose: nothing to wait for"
    with pytest.raises(ValidationError):
        SettleSpec(what="x", service="pricing", command=[])


class FakeApi:
    """The two engine calls the nginx condition makes, answering with a `docker top` listing."""

    def __init__(self, rows: list[list[str]]) -> None:
        self.rows = rows

    def top(self, container_id: str, ps_args: str) -> dict:
        assert "wchan" in ps_args
        return {"Titles": ["PID", "WCHAN", "COMMAND"], "Processes": self.rows}

    def inspect_container(self, container_id: str) -> dict:
        return {"Config": {"Labels": {"breakfix.service": "lb"}}}


def nginx_state(rows: list[list[str]]) -> str | None:
    runtime = DockerRuntime("demo", client=type("Client", (), {"api": FakeApi(rows)})())  # type: ignore[arg-type]
    return runtime._nginx_in_flight("abc123")


MASTER = "nginx: master process nginx -g daemon off;"


def test_nginx_is_live_only_once_the_master_waits_and_no_old_worker_serves() -> None:
    idle = ["1", "sigsuspend.isra.0", MASTER]
    worker = ["2", "do_epoll_wait", "nginx: worker process"]
    assert nginx_state([idle, worker, worker]) is None
    # the 100 ms after a reload: new workers started, the old ones not told to stop yet
    assert "still applying a reload" in (nginx_state([["1", "hrtimer_nanosleep", MASTER], worker, worker, worker]) or "")
    assert "still applying a reload" in (nginx_state([["1", "-", MASTER], worker]) or ""), "a running master is busy"
    old = ["3", "do_epoll_wait", "nginx: worker process is shutting down"]
    assert "1 worker(s) of the previous configuration" in (nginx_state([idle, worker, old]) or "")
    # a kernel that hides wait channels: only the workers' titles can tell
    assert nginx_state([["1", "-", MASTER], ["2", "-", "nginx: worker process"]]) is None
    assert nginx_state([["1", "sigsuspend", "python3 app.py"]]) is None, "no nginx: nothing to wait for"


def write_run(directory: Path, events: list[dict], *, alive: bool) -> Run:
    directory.mkdir(parents=True)
    (directory / "terraform.log").write_text("".join(json.dumps(event) + "\n" for event in events))
    if alive:
        (directory / "pid").write_text(f"{os.getpid()} {_start_time(os.getpid())}")
    else:
        process = subprocess.Popen(["true"])
        process.wait()
        (directory / "pid").write_text(f"{process.pid} {_start_time(process.pid) or 0}")
    return Run(directory)


def hook(kind: str, address: str) -> dict:
    return {"type": kind, "hook": {"resource": {"addr": address}}}


def test_a_terraform_run_is_settling_only_between_steps_or_exiting(tmp_path: Path) -> None:
    planning = write_run(tmp_path / "planning", [{"type": "planned_change"}], alive=True)
    baking = write_run(tmp_path / "baking", [hook("apply_start", "a"), hook("apply_complete", "a"), hook("apply_start", "bake")], alive=True)
    exiting = write_run(tmp_path / "exiting", [hook("apply_start", "a"), hook("apply_complete", "a"), hook("apply_start", "bake"), hook("apply_errored", "bake")], alive=True)
    killed = write_run(tmp_path / "killed", [hook("apply_start", "a")], alive=False)
    # -replace: the same address destroyed, then created (and baking)
    replacing = write_run(tmp_path / "replacing", [hook("apply_start", "bake"), hook("apply_complete", "bake"), hook("apply_start", "bake")], alive=True)
    assert [run.finishing() for run in (planning, baking, exiting, killed, replacing)] == [False, False, True, False, False]
