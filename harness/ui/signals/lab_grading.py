"""A lab's last grading run per condition, from the attempt history `breakfix check` writes."""

from __future__ import annotations

from typing import Any

from harness import history
from harness.manifest import SignalSpec
from harness.ui.signals.base import Target, register


def last_grading(attempts: list[history.Attempt]) -> dict[str, Any]:
    """The latest attempt's checks: each run's counts, and the last run's failing conditions with their messages."""
    if not attempts or not attempts[-1].checks:
        return {"runs": [], "failing": {}}
    checks = attempts[-1].checks
    return {"runs": [{"at": run["at"], "passed": run["passed"], "failed": run["failed"]} for run in checks[-20:]],
            "failing": dict(checks[-1]["failing"])}


class LabGrading:
    kind = "lab-grading"
    interval = 2.0  # a read of the local SQLite history: it changes only when the learner checks

    def __init__(self, entry: str) -> None:
        self.entry = entry

    def sample(self) -> dict[str, Any]:
        return last_grading(history.attempts(self.entry))


@register("lab-grading")
def build(spec: SignalSpec, target: Target) -> LabGrading:
    return LabGrading(target.entry.id)
