"""check_timeout end to end: a tiny lab whose check hangs on demand, graded by the real CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.docker]

LAB = {
    "lab.yaml": """id: slow-check
title: A check that can hang
summary: A lab whose only check sleeps while the workspace holds a file named hang.
difficulty: easy
question: C1
time_limit: 5
requires: [docker]
entry: answer.py
check_timeout: 2
hints: [hints/01.md]
""",
    "hints/01.md": "Look for a file named hang.\n",
    "README.md": "# A check that can hang\n\nWrite nothing; remove `hang` to make the check quick.\n",
    "starter/answer.py": "ANSWER = 42\n",
    "checks/test_slow.py": '''import time


def test_quick():
    """A quick condition"""


def test_sleeps(instance):
    """The workspace holds no file named hang"""
    while (instance.workspace / "hang").exists():
        time.sleep(0.1)
''',
    "solution/answer.py": "ANSWER = 42\n",
    "solution/solve.sh": "#!/usr/bin/env bash\nrm -f hang\n",
    "solution/SOLUTION.md": "# Solution\n\nRemove `hang`.\n",
}


@pytest.fixture()
def content(tmp_path: Path) -> Path:
    root = tmp_path / "content"
    for name, text in LAB.items():
        path = root / "labs" / "slow-check" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (root / "scenarios").mkdir()
    return root


def test_a_check_past_check_timeout_ends_clearly_and_leaves_the_instance_usable(content: Path) -> None:
    env = {**os.environ, "BREAKFIX_CONTENT": str(content), "COLUMNS": "200"}

    def breakfix(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "harness.cli", *args], capture_output=True, text=True, timeout=120, env=env, check=False)

    started = breakfix("start", "slow-check")
    assert started.returncode == 0, started.stdout + started.stderr
    try:
        workspace = Path(next(line.split("=", 1)[1] for line in started.stdout.split() if line.startswith("BREAKFIX_WORKSPACE=")))
        (workspace / "hang").touch()
        timed_out = breakfix("check", "--json")
        assert timed_out.returncode == 1, timed_out.stdout + timed_out.stderr
        grade = json.loads(timed_out.stdout)
        by_id = {c["id"]: c for c in grade["conditions"]}
        assert grade["passed"] is False and by_id["test_quick"]["outcome"] == "passed"
        assert by_id["test_sleeps"]["outcome"] == "error"
        assert by_id["test_sleeps"]["message"].startswith("check timed out after 2 s in test_sleeps")
        assert "running" in breakfix("status").stdout, "a timed-out check tears nothing down"
        (workspace / "hang").unlink()
        passing = breakfix("check")
        assert passing.returncode == 0 and "all conditions pass" in passing.stdout, passing.stdout + passing.stderr
    finally:
        stopped = breakfix("stop")
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
