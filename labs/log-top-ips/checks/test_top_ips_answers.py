"""The right top 10 on small logs: malformed lines skipped, IPv6 normalised, ties in order."""

from __future__ import annotations

import pytest

CASES = ["basic", "malformed-kinds", "ipv6-spellings", "ties", "top-ten-of-twelve", "crlf-and-no-final-newline", "empty-file", "field-formats"]


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


def preview(content: bytes, lines: int = 20, width: int = 90) -> str:
    """The log as the learner should see it in a message: each line's repr, trimmed."""
    rows = content.splitlines(keepends=True)
    shown = [repr(row)[:width] for row in rows[:lines]] + ([f"... {len(rows) - lines} more lines"] if len(rows) > lines else [])
    return "\n  the log (Python bytes reprs):\n    " + "\n    ".join(shown or ["(empty)"])


@pytest.mark.parametrize("case", ["missing-file", "directory", "permission-denied"])
def test_unreadable_file_is_a_clear_error(small, grader, case: str) -> None:
    """A log that cannot be read (missing, a directory, no permission): one error line naming it, no traceback"""
    path = grader.UNREADABLE[case]
    outcome = small[case]
    command = f"`top_ips.py {path}` ({case.replace('-', ' ')})"
    assert not outcome.timed_out and outcome.exit_code not in (0, None), f"{command}: expected a non-zero exit code; your program {outcome.describe()}"
    lines = [text for text in outcome.stderr.splitlines() if text.strip()]
    assert len(lines) == 1 and path in lines[0] and "Traceback" not in outcome.stderr, (
        f"{command}: expected exactly one line on stderr, naming {path}; got {len(lines)} lines: {outcome.stderr.strip()[-300:]!r}"
    )
    assert not outcome.stdout.strip(), f"{command}: expected nothing on stdout, got {outcome.stdout[:200]!r}"
