"""What a sandbox run did: the supervisor's report read into a verdict and a message for the
learner, and the results of a batch of commands and of a grader script's findings."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from harness.agents.constants import REPORT_TAG

OUTPUT_LIMIT = 4 * 1024 * 1024  # per stream; the supervisor counts and drops the rest
Verdict = Literal["ok", "timeout", "memory", "pids", "crashed"]


class Limits(Protocol):
    """A lab's sandbox limits as the sandbox reads them (a lab manifest's `limits` is one)."""

    @property
    def memory(self) -> str: ...  # a docker size, e.g. 256m
    @property
    def cpus(self) -> float: ...
    @property
    def pids(self) -> int: ...
    @property
    def seconds(self) -> float: ...  # wall-clock limit of one run


@dataclass
class RunLimits:
    """The limits one run was given (the lab's, with any per-call override)."""

    memory: str
    cpus: float
    pids: int
    seconds: float


@dataclass(frozen=True)
class RunResult:
    """What one run of the learner's program did."""

    argv: tuple[str, ...]
    exit_code: int | None
    stdout: str
    stderr: str
    seconds: float
    verdict: Verdict
    message: str
    peak_memory_bytes: int | None = None

    @property
    def ok(self) -> bool:
        return self.verdict == "ok"

    def marked_json(self, mark: str) -> Any:
        """The JSON a grader script printed after `mark` on its last such stdout line; None if absent."""
        at = self.stdout.rfind("\n" + mark)
        if at < 0:
            return None
        try:
            return json.loads(self.stdout[at + 1 + len(mark):].split("\n", 1)[0])
        except json.JSONDecodeError:
            return None

    def describe(self, limit: int = 600) -> str:
        """A trimmed account for an assertion message: what happened and the end of stderr."""
        stderr = self.stderr.strip()
        if not stderr:
            return self.message
        return f"{self.message}; stderr: {'...' if len(stderr) > limit else ''}{stderr[-limit:]}"


@dataclass(frozen=True)
class CaseResult:
    """One command of a run_batch."""

    exit_code: int | None
    timed_out: bool
    seconds: float
    stdout: str
    stderr: str

    def describe(self, limit: int = 400) -> str:
        if self.timed_out:
            return f"did not finish within its time limit; stderr: {self.stderr.strip()[-limit:]}"
        return f"exited with code {self.exit_code}; stderr: {self.stderr.strip()[-limit:] or '(empty)'}"


@dataclass(frozen=True)
class Findings:
    """What a grader script inside the sandbox found, check by check."""

    items: dict[str, dict[str, Any]] | None
    run: RunResult

    def problem(self, name: str) -> str | None:
        """None when the check passed; otherwise the sentence for the learner."""
        if self.items is None:
            return f"the checks could not run your code: {self.run.describe()}"
        item = self.items.get(name)
        if item is None:
            return f"the run ended before this check ({self.run.describe()})"
        return None if item["ok"] else str(item["detail"])

    def failing(self) -> list[str]:
        """The checks that did not pass; ["(the run)"] when the script reported nothing."""
        if self.items is None:
            return ["(the run)"]
        return [name for name, item in self.items.items() if not item["ok"]]

    def withheld(self, names: list[str], reason: str) -> Findings:
        """Findings for checks not run at all (say, a budget while answers are still wrong): each fails with `reason`."""
        return Findings({name: {"ok": False, "detail": reason} for name in names}, self.run)


def strip_report(text: str) -> str:
    marker = text.rfind(REPORT_TAG)
    return text if marker < 0 else text[:marker]


def parse_report(stderr: str, nonce: str) -> tuple[str, dict[str, Any] | None]:
    """Split the supervisor's report line (the last one with this run's nonce) from the learner's stderr."""
    tag = f"{REPORT_TAG}{nonce} "
    at = stderr.rfind(tag)
    if at < 0:
        return stderr, None
    try:
        report = json.loads(stderr[at + len(tag):].strip())
    except json.JSONDecodeError:
        return stderr, None
    return stderr[:at], report


def result_from_report(argv: tuple[str, ...], stdout: str, stderr: str, nonce: str, limits: RunLimits, state: dict[str, Any], timed_out_on_host: bool) -> RunResult:
    stderr, report = parse_report(stderr, nonce)
    if report is None:
        # the supervisor itself was killed: by the host's backstop, or by the OOM killer
        if state.get("OOMKilled"):
            return RunResult(argv, None, stdout, stderr, limits.seconds, "memory", f"killed: exceeded the {limits.memory} memory limit")
        return RunResult(argv, None, stdout, stderr, limits.seconds, "timeout", f"exceeded the {limits.seconds:g} s time limit (ended by the host)")
    seconds = float(report["seconds"])
    peak = int(report["peak_memory_bytes"]) or None
    exit_code = report["exit_code"]
    for stream, key in (("stdout", "stdout_dropped"), ("stderr", "stderr_dropped")):
        if report[key]:
            note = f"\n[breakfix: {report[key]} more bytes of {stream} dropped; the limit is {OUTPUT_LIMIT} bytes]"
            stdout, stderr = (stdout + note, stderr) if stream == "stdout" else (stdout, stderr + note)
    verdict: Verdict
    if report["oom_kills"]:
        verdict, message = "memory", f"killed: exceeded the {limits.memory} memory limit"
    elif report["pids_limit_hits"]:
        verdict = "pids"
        ending = f"did not finish within the {limits.seconds:g} s time limit" if report["timed_out"] else f"exited with code {exit_code}"
        message = f"exceeded the {limits.pids} processes/threads limit (fork refused {report['pids_limit_hits']} times), then {ending}"
    elif report["timed_out"] or timed_out_on_host:
        verdict, message = "timeout", f"exceeded the {limits.seconds:g} s time limit"
    elif report["error"]:
        verdict, message = "crashed", str(report["error"])
    elif report["signal"]:
        verdict, message = "crashed", f"killed by signal {report['signal']} after {seconds:.1f} s"
    else:
        verdict, message = "ok", f"exited with code {exit_code} after {seconds:.2f} s"
    return RunResult(argv, exit_code, stdout, stderr, seconds, verdict, message, peak)
