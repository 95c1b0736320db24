"""A grading run's result: one Condition per check. Free of pytest, so reporting a grade costs no
test-framework import."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Outcome = Literal["passed", "failed", "error", "skipped"]


@dataclass(frozen=True)
class Condition:
    """One graded condition: the test's docstring is its title, its assertion message what the learner reads."""

    id: str
    title: str
    outcome: Outcome
    message: str = ""
    seconds: float = 0.0


@dataclass
class Grade:
    entry_id: str
    conditions: list[Condition] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return bool(self.conditions) and all(c.outcome in ("passed", "skipped") for c in self.conditions)

    def outcome_of(self, condition_id: str) -> Outcome | None:
        return next((c.outcome for c in self.conditions if c.id == condition_id), None)

    def counts(self) -> dict[str, int]:
        result = {"passed": 0, "failed": 0, "error": 0, "skipped": 0}
        for condition in self.conditions:
            result[condition.outcome] += 1
        return result

    def as_dict(self) -> dict[str, Any]:
        return {
            "entry": self.entry_id,
            "passed": self.passed,
            "seconds": round(self.seconds, 3),
            "counts": self.counts(),
            "conditions": [
                {"id": c.id, "title": c.title, "outcome": c.outcome, "message": c.message, "seconds": round(c.seconds, 3)}
                for c in self.conditions
            ],
        }
