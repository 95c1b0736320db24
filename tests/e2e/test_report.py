"""`breakfix report` after a real attempt on 502-storm: start, check (FAIL), hint, the reference fix,
check (PASS), stop; the draft's timeline is the one the CLI lived through and the history recorded."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.runtime.docker import DockerRuntime

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.uses("502-storm")]
SCENARIO = "502-storm"


def breakfix(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness.cli", *args], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "COLUMNS": "200"})


def stamp(at: float, start: float) -> str:
    minutes, seconds = divmod(round(at - start), 60)
    return f"**{time.strftime('%H:%M:%S', time.gmtime(at))} UTC** (+{minutes}m{seconds:02d}s)"


def test_report_of_a_real_attempt(tmp_path: Path) -> None:
    started = breakfix("start", SCENARIO)
    assert started.returncode == 0, started.stdout + started.stderr
    try:
        failing = breakfix("check", "--json")
        assert failing.returncode == 1, failing.stdout + failing.stderr
        failed = {c["id"]: c["message"] for c in json.loads(failing.stdout)["conditions"] if c["outcome"] in ("failed", "error")}
        assert "test_no_server_errors_under_load" in failed
        hint = breakfix("hint")
        assert "hint 1/3" in hint.stdout, hint.stdout + hint.stderr
        assert breakfix("solve", "--apply", "--yes").returncode == 0
        passing = breakfix("check")
        assert passing.returncode == 0, passing.stdout
    finally:
        stopped = breakfix("stop")
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    assert DockerRuntime(SCENARIO).leftovers() == []

    [attempt] = json.loads(breakfix("history", "--json").stdout)["attempts"]
    out = tmp_path / "postmortem.md"
    report = breakfix("report", "--out", str(out))
    assert report.returncode == 0, report.stderr
    draft = out.read_text(encoding="utf-8")
    assert draft == breakfix("report", "--attempt", str(attempt["id"])).stdout, "the latest attempt is the default"
    assert draft.startswith(f"# Postmortem (draft): {SCENARIO}, attempt #{attempt['id']}\n")

    start = attempt["started"]
    first, last = attempt["checks"]
    [taken] = attempt["hints_taken"]
    assert attempt["handed_over"] <= first["at"] <= taken["at"] <= attempt["solution_applied"] <= last["at"] <= attempt["ended"], "recorded in the order they ran"
    assert first["failing"] == failed, "the history holds the check's failing conditions and messages"
    timeline = draft.split("## Timeline\n\n", 1)[1].split("\n\n## ", 1)[0]
    heads = [line for line in timeline.splitlines() if line.startswith("- ")]
    assert heads == [
        f"- {stamp(start, start)} attempt started: provisioning, then the fault is injected",
        f"- {stamp(attempt['handed_over'], start)} handed over, broken: the clock starts",
        f"- {stamp(first['at'], start)} check 1: FAIL, {len(failed)} of {first['passed'] + first['failed']} conditions failing",
        f"- {stamp(taken['at'], start)} hint 1/3 taken",
        f"- {stamp(attempt['solution_applied'], start)} reference solution applied (`breakfix solve --apply`)",
        f"- {stamp(last['at'], start)} check 2: PASS, all {last['passed']} conditions pass (the reference fix's pass, not a solve)",
        f"- {stamp(attempt['ended'], start)} stopped: solution-applied",
    ]
    for condition, message in failed.items():  # under check 1, and in detection and impact
        assert f"    - `{condition}`: {' '.join(message.split())}\n" in timeline
        assert f"- `{condition}`: {' '.join(message.split())}" in draft.split("## Detection", 1)[1].split("## Timeline", 1)[0]
        assert f"- `{condition}` (failing from +" in draft.split("## Impact", 1)[1]
    assert "    > A 502 is the load balancer telling you" in timeline, "the hint's text, as `breakfix hint` printed it"
    assert attempt["solved_after"] is None and "not solved: the reference solution was applied" in draft, "solve --apply is not the learner's solve"
    assert "## Root cause\n\n> ✍ **To write:**" in draft and "## Fix\n\n> ✍ **To write:**" in draft
