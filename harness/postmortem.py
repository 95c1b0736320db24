"""`breakfix report`: a blameless postmortem draft in Markdown, from one attempt's recorded timeline.

Only what the history recorded is stated as fact (checks, their failing conditions, hints, times);
root cause and fix are prompts the candidate answers, never guessed: a draft that invented them
would teach the candidate to tell a story the checks did not show.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from harness import catalog, history
from harness.errors import BreakfixError
from harness.history import Attempt
from harness.manifest import read_text

PROMPT = "> ✍ **To write:**"

# From the question bank (B1, B6); what the interviewer listens for is its tags, spelled out.
FRAMING = (
    ("B1", "Tell me about a time you had to debug a complex production incident under extreme pressure. "
           "What was your role and how did you handle it?",
     ["**Incident response**: how you detected it, stopped the bleeding first, then found the cause, from evidence (logs, "
      "metrics, a reproduction) rather than guesses.",
      "**Leadership**: your role, what you decided and why, what you asked others for.",
      "**Communication**: who you told what and when, while it was happening and after."]),
    ("B6", "Tell me about a time you made a mistake that caused a production outage or degraded performance. "
           "What happened, and what was the post-mortem process like?",
     ["**Accountability**: you own your part plainly, without blaming people or minimising the impact.",
      "**Learning**: what changed afterwards (a test, an alert, a guard rail) so it cannot happen the same way again.",
      "**Blameless culture**: the post-mortem asks which system or process let the mistake through, not who made it."]),
)


def select(number: int | None) -> Attempt:
    """Attempt `number` of `breakfix history`, or the latest one."""
    found = history.attempts()
    if not found:
        raise BreakfixError(f"no attempts recorded yet in {history.path()}: `breakfix start <id>` begins one, `breakfix report` drafts it")
    if number is None:
        return found[-1]
    for attempt in found:
        if attempt.id == number:
            return attempt
    raise BreakfixError(f"no attempt #{number} in the history (recorded: #{found[0].id} to #{found[-1].id}); `breakfix history` lists them")


def hint_texts(entry_id: str) -> list[str]:
    """The entry's hints as they read now; none when the entry is gone (an external catalog no longer on the path)."""
    try:
        return [read_text(path).strip() for path in catalog.find(entry_id).hint_files]
    except (BreakfixError, OSError):
        return []


def _utc(at: float) -> str:
    return time.strftime("%H:%M:%S UTC", time.gmtime(at))


