"""Which alerts become notifications: the window, the key, event time, lateness, timing, input checks."""

import pytest

RULES = {
    "window": "the window",
    "keys": "the alert key",
    "out_of_order": "event-time order",
    "late": "lateness",
    "release_timing": "when push() returns notifications",
    "passthrough": "alerts pass through unchanged",
    "malformed": "malformed alerts",
    "end_of_stream": "the end of the stream (flush)",
}


@pytest.mark.parametrize("rule", list(RULES))
def test_rules(functional, rule: str) -> None:
    """Notifications follow each rule of the README (window, key, event time, lateness, timing, pass-through, malformed input, end of stream)"""
    problem = functional.problem(rule)
    assert problem is None, f"{RULES[rule]}: {problem}"
