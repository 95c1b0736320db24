"""Settle: before every grading run, wait -- bounded and shown -- until every change made to the
system is live.

A reload that nginx has not taken yet, a container the engine is restarting, a background
`terraform apply` between its last step and its exit: grading in that moment judges a system
halfway between two states, and fails a correct fix. A readiness condition says only that the
system has finished changing, never that it is right: a failing check is never retried until it
happens to pass, so an intermittent fault still fails. When a condition's bound passes, grading
goes ahead anyway and says so; settle never fails a grade and never hangs one.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from harness.manifest import SettleSpec
from harness.runtime import Progress

POLL_SECONDS = 0.05


@dataclass(frozen=True)
class Readiness:
    """One condition: `pending()` is None once the system is live, else what is still in flight.

    `what` completes "waiting for ...", e.g. "nginx to finish reloading"."""

    what: str
    pending: Callable[[], str | None]
    timeout: float = 10.0


@dataclass(frozen=True)
class Waited:
    """A condition that was not live at first: how long it took, or what was still pending at its bound."""

    what: str
    seconds: float
    gave_up: str | None = None


def wait_until_live(conditions: list[Readiness], progress: Progress) -> list[Waited]:
    """Poll every condition until each is live or past its own bound; report those that made us wait.

    All are polled in each round, so the wait is the longest one, not their sum. A condition live at
    the first look prints nothing: a settled system costs one round of looks."""
    started = time.monotonic()
    pending = [(condition, detail) for condition in conditions if (detail := condition.pending()) is not None]
    waited: list[Waited] = []
    while pending:
        time.sleep(POLL_SECONDS)
        elapsed = time.monotonic() - started
        still = []
        for condition, _ in pending:
            detail = condition.pending()
            if detail is None:
                waited.append(Waited(condition.what, elapsed))
                progress(f"waiting for {condition.what}... {elapsed:.1f} s")
            elif elapsed > condition.timeout:
                waited.append(Waited(condition.what, elapsed, detail))
                progress(f"still waiting for {condition.what} after {condition.timeout:g} s ({detail}): grading anyway")
            else:
                still.append((condition, detail))
        pending = still
    return waited


def declared(specs: list[SettleSpec], run: Callable[[SettleSpec], int | None]) -> list[Readiness]:
    """A scenario's own conditions (scenario.yaml `settle:`): a command in a service's container that
    exits 0 once the service is live. `run` gives its exit code, or None when the service is stopped
    with no restart coming (put there on purpose: nothing to wait for)."""

    def condition(spec: SettleSpec) -> Readiness:
        def pending() -> str | None:
            code = run(spec)
            if code is None or code == 0:
                return None
            return f"{spec.service} is not running" if code == -1 else f"`{' '.join(spec.command)}` in {spec.service} exits {code}"

        return Readiness(spec.what, pending, spec.timeout)

    return [condition(spec) for spec in specs]
