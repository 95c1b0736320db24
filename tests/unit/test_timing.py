"""The one bounded polling loop (harness.timing.wait_until)."""

from __future__ import annotations

import time

import pytest

from harness.errors import BreakfixError
from harness.timing import wait_until


def test_returns_the_first_true_answer_without_waiting_more() -> None:
    answers = iter([None, 0, "ready", "later"])
    started = time.monotonic()
    assert wait_until(lambda: next(answers), 5, every=0.01) == "ready"
    assert time.monotonic() - started < 1


def test_past_the_bound_it_returns_the_last_false_answer_or_raises_the_message() -> None:
    calls: list[float] = []

    def probe() -> None:
        calls.append(time.monotonic())

    started = time.monotonic()
    assert wait_until(probe, 0.2, every=0.05) is None
    assert 0.2 <= time.monotonic() - started < 1 and len(calls) >= 3
    state = {"left": 3}
    with pytest.raises(BreakfixError, match="3 left after 0.1 s"):
        wait_until(lambda: False, 0.1, every=0.02, error=lambda: f"{state['left']} left after 0.1 s")


def test_a_probe_that_raises_ends_the_wait_and_a_zero_bound_asks_once() -> None:
    def probe() -> bool:
        raise BreakfixError("the process died")

    with pytest.raises(BreakfixError, match="died"):
        wait_until(probe, 10)
    calls = []
    assert wait_until(lambda: calls.append(1), 0) is None
    assert calls == [1]