def _duration(seconds: float) -> str:
    minutes, rest = divmod(round(max(seconds, 0.0)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{rest:02d}s" if hours else f"{minutes}m{rest:02d}s"


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _failing(failing: dict[str, str]) -> list[str]:
    return [f"  - `{condition}`: {_one_line(message)}" for condition, message in failing.items()]


def events(attempt: Attempt, hints: list[str]) -> list[tuple[float, list[str]]]:
    """The timeline: (when, its lines), in the order things happened; a check and a hint at the same
    second keep the order they were recorded in (checks first is arbitrary but stable)."""
    scenario = attempt.kind == "scenario"  # a lab hands over a starter to complete, not a broken system
    begun = "provisioning, then the fault is injected" if scenario else "the workspace is prepared"
    found: list[tuple[float, int, list[str]]] = [(attempt.started, 0, [f"attempt started: {begun}"])]
    if attempt.handed_over is not None:
        found.append((attempt.handed_over, 1, [f"handed over{', broken' if scenario else ''}: the clock starts"]))
    solved = False
    for index, check in enumerate(attempt.checks, 1):
        total = check["passed"] + check["failed"]
        if check["failed"]:
            lines = [f"check {index}: FAIL, {check['failed']} of {total} conditions failing", *_failing(check["failing"])]
        else:
            applied = attempt.solution_applied is not None and attempt.solution_applied <= check["at"]
            ending = " (the reference fix's pass, not a solve)" if applied and not solved else "" if solved else " -- solved"
            lines = [f"check {index}: PASS, all {total} conditions pass" + ending]
            solved = True
        found.append((check["at"], 2, lines))
    for taken in attempt.hints_taken:
        number = taken["number"]
        lines = [f"hint {number}" + (f"/{len(hints)}" if hints else "") + " taken"]
        if 0 < number <= len(hints):
            lines += [f"  > {line}".rstrip() for line in hints[number - 1].splitlines()]
        found.append((taken["at"], 2, lines))
    if attempt.solution_applied is not None:
        found.append((attempt.solution_applied, 2, ["reference solution applied (`breakfix solve --apply`)"]))
    if attempt.ended is not None:
        found.append((attempt.ended, 3, [f"stopped: {attempt.outcome}"]))
    found.sort(key=lambda event: (event[0], event[1]))
    return [(at, lines) for at, _, lines in found]


def _outcome(attempt: Attempt) -> str:
    clock = attempt.handed_over or attempt.started
    if attempt.solved_after is not None:
        return f"solved {_duration(attempt.solved_after)} after the hand-over"
    if attempt.solution_applied is not None:
        return f"not solved: the reference solution was applied {_duration(attempt.solution_applied - clock)} after the hand-over"
    if attempt.outcome == "abandoned":
        return f"abandoned after {_duration((attempt.ended or clock) - clock)}, never solved"
    return "still running, not solved yet"


def _title(entry_id: str) -> str:
    try:
        return catalog.find(entry_id).manifest.title
    except BreakfixError:
        return entry_id


def draft(attempt: Attempt, hints: list[str] | None = None, title: Callable[[str], str] = _title) -> str:
    """The postmortem draft of one attempt, in Markdown."""
    hints = hint_texts(attempt.entry) if hints is None else hints
    start = attempt.started
    failing_checks = [check for check in attempt.checks if check["failed"]]
    out: list[str] = [
        f"# Postmortem (draft): {attempt.entry}, attempt #{attempt.id}",
        "",
        f"_Blameless draft from breakfix's record of this attempt. The facts (times, checks, hints) are as recorded; "
        f"the parts marked ✍ are yours to write. Times are UTC on {time.strftime('%Y-%m-%d', time.gmtime(start))}, "
        f"with the time since the start._",
        "",
        f"- **Entry:** {attempt.entry} ({attempt.kind}): {title(attempt.entry)}",
        f"- **Outcome:** {_outcome(attempt)}",
        f"- **Checks run:** {len(attempt.checks)}; **hints taken:** {attempt.hints}" + (f" of {len(hints)}" if hints else ""),
        "",
        "## Summary",
        "",
        (f"The system was handed over broken at {_utc(attempt.handed_over or start)}. " if attempt.kind == "scenario"
         else f"The workspace was handed over at {_utc(attempt.handed_over or start)}. ")
        + (f"The first check found {failing_checks[0]['failed']} failing condition(s). " if failing_checks else "")
        + f"After {len(attempt.checks)} check(s) and {attempt.hints} hint(s) the attempt was {_outcome(attempt)}.",
        "",
        f"{PROMPT} in two sentences, what users experienced and what you changed to end it.",
        "",
        "## Detection",
        "",
    ]
    first = attempt.checks[0] if attempt.checks else None
    if first is None:
        out.append("No check was run: nothing measured the failure.")
    elif first["failed"]:
        out += [f"The first check, at {_utc(first['at'])} (+{_duration(first['at'] - start)}), failed "
                f"{first['failed']} of {first['passed'] + first['failed']} conditions:", "", *[line[2:] for line in _failing(first["failing"])]]
    else:
        out.append(f"The first check, at {_utc(first['at'])} (+{_duration(first['at'] - start)}), already passed every condition.")
    out += ["", f"{PROMPT} what you looked at first (alert, error, log line) and what it told you.", "", "## Timeline", ""]
    for at, lines in events(attempt, hints):
        out.append(f"- **{_utc(at)}** (+{_duration(at - start)}) {lines[0]}")
        out += [f"  {line}" for line in lines[1:]]
    if attempt.hints > len(attempt.hints_taken):
        out.append(f"- {attempt.hints - len(attempt.hints_taken)} hint(s) taken at times not recorded (a history from before breakfix kept them)")
    out += ["", "## Impact, as the checks measured it", ""]
    out += _impact(attempt) or ["No check failed: the checks measured no impact."]
    out += ["", f"{PROMPT} who or what was affected, for how long, and how you would know in production (which metric or alert).",
            "", "## Root cause", "",
            f"{PROMPT} the mechanism, not the person: what in the system produced the failing conditions above, and the "
            "evidence that showed it (a log line, a config value, a measurement). Why did nothing stop it earlier?",
            "", "## Fix", "",
            f"{PROMPT} what you changed, why it removes the cause rather than hiding the symptom, and how you proved it "
            "(the passing check in the timeline is your evidence).",
            "", "## Follow-ups", "",
            f"{PROMPT} what would prevent it happening again or catch it sooner: a test, an alert, a guard rail, a runbook.",
            "", "## Telling it in an interview (question bank B1, B6)", ""]
    for question_id, question, listens_for in FRAMING:
        out += [f"**{question_id}**: _{question}_ The interviewer listens for:", "", *[f"- {point}" for point in listens_for], ""]
    out.append("Tell it in this order: detection, impact, what you did and why (the timeline above), root cause, fix, what changed afterwards.")
    return "\n".join(out) + "\n"


def _impact(attempt: Attempt) -> list[str]:
    """Each condition that ever failed, its latest message, and how long it stayed failing."""
    seen: dict[str, dict[str, Any]] = {}
    for check in attempt.checks:
        for condition, message in check["failing"].items():
            entry = seen.setdefault(condition, {"first": check["at"], "message": message, "cleared": None})
            entry["message"], entry["cleared"] = message, None
        for condition, entry in seen.items():
            if condition not in check["failing"] and entry["cleared"] is None:
                entry["cleared"] = check["at"]
    lines = []
    for condition, entry in seen.items():
        span = (f"failing from +{_duration(entry['first'] - attempt.started)} until +{_duration(entry['cleared'] - attempt.started)}"
                if entry["cleared"] is not None else f"failing from +{_duration(entry['first'] - attempt.started)}, never seen passing")
        lines.append(f"- `{condition}` ({span}): {_one_line(entry['message'])}")
    return lines


def for_attempt(number: int | None) -> str:
    return draft(select(number))
