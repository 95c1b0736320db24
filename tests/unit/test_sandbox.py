"""The sandbox's own logic without an engine: reading the supervisor's report into a verdict."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.errors import BreakfixError
from harness.runtime.sandbox import Sandbox
from harness.runtime.sandbox_results import Findings, RunLimits, parse_report, result_from_report

LIMITS = RunLimits(memory="256m", cpus=1, pids=64, seconds=60)
NONCE = "abc123"


def report_line(**fields: object) -> str:
    report = {"exit_code": 0, "signal": None, "timed_out": False, "error": None, "seconds": 1.5, "oom_kills": 0,
              "pids_limit_hits": 0, "peak_memory_bytes": 10_000_000, "stdout_dropped": 0, "stderr_dropped": 0}
    report.update(fields)
    return f"\n@@breakfix-report {NONCE} {json.dumps(report)}\n"


def verdict_of(stderr: str, state: dict | None = None, host_timeout: bool = False) -> tuple[str, str]:
    result = result_from_report(("prog",), "", stderr, NONCE, LIMITS, state or {}, host_timeout)
    return result.verdict, result.message


def test_report_is_split_from_the_learner_stderr() -> None:
    stderr, report = parse_report("learner said\n" + report_line(exit_code=4), NONCE)
    assert stderr == "learner said\n"
    assert report is not None and report["exit_code"] == 4


def test_a_forged_report_with_another_nonce_is_ignored() -> None:
    forged = "\n@@breakfix-report 000000 " + json.dumps({"exit_code": 0}) + "\n"
    stderr, report = parse_report(forged, NONCE)
    assert report is None and stderr == forged


@pytest.mark.parametrize(
    ("fields", "verdict", "message"),
    [
        ({}, "ok", "exited with code 0 after 1.50 s"),
        ({"timed_out": True}, "timeout", "exceeded the 60 s time limit"),
        ({"oom_kills": 1, "exit_code": 137, "signal": 9}, "memory", "killed: exceeded the 256m memory limit"),
        ({"pids_limit_hits": 5, "timed_out": True}, "pids", "exceeded the 64 processes/threads limit (fork refused 5 times), then did not finish within the 60 s time limit"),
        ({"pids_limit_hits": 1, "exit_code": 1}, "pids", "exceeded the 64 processes/threads limit (fork refused 1 times), then exited with code 1"),
        ({"signal": 11, "exit_code": 139}, "crashed", "killed by signal 11 after 1.5 s"),
        ({"error": "could not start 'x'"}, "crashed", "could not start 'x'"),
    ],
)
def test_verdicts(fields: dict, verdict: str, message: str) -> None:
    assert verdict_of(report_line(**fields)) == (verdict, message)


def test_memory_wins_over_timeout_and_pids() -> None:
    assert verdict_of(report_line(oom_kills=1, pids_limit_hits=3, timed_out=True))[0] == "memory"


def test_no_report_means_the_host_ended_it() -> None:
    assert verdict_of("partial", {"OOMKilled": True}) == ("memory", "killed: exceeded the 256m memory limit")
    assert verdict_of("partial", {"OOMKilled": False}, host_timeout=True)[0] == "timeout"


def test_dropped_output_is_said() -> None:
    result = result_from_report(("prog",), "out", report_line(stdout_dropped=99), NONCE, LIMITS, {}, False)
    assert result.stdout.endswith("99 more bytes of stdout dropped; the limit is 4194304 bytes]")


def test_file_names_cannot_escape_the_grader_dir(tmp_path: Path) -> None:
    box = Sandbox("unit", tmp_path, LIMITS)
    with pytest.raises(BreakfixError, match="plain relative path"):
        box._mounts({"../etc/passwd": b"x"}, None)


def test_a_bad_memory_override_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        Sandbox("unit", tmp_path, LIMITS)._limits(None, "lots", None, None)


def test_marked_json_reads_the_last_marked_line() -> None:
    stdout = 'learner noise\n@@findings {"a": 1}\nmore\n@@findings {"a": 2}\n'
    result = result_from_report(("prog",), stdout, report_line(), NONCE, LIMITS, {}, False)
    assert result.marked_json("@@findings ") == {"a": 2}
    assert result.marked_json("@@other ") is None


def test_findings_say_why_a_check_has_noresult_from_report() -> None:
    ok_run = result_from_report(("prog",), "", report_line(), NONCE, LIMITS, {}, False)
    findings = Findings({"crud": {"ok": True, "detail": ""}, "ttl": {"ok": False, "detail": "expected 1, got 2"}}, ok_run)
    assert findings.problem("crud") is None
    assert findings.problem("ttl") == "expected 1, got 2"
    assert "ended before this check" in (findings.problem("missing") or "")
    timed_out = result_from_report(("prog",), "", report_line(timed_out=True), NONCE, LIMITS, {}, False)
    assert Findings(None, timed_out).problem("crud") == "the checks could not run your code: exceeded the 60 s time limit"
