"""The attempt history: one SQLite database in the state dir, written in transactions, shown by
`breakfix history` and as best times in `breakfix list`."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from harness import catalog, cli, history, postmortem
from harness import state as instance_state
from harness.errors import BreakfixError
from harness.output import ExitCode


@pytest.fixture(autouse=True)
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("BREAKFIX_STATE_DIR", str(tmp_path / "state"))
    return tmp_path / "state"


def test_an_attempt_from_start_to_stop() -> None:
    history.started("502-storm", "scenario", at=1000.0, handed_over=1003.0)
    history.checked("502-storm", 4, 3, {"test_no_server_errors_under_load": "73 of 77 requests failed"}, solved=False, at=1100.0)
    history.hinted("502-storm")
    history.checked("502-storm", 7, 0, {}, solved=True, at=1250.0)
    history.checked("502-storm", 7, 0, {}, solved=True, at=1300.0)  # solved once: the first time counts
    history.stopped("502-storm", at=1400.0)
    [attempt] = history.attempts()
    assert (attempt.entry, attempt.outcome, attempt.solved_after, attempt.hints, attempt.ended) == ("502-storm", "solved", 247.0, 1, 1400.0)
    assert [check["failing"] for check in attempt.checks] == [{"test_no_server_errors_under_load": "73 of 77 requests failed"}, {}, {}]


def test_abandoned_attempts_and_best_times() -> None:
    history.started("502-storm", "scenario", at=0.0, handed_over=10.0)
    history.checked("502-storm", 7, 0, {}, solved=True, at=310.0)
    history.started("502-storm", "scenario", at=1000.0, handed_over=1000.0)  # started again without a stop
    history.checked("502-storm", 7, 0, {}, solved=True, at=1120.0)
    history.stopped("502-storm")
    history.started("kv-ttl", "lab", at=2000.0, handed_over=2000.0)
    history.stopped("kv-ttl")
    outcomes = [(attempt.entry, attempt.outcome) for attempt in history.attempts()]
    assert outcomes == [("502-storm", "solved"), ("502-storm", "solved"), ("kv-ttl", "abandoned")]
    assert history.best_times() == {"502-storm": 120.0}
    assert [attempt.entry for attempt in history.attempts("kv-ttl")] == ["kv-ttl"]


def test_a_check_outside_any_attempt_is_not_recorded() -> None:
    history.checked("502-storm", 1, 0, {}, solved=True)
    assert history.attempts() == []


WRITER = """
import sys
from harness import history
for number in range(int(sys.argv[1])):
    history.checked("502-storm", number, 1, {"test_x": "still failing"}, solved=False)
    history.hinted("502-storm")
