"""Bounded polling: one loop for every place that waits for something until a deadline.

Each caller keeps its own bound, interval and message; what they share is the shape: ask at
once, again every `every` seconds, and stop at the first true answer or once `timeout` seconds
have passed -- never an unbounded wait, never one sleep more than the bound needs.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from harness.errors import BreakfixError

T = TypeVar("T")


def wait_until(
    probe: Callable[[], T],
    timeout: float,
    *,
    every: float = 0.1,
    error: str | Callable[[], str] | None = None,
    on_wait: Callable[[], None] | None = None,
) -> T:
    """Call `probe` until it returns a true value and return that value; it is called at least once,
    and may raise to end the wait early. Past `timeout` seconds: a BreakfixError with `error` (a
    callable is asked only then, so it can describe the state at the end), or without `error` the
    last (false) answer, for the caller to act on. `on_wait` runs before each pause, only when
    another try follows (a progress line: "still waiting for ...")."""
    deadline = time.monotonic() + timeout
    while True:
        answer = probe()
        if answer:
            return answer
        left = deadline - time.monotonic()
        if left <= 0:
            if error is None:
                return answer
            raise BreakfixError(error() if callable(error) else error)
        if on_wait is not None:
            on_wait()
        time.sleep(min(every, left))
