"""`verify --json` on the real engine: one JSON document on stdout, progress on stderr, each entry
reported, and an unknown id among them does not stop the others (provisions alert-dedup)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from harness.runtime.docker import DockerRuntime

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.uses("alert-dedup")]


def test_verify_json_of_a_real_lab_beside_an_unknown_id() -> None:
    result = subprocess.run([sys.executable, "-m", "harness", "verify", "no-such-lab", "alert-dedup", "--json"],
                            capture_output=True, text=True, timeout=600, env={**os.environ, "COLUMNS": "80"}, check=False)
    assert result.returncode == 3, "an unknown id is a breakfix error, once the others are proved"
    document = json.loads(result.stdout)  # all of stdout
    assert document["schema_version"] == 1 and document["command"] == "verify" and document["passed"] is False
    unknown, lab = document["entries"]
    assert (unknown["entry"], unknown["outcome"], unknown["passed"]) == ("no-such-lab", "invalid", False)
    assert (lab["entry"], lab["outcome"], lab["passed"]) == ("alert-dedup", "passed", True), lab
    assert {"starter", "solve", "check"} <= {step["name"] for step in lab["steps"]}
    assert "▸ check" in result.stderr and "verified alert-dedup" in result.stderr and "Traceback" not in result.stderr
    assert DockerRuntime("alert-dedup").leftovers() == []
