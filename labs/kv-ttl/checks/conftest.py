"""The grader of kv-ttl: kv_grader.py runs inside the sandbox against the learner's KVStore (and,
for the time budget, against the reference in the same process); each check reads one finding."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from harness.grading.context import LabContext
from harness.runtime.sandbox import Sandbox

GRADER = Path(__file__).with_name("kv_grader.py")
MARK = "@@kv "


def findings_of(sandbox: Sandbox, suite: str, files: dict[str, Path]) -> dict[str, Any]:
    result = sandbox.run(["python3", "/grader/kv_grader.py", suite], files={"kv_grader.py": GRADER, **files})
    found = result.marked_json(MARK)
    assert isinstance(found, dict), f"the {suite} checks could not run your KVStore: {result.describe()}"
    return found


@pytest.fixture(scope="session")
def functional(sandbox: Sandbox) -> dict[str, Any]:
    return findings_of(sandbox, "functional", {})


@pytest.fixture(scope="session")
def performance(sandbox: Sandbox, lab: LabContext) -> dict[str, Any]:
    return findings_of(sandbox, "perf", {"reference/reference_kvstore.py": lab.entry.directory / "solution" / "kvstore.py"})


@pytest.fixture(scope="session")
def finding(functional: dict[str, Any]):
    def get(name: str) -> str | None:
        item = functional.get(name)
        if item is None:
            return f"the grader did not get to this check (the run ended early): {sorted(functional)}"
        return None if item["ok"] else item["detail"]

    return get
