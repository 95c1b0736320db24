"""Every coding lab end to end on the real engine: `verify --fakes` proves the starter fails, the
reference solution passes, each wrong implementation is rejected and nothing is left behind.
Parametrized over the catalog, so a new lab is covered by adding its directory."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from harness import catalog
from harness.runtime.docker import DockerRuntime

pytestmark = [pytest.mark.docker, pytest.mark.slow]
LABS = [entry for entry in catalog.discover() if entry.kind == "lab"]


def shared_by(lab: catalog.Entry) -> list[str]:
    return [lab.id, *(["aws-emulator"] if {"aws", "terraform"} & set(lab.manifest.requires) else [])]


@pytest.mark.parametrize("lab_id", [pytest.param(lab.id, marks=pytest.mark.uses(*shared_by(lab))) for lab in LABS])
def test_verify_lab_with_every_wrong_implementation(lab_id: str, rejected_fakes) -> None:
    entry = catalog.find(lab_id)
    assert entry.manifest.fake_fixes, f"{lab_id} declares no wrong implementation to reject"
    rejected = rejected_fakes(entry)
    assert all(rejected.values()), f"every wrong implementation fails at least one named check: {rejected}"
    assert DockerRuntime(lab_id).leftovers() == []


def breakfix(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness.cli", *args], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "COLUMNS": "200"}, check=False)


@pytest.mark.uses("alert-dedup")
def test_learner_flow_on_a_lab() -> None:
    """list, start (starter in the workspace), check fails with messages, solve, check passes, stop."""
    listed = breakfix("list", "--kind", "lab", "--tag", "streaming")
    assert listed.returncode == 0 and "alert-dedup" in listed.stdout and "502-storm" not in listed.stdout
    started = breakfix("start", "alert-dedup")
    assert started.returncode == 0, started.stderr
    assert "next: implement dedup.py in the workspace" in started.stdout
    starter = breakfix("check")
    assert starter.returncode == 1 and "NotImplementedError" in starter.stdout
    assert breakfix("solve", "--apply", "--yes").returncode == 0
    solved = breakfix("check")
    assert solved.returncode == 0, solved.stdout[-2000:]
    assert breakfix("stop").returncode == 0
    assert DockerRuntime("alert-dedup").leftovers() == []
