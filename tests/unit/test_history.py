"""The attempt history: one SQLite database in the state dir, written in transactions, shown by
`breakfix history` and as best times in `breakfix list`."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from harness import cli, history
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


def test_history_and_list_commands() -> None:
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
