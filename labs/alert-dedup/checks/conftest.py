"""The grader of alert-dedup: dedup_grader.py runs inside the sandbox against the learner's
Deduplicator (and, for the long stream, the reference in the same process); each check reads one finding.

The long stream has 300,000 alerts by default (seconds to run, enough for a key leak to show as
tens of MB); BREAKFIX_LAB_SCALE=full makes it 1,000,000.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from harness.checks import Findings, InstanceContext, Sandbox

GRADER = Path(__file__).with_name("dedup_grader.py")


def stream_length() -> int:
    return 1_000_000 if os.environ.get("BREAKFIX_LAB_SCALE", "").strip().lower() == "full" else 300_000


@pytest.fixture(scope="session")
def functional(sandbox: Sandbox) -> Findings:
    return sandbox.findings(["python3", "/grader/dedup_grader.py", "functional"], files={"dedup_grader.py": GRADER})


@pytest.fixture(scope="session")
def long_stream(sandbox: Sandbox, instance: InstanceContext, functional: Findings) -> Findings:
    """Run only once every rule passes: a long stream tells little about code wrong on short ones."""
    if functional.failing():
        reason = f"not run until the rules pass (failing: {', '.join(functional.failing())})"
        return functional.withheld(["stream_answers", "stream_memory", "stream_time"], reason)
    files = {"dedup_grader.py": GRADER, "reference/reference_dedup.py": instance.entry.directory / "solution" / "dedup.py"}
    return sandbox.findings(["python3", "/grader/dedup_grader.py", "stream", str(stream_length())], files=files)
