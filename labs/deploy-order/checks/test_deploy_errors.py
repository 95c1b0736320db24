"""No valid order: a cycle, an unknown dependency or a broken file -- one clear line, exit 1."""

from __future__ import annotations

import pytest


def no_order_problem(outcome, case: str) -> str | None:
    if outcome.timed_out or outcome.exit_code != 1:
        return f"plan {case!r}: expected exit code 1 with an error; your program {outcome.describe()}"
    if outcome.stdout.strip():
        return f"plan {case!r}: expected nothing on stdout when there is no order, got {outcome.stdout.strip()[:200]!r}"
    if "Traceback" in outcome.stderr:
        return f"plan {case!r}: expected one `error: ...` line, got a traceback: {outcome.stderr.strip()[-300:]!r}"
    lines = outcome.stderr.strip().splitlines()
    if len(lines) != 1 or not lines[0].startswith("error: "):
        return f"plan {case!r}: expected exactly one line on stderr, starting with `error: `, got {len(lines)} lines: {outcome.stderr.strip()[:300]!r}"
    return None


@pytest.mark.parametrize("case", ["cycle", "self-dependency", "cycle-behind-others", "figure-eight"])  # conftest's CYCLES
def test_cycles_are_named(small, grader, case: str) -> None:
    """A dependency cycle is an error that names the cycle"""
    outcome = small[case]
    graph = grader.SMALL[case]
    problem = no_order_problem(outcome, case) or grader.cycle_problem(outcome.stderr, graph)
    assert problem is None, f"{problem} (plan: {graph})"


def test_unknown_dependencies_are_named(small) -> None:
    """A dependency on a resource not in the plan is an error naming both"""
    outcome = small["unknown-dependency"]
    problem = no_order_problem(outcome, "unknown-dependency")
    assert problem is None, problem
    line = outcome.stderr.strip()
    assert line == "error: unknown dependency: 'app' depends on 'db2'", (
        f"plan {{'vpc': [], 'app': ['vpc', 'db2']}}: expected `error: unknown dependency: 'app' depends on 'db2'`, got {line[:300]!r}"
    )


@pytest.mark.parametrize("case", ["not-json", "no-resources-list", "duplicate-name", "depends-on-not-a-list", "depends-on-not-strings",
                                  "name-missing", "name-not-a-string", "name-empty"])  # conftest's RAW
def test_broken_plans_are_clear_errors(small, grader, case: str) -> None:
    """A broken plan file is `error: invalid plan: ...`, never a traceback"""
    outcome = small[case]
    problem = no_order_problem(outcome, case)
    shown = grader.small_file(case).decode()
    assert problem is None, f"{problem} (file: {shown})"
    assert outcome.stderr.startswith("error: invalid plan:"), f"file {shown}: expected `error: invalid plan: <why>`, got {outcome.stderr.strip()[:300]!r}"
