"""The grader of kv-ttl: kv_grader.py runs inside the sandbox against the learner's KVStore (and,
for the time budget, against the reference in the same process); each check reads one finding."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.checks import Findings, InstanceContext, Sandbox

GRADER = Path(__file__).with_name("kv_grader.py")


@pytest.fixture(scope="session")
def functional(sandbox: Sandbox) -> Findings:
    return sandbox.findings(["python3", "/grader/kv_grader.py", "functional"], files={"kv_grader.py": GRADER})


@pytest.fixture(scope="session")
def performance(sandbox: Sandbox, instance: InstanceContext, functional: Findings) -> Findings:
    """Timed only once every functional check passes: a budget means nothing for wrong answers."""
    if functional.failing():
        return functional.withheld(["performance"], f"not measured until the other checks pass (failing: {', '.join(functional.failing())})")
    reference = instance.entry.directory / "solution" / "kvstore.py"
    files = {"kv_grader.py": GRADER, "reference/reference_kvstore.py": reference}
    return sandbox.findings(["python3", "/grader/kv_grader.py", "perf"], files=files)
