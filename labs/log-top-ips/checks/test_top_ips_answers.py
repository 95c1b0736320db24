"""The right top 10 on small logs: malformed lines skipped, IPv6 normalised, ties in order."""

from __future__ import annotations

import pytest

CASES = ["basic", "malformed-kinds", "ipv6-spellings", "ties", "top-ten-of-twelve", "crlf-and-no-final-newline", "empty-file"]


@pytest.mark.parametrize("case", CASES)
def test_small_logs(small, grader, case: str) -> None:
    """The top addresses and the malformed count of small logs with known answers"""
    content, expected, malformed = grader.SMALL[case]
    shown = preview(content)
    outcome = small[case]
    assert not outcome.timed_out and outcome.exit_code == 0, f"log {case!r}: expected exit code 0; your program {outcome.describe()}{shown}"
    got = outcome.stdout.splitlines()
    assert got == expected, f"log {case!r}: expected stdout {expected}, got {got[:12]}{shown}"
    reported = [text for text in outcome.stderr.splitlines() if text.startswith("malformed: ")]
    assert reported == [f"malformed: {malformed}"], (
        f"log {case!r}: expected `malformed: {malformed}` on stderr, got {outcome.stderr.strip()[-200:]!r}{shown}"
    )


def preview(content: bytes, lines: int = 16, width: int = 90) -> str:
    """The log as the learner should see it in a message: each line's repr, trimmed."""
    rows = content.splitlines(keepends=True)
    shown = [repr(row)[:width] for row in rows[:lines]] + ([f"... {len(rows) - lines} more lines"] if len(rows) > lines else [])
    return "\n  the log (Python bytes reprs):\n    " + "\n    ".join(shown or ["(empty)"])


def test_missing_file_is_a_clear_error(small) -> None:
    """A log that does not exist is a one-line error, not a traceback"""
    outcome = small["missing-file"]
    assert outcome.exit_code not in (0, None), f"`top_ips.py /grader/no-such.log`: expected a non-zero exit code; your program {outcome.describe()}"
    assert "Traceback" not in outcome.stderr and "no-such.log" in outcome.stderr, (
        f"`top_ips.py /grader/no-such.log`: expected one error line naming the file, got {outcome.stderr.strip()[-300:]!r}"
    )
