"""The large log: right answer, streaming memory, time within a multiple of the reference's."""

from __future__ import annotations


def describe_log(run) -> str:
    return f"the generated {run.log.size_mb:.0f} MB log (/grader/access.log)"


def test_large_log_answer(big) -> None:
    """The right top 10 and malformed count on the large log"""
    assert big.withheld is None, big.withheld
    result = big.result
    assert result.ok and result.exit_code == 0, f"{describe_log(big)}: expected exit code 0; your program {result.describe()}"
    got = result.stdout.splitlines()
    assert got == big.log.top, f"{describe_log(big)}: expected {big.log.top}, got {got[:12]}"
    assert f"malformed: {big.log.malformed}" in result.stderr.splitlines(), (
        f"{describe_log(big)}: expected `malformed: {big.log.malformed}` on stderr, got {result.stderr.strip()[-200:]!r}"
    )


def test_large_log_streams_in_bounded_memory(big, grader) -> None:
    """Peak memory stays under 100 MB however large the log (it is streamed, not loaded)"""
    assert big.withheld is None, big.withheld
    result = big.result
    assert result.verdict != "memory", f"{describe_log(big)}: your program was {result.message}: stream the file line by line"
    assert result.ok and result.peak_memory_bytes is not None, f"{describe_log(big)}: your program {result.describe()}"
    assert result.peak_memory_bytes <= grader.PEAK_BUDGET, (
        f"{describe_log(big)}: peak memory {result.peak_memory_bytes / 2**20:.0f} MB, the budget is "
        f"{grader.PEAK_BUDGET / 2**20:.0f} MB: memory must not grow with the file (stream it line by line)"
    )


def test_large_log_in_time(big) -> None:
    """The large log within 3x the reference solution's time + 10 s, in the same sandbox"""
    assert big.withheld is None, big.withheld
    result = big.result
    assert big.reference is not None, (
        f"{describe_log(big)}: not timed until the answer and the memory budget are right; your program {result.describe()}"
    )
    assert result.seconds <= big.time_budget, (
        f"{describe_log(big)}: took {result.seconds:.1f} s; the budget is {big.time_budget:.1f} s "
        f"(3x the reference's {big.reference.seconds:.1f} s + 10 s)"
    )
