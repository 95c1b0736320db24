"""A valid, deterministic deployment order: small plans with known answers, 100k at scale."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("case", ["readme", "ties", "diamond-duplicate-deps", "empty"])  # conftest's ORDERED
def test_orders_small_plans(small, grader, case: str) -> None:
    """Small plans come out in dependency order, ties broken by name"""
    outcome = small[case]
    graph = grader.SMALL[case]
    shown = {name: deps for name, deps in graph.items()}
    assert not outcome.timed_out and outcome.exit_code == 0, f"plan {shown}: expected exit code 0; your program {outcome.describe()}"
    expected = grader.expected_order(graph)
    got = outcome.stdout.splitlines()
    assert got == expected, (
        f"plan {shown}: expected the order {expected}, got {grader.trim(outcome.stdout)!r} ({grader.first_difference(expected, got)})"
    )


@pytest.mark.parametrize("plan", ["big_random", "deep_chain"])
def test_orders_100k_resources_in_time(request, grader, plan: str) -> None:
    """100,000 resources (a random plan; a 100k-deep chain) in order, the random plan within 3x the reference's time + 5 s"""
    run = request.getfixturevalue(plan)
    assert run.withheld is None, run.withheld
    what = "a random plan of 100,000 resources" if plan == "big_random" else "a single chain of 100,000 resources"
    assert run.result.ok and run.result.exit_code == 0, f"{what}: expected exit code 0; your program {run.result.describe()}"
    expected = run.expected
    got = run.result.stdout.splitlines()
    assert got == expected, f"{what}: wrong order, {grader.first_difference(expected, got)}"
    assert run.reference_seconds is None or run.result.seconds <= run.budget, (
        f"{what}: took {run.result.seconds:.1f} s; the budget is {run.budget:.1f} s "
        f"(3x the reference's {run.reference_seconds:.1f} s + 5 s)"
    )