"""


def test_concurrent_processes_lose_nothing(state: Path) -> None:
    history.started("502-storm", "scenario", at=0.0, handed_over=0.0)
    env = {**os.environ, "BREAKFIX_STATE_DIR": str(state)}
    workers = [subprocess.Popen([sys.executable, "-c", WRITER, "25"], env=env) for _ in range(4)]
    assert [worker.wait(120) for worker in workers] == [0, 0, 0, 0]
    [attempt] = history.attempts()
    assert len(attempt.checks) == 100 and attempt.hints == 100
    with sqlite3.connect(history.path()) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_an_unwritable_history_is_a_breakfix_error(state: Path) -> None:
    state.mkdir(parents=True)
    history.path().mkdir()  # a directory where the database should be
    with pytest.raises(BreakfixError, match="history cannot be written"):
        history.started("502-storm", "scenario", at=0.0, handed_over=0.0)


def test_history_and_list_commands(monkeypatch: pytest.MonkeyPatch) -> None:
    # the ready column is this machine's (a stopped engine marks docker entries): this test is about the best time
    monkeypatch.setattr(cli, "findings_for", lambda entries: {})
    monkeypatch.setattr(cli.doctor, "unmet", lambda requires, machine: [])
    runner = CliRunner()
    assert "no attempts recorded yet" in runner.invoke(cli.app, ["history"]).stdout
    history.started("502-storm", "scenario", at=0.0, handed_over=0.0)
    history.checked("502-storm", 7, 0, {}, solved=True, at=125.0)
    history.stopped("502-storm")
    result = runner.invoke(cli.app, ["history", "--json"])
    assert result.exit_code == ExitCode.OK
    [attempt] = json.loads(result.stdout)["attempts"]
    assert attempt["outcome"] == "solved" and attempt["solved_after"] == 125.0
    listed = runner.invoke(cli.app, ["list", "--json"])
    best = {entry["id"]: entry["best_seconds"] for entry in json.loads(listed.stdout)["entries"]}
    assert best["502-storm"] == 125.0 and best["kv-ttl"] is None
    table = runner.invoke(cli.app, ["list"], env={"COLUMNS": "160"})
    assert "✓ best 2m05s" in table.stdout


# -- `solve --apply` ------------------------------------------------------------------------------

def test_a_pass_after_the_reference_was_applied_is_not_the_learners_solve() -> None:
    history.started("502-storm", "scenario", at=1000.0, handed_over=1000.0)
    history.checked("502-storm", 4, 3, {"test_no_server_errors_under_load": "73 of 77 requests failed"}, solved=False, at=1060.0)
    history.solution_applied("502-storm", at=1100.0)
    history.solution_applied("502-storm", at=1150.0)  # applied again: the first time is what gave it away
    history.checked("502-storm", 7, 0, {}, solved=True, at=1120.0)
    history.stopped("502-storm", at=1200.0)
    [attempt] = history.attempts()
    assert (attempt.outcome, attempt.solved_after, attempt.solution_applied) == ("solution-applied", None, 1100.0)
    assert history.best_times() == {}


def test_a_solve_before_the_reference_was_applied_still_counts() -> None:
    history.started("502-storm", "scenario", at=0.0, handed_over=0.0)
    history.checked("502-storm", 7, 0, {}, solved=True, at=90.0)
    history.solution_applied("502-storm", at=100.0)  # curious afterwards: the solve was already the learner's
    history.stopped("502-storm", at=120.0)
    [attempt] = history.attempts()
    assert (attempt.outcome, attempt.solved_after, attempt.solution_applied) == ("solved", 90.0, 100.0)
    assert history.best_times() == {"502-storm": 90.0}


@pytest.mark.parametrize(
    ("solved_at", "applied_at", "expected"),
    [
        (None, None, (None, None)),
        (130.0, None, (30.0, None)),  # the learner's own pass
        (130.0, 140.0, (30.0, 40.0)),  # solved, then curious about the reference: still the learner's
        (150.0, 140.0, (None, 40.0)),  # the pass came after the reference was applied: not a solve
        (140.0, 140.0, (None, 40.0)),  # at the same second: the reference may have made it
        (None, 140.0, (None, 40.0)),
    ],
)
def test_standing_is_the_one_solved_rule(solved_at: float | None, applied_at: float | None, expected: tuple[float | None, float | None]) -> None:
    record = instance_state.InstanceState(instance="kv-ttl", entry_id="kv-ttl", kind="lab", phase="running", started_at=90.0,
                                          handed_over_at=100.0, solved_at=solved_at)
    history.started("kv-ttl", "lab", at=90.0, handed_over=100.0)
    if applied_at is not None:
        history.solution_applied("kv-ttl", at=applied_at)
    standing = history.standing(record)
    assert (standing.solved_after, standing.solution_applied_after) == expected


def test_an_unreadable_history_leaves_the_instances_own_solve(state: Path) -> None:
    state.mkdir(parents=True)
    (state / history.FILE).write_text("not a database")
    record = instance_state.InstanceState(instance="kv-ttl", entry_id="kv-ttl", kind="lab", phase="running", started_at=0.0,
                                          handed_over_at=10.0, solved_at=70.0)
    assert history.standing(record) == history.Standing(solved_after=60.0, solution_applied_after=None)


def test_a_database_from_before_solve_apply_was_recorded_gains_its_column(state: Path) -> None:
    state.mkdir(parents=True)
    with sqlite3.connect(state / history.FILE) as old:
        old.execute("CREATE TABLE attempts (id INTEGER PRIMARY KEY, entry TEXT NOT NULL, kind TEXT NOT NULL, started REAL NOT NULL, "
                    "handed_over REAL, ended REAL, outcome TEXT NOT NULL DEFAULT 'running', solved_after REAL, hints INTEGER NOT NULL DEFAULT 0)")
        old.execute("INSERT INTO attempts VALUES (1, 'kv-ttl', 'lab', 0, 0, NULL, 'running', NULL, 0)")
    history.solution_applied("kv-ttl", at=30.0)
    history.checked("kv-ttl", 10, 0, {}, solved=True, at=40.0)
    [attempt] = history.attempts()
    assert (attempt.solution_applied, attempt.solved_after) == (30.0, None)


class AppliedLifecycle:
    """Stands in for the lifecycle of `solve --apply`: what the history held when the reference ran."""

    seen: list[float | None] = []

    def __init__(self, fails: bool) -> None:
        self.fails = fails
        self.reporter: object = None

    def solve(self) -> None:
        attempt = history.current("kv-ttl")
        self.seen.append(attempt.solution_applied if attempt else None)
        if self.fails:
            raise BreakfixError("reference solution solve.sh exited 1")


@pytest.mark.parametrize("fails", [False, True])
def test_solve_apply_is_recorded_before_the_reference_runs(monkeypatch: pytest.MonkeyPatch, fails: bool) -> None:
    record = instance_state.InstanceState(instance="kv-ttl", entry_id="kv-ttl", kind="lab", phase="running", started_at=0.0,
                                          handed_over_at=0.0)
    monkeypatch.setattr(cli, "active_entry", lambda: (catalog.find("kv-ttl"), record))
    monkeypatch.setattr(cli, "active_lifecycle", lambda: (AppliedLifecycle(fails), record))
    history.started("kv-ttl", "lab", at=0.0, handed_over=0.0)
    AppliedLifecycle.seen = []
    result = CliRunner().invoke(cli.app, ["solve", "--apply", "--yes"])
    assert result.exit_code == (ExitCode.ERROR if fails else ExitCode.OK), result.output
    assert AppliedLifecycle.seen[0] is not None  # a script that fails half-way has still given the answer away
    assert history.current("kv-ttl").solution_applied == AppliedLifecycle.seen[0]  # type: ignore[union-attr]


def test_status_history_and_report_say_the_reference_was_applied() -> None:
    now = time.time()
    record = instance_state.InstanceState(instance="kv-ttl", entry_id="kv-ttl", kind="lab", phase="running", started_at=now - 100,
                                          handed_over_at=now - 100)
    assert instance_state.claim_active(record) is None
    history.started("kv-ttl", "lab", at=now - 100, handed_over=now - 100)
    history.solution_applied("kv-ttl", at=now - 40)
    instance_state.record_attempt("kv-ttl", 10, 0, solved=True)  # the reference's pass, as `check` records it
    history.checked("kv-ttl", 10, 0, {}, solved=True, at=now - 30)
    runner = CliRunner()
    status = json.loads(runner.invoke(cli.app, ["status", "--json"]).stdout)
    assert (status["solved"], status["solved_after_seconds"], status["solution_applied_after_seconds"]) == (False, None, 60)
    human = runner.invoke(cli.app, ["status"], env={"COLUMNS": "200"}).stdout
    assert "reference solution applied after 60s" in human and "solved after" not in human
    [attempt] = json.loads(runner.invoke(cli.app, ["history", "--json"]).stdout)["attempts"]
    assert attempt["solution_applied"] == now - 40 and attempt["solved_after"] is None
    draft = postmortem.draft(history.attempts()[0], [], title=lambda entry: entry)
    assert "(+1m00s) reference solution applied (`breakfix solve --apply`)" in draft
    assert "check 1: PASS, all 10 conditions pass (the reference fix's pass, not a solve)" in draft
    assert "not solved: the reference solution was applied 1m00s after the hand-over" in draft
