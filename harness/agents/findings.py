"""For grader scripts that run INSIDE the sandbox, next to the learner's code (standard library only).

Mounted at /breakfix/breakfix_findings.py and importable there. A grader script registers
checks; each returns None when fine or a sentence saying what went wrong, and an exception
raised by the learner's code becomes that check's finding instead of ending the run. report()
prints every finding as one marked JSON line, which Sandbox.findings() reads on the host.

    from breakfix_findings import check, expect, first, report

    @check("crud")
    def _():
        return expect("get('a') after set('a', 1)", store.get("a"), 1)

    report()
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING or __package__:  # imported on the host, as part of harness.agents
    from .constants import FINDINGS_MARK
else:  # run in a container, the constants bound beside this file (harness.agents.volumes)
    from breakfix_constants import FINDINGS_MARK

findings: dict[str, dict[str, Any]] = {}


def check(name: str) -> Callable[[Callable[[], str | None]], None]:
    """Run the decorated function now and record what it found under `name`."""

    def run(body: Callable[[], str | None]) -> None:
        try:
            problem = body()
        except Exception as exc:  # noqa: BLE001 -- the learner's code raised: that is the finding
            problem = f"raised {type(exc).__name__}: {exc}"
        findings[name] = {"ok": problem is None, "detail": problem or ""}

    return run


def expect(what: str, got: Any, want: Any) -> str | None:
    return None if got == want else f"{what}: expected {want!r}, got {got!r}"


def first(*problems: str | None) -> str | None:
    return next((problem for problem in problems if problem), None)


def report() -> NoReturn:
    sys.stdout.write("\n" + FINDINGS_MARK + json.dumps(findings) + "\n")
    sys.stdout.flush()
    os._exit(0)  # threads a deadlocked learner left behind must not keep the run alive
