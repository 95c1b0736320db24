"""Every attempt a learner made, kept across `stop`: a small SQLite database in the state dir.

An attempt runs from the hand-over of `start` to `stop`: its checks (with the conditions that
failed), its hints, when it was first solved, and when the reference solution was applied
(`solve --apply`): a check that passes after that is the reference's pass, not the learner's solve. Each write is one `BEGIN IMMEDIATE` transaction,
so concurrent CLI processes (a `check` in one shell, a `hint` in another) queue on SQLite's lock
instead of losing or corrupting a row.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.errors import BreakfixError
from harness.paths import state_dir

if TYPE_CHECKING:
    from harness.state import InstanceState

FILE = "history.sqlite3"
SCHEMA = """
CREATE TABLE IF NOT EXISTS attempts (
    id INTEGER PRIMARY KEY, entry TEXT NOT NULL, kind TEXT NOT NULL, started REAL NOT NULL, handed_over REAL,
    ended REAL, outcome TEXT NOT NULL DEFAULT 'running', solved_after REAL, hints INTEGER NOT NULL DEFAULT 0,
    solution_applied REAL);
CREATE TABLE IF NOT EXISTS checks (
    attempt INTEGER NOT NULL REFERENCES attempts(id), at REAL NOT NULL, passed INTEGER NOT NULL, failed INTEGER NOT NULL,
    failing TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS hints (attempt INTEGER NOT NULL REFERENCES attempts(id), at REAL NOT NULL, number INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS attempts_entry ON attempts(entry);
"""


@dataclass
class Attempt:
    id: int
    entry: str
    kind: str
    started: float
    handed_over: float | None
    ended: float | None
    # running, solved (a passing check before any `solve --apply`), solution-applied (the reference was
    # applied before the learner's own fix passed) or abandoned (stopped with neither)
    outcome: str
    solved_after: float | None
    hints: int
    solution_applied: float | None = None  # when `solve --apply` ran the reference fix (Unix seconds)
    checks: list[dict[str, Any]] = field(default_factory=list)  # {at, passed, failed, failing: [condition: message]}
    # {at, number}; a database from before hints had times holds only the count, so this may be shorter than `hints`
    hints_taken: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {key: value for key, value in vars(self).items()}


def path() -> Path:
    return state_dir() / FILE


@contextmanager
def _transaction(database: Path | None = None) -> Iterator[sqlite3.Connection]:
    try:
        with closing(sqlite3.connect(database or path(), timeout=30, isolation_level=None)) as connection:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.executescript(SCHEMA)
            _add_missing_columns(connection)
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield connection
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")
    except sqlite3.Error as exc:
        raise BreakfixError(f"{database or path()}: the attempt history cannot be written ({exc})") from None


def _add_missing_columns(connection: sqlite3.Connection) -> None:
    """A database written before `solve --apply` was recorded gets its column (NULL: never applied)."""
    columns = {row[1] for row in connection.execute("PRAGMA table_info(attempts)")}
    if "solution_applied" not in columns:
        connection.execute("ALTER TABLE attempts ADD COLUMN solution_applied REAL")


def _open(connection: sqlite3.Connection, entry: str) -> int | None:
    row = connection.execute("SELECT id FROM attempts WHERE entry = ? AND ended IS NULL ORDER BY id DESC LIMIT 1", (entry,)).fetchone()
    return None if row is None else int(row[0])


def _close(connection: sqlite3.Connection, attempt: int, at: float) -> None:
    connection.execute("UPDATE attempts SET ended = ?, outcome = CASE WHEN solved_after IS NOT NULL THEN 'solved' "
                       "WHEN solution_applied IS NOT NULL THEN 'solution-applied' ELSE 'abandoned' END WHERE id = ?", (at, attempt))


def started(entry: str, kind: str, at: float, handed_over: float | None) -> int:
    """A new attempt; one of the same entry still open (a start over it, a crash) ends abandoned or solved."""
    with _transaction() as connection:
        previous = _open(connection, entry)
        if previous is not None:
            _close(connection, previous, time.time())
        cursor = connection.execute("INSERT INTO attempts (entry, kind, started, handed_over) VALUES (?, ?, ?, ?)", (entry, kind, at, handed_over))
        return int(cursor.lastrowid or 0)


def checked(entry: str, passed: int, failed: int, failing: dict[str, str], solved: bool, at: float | None = None) -> None:
    at = time.time() if at is None else at
    with _transaction() as connection:
        attempt = _open(connection, entry)
        if attempt is None:
            return  # started before history was kept
        connection.execute("INSERT INTO checks VALUES (?, ?, ?, ?, ?)", (attempt, at, passed, failed, json.dumps(failing)))
        if solved:  # the first pass counts, unless the reference fix was applied before it
            connection.execute("UPDATE attempts SET solved_after = ? - COALESCE(handed_over, started) "
                               "WHERE id = ? AND solved_after IS NULL AND solution_applied IS NULL", (at, attempt))


def hinted(entry: str, at: float | None = None) -> None:
    at = time.time() if at is None else at
    with _transaction() as connection:
        attempt = _open(connection, entry)
        if attempt is None:
            return
        connection.execute("UPDATE attempts SET hints = hints + 1 WHERE id = ?", (attempt,))
        connection.execute("INSERT INTO hints SELECT id, ?, hints FROM attempts WHERE id = ?", (at, attempt))


def solution_applied(entry: str, at: float | None = None) -> None:
    """`solve --apply` ran (or began to run) the reference fix: the first time is kept."""
    at = time.time() if at is None else at
    with _transaction() as connection:
        attempt = _open(connection, entry)
        if attempt is not None:
            connection.execute("UPDATE attempts SET solution_applied = ? WHERE id = ? AND solution_applied IS NULL", (at, attempt))


def current(entry: str) -> Attempt | None:
    """The entry's open attempt (what `status` reports on), or None."""
    running = [attempt for attempt in attempts(entry) if attempt.ended is None]
    return running[-1] if running else None


def stopped(entry: str, at: float | None = None) -> None:
    with _transaction() as connection:
        attempt = _open(connection, entry)
        if attempt is not None:
            _close(connection, attempt, time.time() if at is None else at)


def attempts(entry: str | None = None) -> list[Attempt]:
    """Every attempt, oldest first, with its checks."""
    if not path().is_file():
        return []
    with _transaction() as connection:
        where, args = ("WHERE entry = ?", (entry,)) if entry else ("", ())
        rows = connection.execute("SELECT id, entry, kind, started, handed_over, ended, outcome, solved_after, hints, solution_applied "
                                  f"FROM attempts {where} ORDER BY id", args)
        found = [Attempt(*row) for row in rows.fetchall()]
        for attempt in found:
            attempt.checks = [{"at": at, "passed": passed, "failed": failed, "failing": json.loads(failing)} for at, passed, failed, failing in
                              connection.execute("SELECT at, passed, failed, failing FROM checks WHERE attempt = ? ORDER BY rowid", (attempt.id,))]
            attempt.hints_taken = [{"at": at, "number": number} for at, number in
                                   connection.execute("SELECT at, number FROM hints WHERE attempt = ? ORDER BY rowid", (attempt.id,))]
        return found


def best_times() -> dict[str, float]:
    """Each solved entry's fastest time to solve, in seconds."""
    best: dict[str, float] = {}
    for attempt in attempts():
        if attempt.solved_after is not None:
            best[attempt.entry] = min(best.get(attempt.entry, attempt.solved_after), attempt.solved_after)
    return best


@dataclass(frozen=True)
class Standing:
    """Where an instance's attempt stands, in seconds from its hand-over (what `status` shows)."""

    solved_after: float | None  # the learner's own first pass; None: not solved, or the pass was the reference's
    solution_applied_after: float | None  # `solve --apply` ran the reference fix; None: never, or the history is unreadable


def standing(record: InstanceState) -> Standing:
    """The one rule of what counts as solved, for `breakfix status` and the browser view alike: the
    instance's first passing check, unless `solve --apply` ran the reference fix before it -- then the
    pass is the reference's, not the learner's. An unreadable history leaves the instance's own record."""
    since = record.handed_over_at or record.started_at
    solved_after = None if record.solved_at is None else record.solved_at - since
    try:
        attempt = current(record.entry_id)
    except BreakfixError:
        attempt = None  # status still shows the instance
    applied = None if attempt is None or attempt.solution_applied is None else attempt.solution_applied - since
    if applied is not None and (solved_after is None or solved_after >= applied):
        solved_after = None
    return Standing(solved_after, applied)
