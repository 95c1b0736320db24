"""`breakfix report`: the postmortem draft states the recorded timeline and nothing it did not record."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from harness import cli, history, postmortem
from harness.output import ExitCode

HINTS = ["Look at the load balancer's error log.", "Compare the header size with the buffer.\nThen the proxy settings."]
START = 1_767_225_600.0  # 2026-01-01 00:00:00 UTC


@pytest.fixture(autouse=True)
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("BREAKFIX_STATE_DIR", str(tmp_path / "state"))
    return tmp_path / "state"


def record_attempt() -> history.Attempt:
    history.started("502-storm", "scenario", at=START, handed_over=START + 3)
    history.checked("502-storm", 4, 2, {"test_no_server_errors_under_load": "73 of 77 requests failed: 502",
                                        "test_no_request_hangs": "2 requests hung\nfor 30 s"}, solved=False, at=START + 100)
    history.hinted("502-storm", at=START + 150)
    history.checked("502-storm", 6, 1, {"test_no_server_errors_under_load": "3 of 77 requests failed: 502"}, solved=False, at=START + 200)
    history.hinted("502-storm", at=START + 210)
    history.checked("502-storm", 7, 0, {}, solved=True, at=START + 250)
    history.stopped("502-storm", at=START + 400)
    return history.attempts()[-1]


def timeline(draft: str) -> list[str]:
    section = draft.split("## Timeline\n\n", 1)[1].split("\n\n## ", 1)[0]
    return [line for line in section.splitlines() if line.startswith("- ")]


def section(draft: str, title: str) -> str:
    return draft.split(f"## {title}\n\n", 1)[1].split("\n\n## ", 1)[0]


def test_the_timeline_is_the_recorded_one_in_order_with_times() -> None:
    attempt = record_attempt()
    assert [taken["number"] for taken in attempt.hints_taken] == [1, 2]
    draft = postmortem.draft(attempt, HINTS, title=lambda _: "502 storm")
    assert timeline(draft) == [
        "- **00:00:00 UTC** (+0m00s) attempt started: provisioning, then the fault is injected",
        "- **00:00:03 UTC** (+0m03s) handed over, broken: the clock starts",
        "- **00:01:40 UTC** (+1m40s) check 1: FAIL, 2 of 6 conditions failing",
        "- **00:02:30 UTC** (+2m30s) hint 1/2 taken",
        "- **00:03:20 UTC** (+3m20s) check 2: FAIL, 1 of 7 conditions failing",
        "- **00:03:30 UTC** (+3m30s) hint 2/2 taken",
        "- **00:04:10 UTC** (+4m10s) check 3: PASS, all 7 conditions pass -- solved",
        "- **00:06:40 UTC** (+6m40s) stopped: solved",
    ]
    body = section(draft, "Timeline")
    # each check's failing conditions sit under it, a message on one line; each hint's text under the hint
    assert "check 1: FAIL, 2 of 6 conditions failing\n    - `test_no_server_errors_under_load`: 73 of 77 requests failed: 502\n" \
           "    - `test_no_request_hangs`: 2 requests hung for 30 s\n" in body
    assert "hint 2/2 taken\n    > Compare the header size with the buffer.\n    > Then the proxy settings.\n" in body
    assert "Times are UTC on 2026-01-01" in draft and "solved 4m07s after the hand-over" in draft


def test_detection_and_impact_come_from_the_failing_conditions() -> None:
    draft = postmortem.draft(record_attempt(), HINTS, title=lambda _: "502 storm")
    detection = section(draft, "Detection")
    assert "The first check, at 00:01:40 UTC (+1m40s), failed 2 of 6 conditions" in detection
    assert "- `test_no_server_errors_under_load`: 73 of 77 requests failed: 502" in detection
    impact = section(draft, "Impact, as the checks measured it")
    # the latest message, and from the first check it failed in to the first it passed
    assert "- `test_no_server_errors_under_load` (failing from +1m40s until +4m10s): 3 of 77 requests failed: 502" in impact
    assert "- `test_no_request_hangs` (failing from +1m40s until +3m20s): 2 requests hung for 30 s" in impact


def test_root_cause_and_fix_are_prompts_never_invented() -> None:
    draft = postmortem.draft(record_attempt(), HINTS, title=lambda _: "502 storm")
    for title in ("Root cause", "Fix", "Follow-ups"):
        assert section(draft, title).startswith(postmortem.PROMPT)
        assert "proxy_buffer" not in section(draft, title)
    interview = draft.split("## Telling it in an interview (question bank B1, B6)", 1)[1]
    assert "**B1**" in interview and "**B6**" in interview and "Blameless culture" in interview


def test_an_unsolved_attempt_and_hints_of_an_entry_that_is_gone() -> None:
    history.started("gone", "lab", at=START, handed_over=START)
    history.hinted("gone", at=START + 5)
    history.stopped("gone", at=START + 65)
    draft = postmortem.draft(history.attempts()[-1], [], title=lambda entry: entry)
    assert timeline(draft) == ["- **00:00:00 UTC** (+0m00s) attempt started: the workspace is prepared",
                               "- **00:00:00 UTC** (+0m00s) handed over: the clock starts",
                               "- **00:00:05 UTC** (+0m05s) hint 1 taken",
                               "- **00:01:05 UTC** (+1m05s) stopped: abandoned"]
    assert "abandoned after 1m05s, never solved" in draft
    assert "No check was run" in section(draft, "Detection")


def test_a_database_from_before_hint_times_still_reads(state: Path) -> None:
    state.mkdir(parents=True)
    with sqlite3.connect(state / history.FILE) as old:  # the schema as the first history release wrote it
        old.executescript("""
            CREATE TABLE attempts (id INTEGER PRIMARY KEY, entry TEXT NOT NULL, kind TEXT NOT NULL, started REAL NOT NULL,
                handed_over REAL, ended REAL, outcome TEXT NOT NULL DEFAULT 'running', solved_after REAL, hints INTEGER NOT NULL DEFAULT 0);
            CREATE TABLE checks (attempt INTEGER NOT NULL REFERENCES attempts(id), at REAL NOT NULL, passed INTEGER NOT NULL,
                failed INTEGER NOT NULL, failing TEXT NOT NULL);""")
        old.execute("INSERT INTO attempts VALUES (1, '502-storm', 'scenario', ?, ?, ?, 'solved', 60, 2)", (START, START, START + 90))
        old.execute("INSERT INTO checks VALUES (1, ?, 7, 0, '{}')", (START + 60,))
    [attempt] = history.attempts()
    assert attempt.hints == 2 and attempt.hints_taken == []
    draft = postmortem.draft(attempt, HINTS, title=lambda entry: entry)
    assert "- 2 hint(s) taken at times not recorded" in draft
    history.started("502-storm", "scenario", at=START + 100, handed_over=START + 100)
    history.hinted("502-storm", at=START + 110)  # the old database gains the hints table
    assert history.attempts()[-1].hints_taken == [{"at": START + 110, "number": 1}]


def test_the_command_latest_by_default_a_numbered_one_and_a_file(tmp_path: Path) -> None:
    runner = CliRunner()
    none = runner.invoke(cli.app, ["report"])
    assert none.exit_code == ExitCode.ERROR and "no attempts recorded yet" in none.output
    record_attempt()
    history.started("kv-ttl", "lab", at=START + 500, handed_over=START + 500)
    latest = runner.invoke(cli.app, ["report"])
    assert latest.exit_code == 0 and latest.output.startswith("# Postmortem (draft): kv-ttl, attempt #2\n")
    assert "still running, not solved yet" in latest.output
    out = tmp_path / "postmortem.md"
    first = runner.invoke(cli.app, ["report", "--attempt", "1", "--out", str(out)])
    assert first.exit_code == 0, first.output
    assert out.read_text(encoding="utf-8").startswith("# Postmortem (draft): 502-storm, attempt #1\n")
    missing = runner.invoke(cli.app, ["report", "--attempt", "9"])
    assert missing.exit_code == ExitCode.ERROR and re.search(r"no attempt #9 .*#1 to #2", missing.output)
