"""Instance state: one locked file per instance, a pointer to the active one, validated on load."""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness import state
from harness.errors import BreakfixError

RUNNING = {"phase": "running", "owner": None}


def record(instance: str = "demo", **fields: object) -> state.InstanceState:
    return state.InstanceState(instance=instance, entry_id=instance, kind="scenario", **fields)


def claimed(instance: str = "demo") -> state.InstanceState:
    assert state.claim_active(record(instance, **RUNNING)) is None
    loaded = state.load(instance)
    assert loaded is not None
    return loaded


def test_round_trip_with_schema_version(isolated_state: Path) -> None:
    original = record(hints_used=2)
    original.attempts.append(state.CheckRecord(at=1.0, passed=3, failed=1))
    state.save(original)
    assert state.load("demo") == original
    assert json.loads(state.state_file("demo").read_text())["schema_version"] == state.SCHEMA_VERSION
    assert not list(state.instance_dir("demo").glob(".state.json.*")), "temporary files must not linger"


def test_no_active_instance_is_a_clear_error() -> None:
    assert state.load_active() is None
    with pytest.raises(BreakfixError, match="nothing is running"):
        state.require_active()


def test_claim_points_at_the_instance_and_refuses_another_live_one() -> None:
    first = claimed("first")
    assert state.require_active() == first
    assert state.claim_active(record("second")) == first
    assert state.load("second") is None and state.active_instance() == "first"


def test_a_pointer_to_a_record_that_is_gone_is_nothing_running(isolated_state: Path) -> None:
    (isolated_state / "active.json").write_text(json.dumps({"schema_version": 2, "instance": "gone"}))
    assert state.load_active() is None
    assert state.claim_active(record("next")) is None and state.active_instance() == "next"


def test_forget_removes_only_its_own_instance() -> None:
    """verify of one entry while a learner runs another must not orphan the learner's instance."""
    learner = claimed("memory-leak")
    state.save(record("502-storm"))  # what verify of 502-storm works in
    (state.instance_dir("502-storm") / "workspace").mkdir()
    state.forget("502-storm")
    assert state.load("502-storm") is None and not state.instance_dir("502-storm").exists()
    assert state.require_active() == learner and state.active_instance() == "memory-leak"
    state.forget("memory-leak")
    assert state.load_active() is None and state.active_instance() is None


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"{not json", "hints_used|Invalid JSON|json"),
        (b"\xff\xfe\x00garbage", "not UTF-8"),
        (json.dumps({**record().model_dump(), "hints_used": -5}).encode(), "hints_used: Input should be greater than or equal to 0"),
        (json.dumps({**record().model_dump(), "hints_used": 10**9}).encode(), "hints_used"),
        (json.dumps({**record().model_dump(), "schema_version": 3}).encode(), "schema_version"),
        (json.dumps({**record().model_dump(), "phase": "exploded"}).encode(), "phase"),
        (json.dumps({**record().model_dump(), "attempts": [{"at": 1, "passed": -1, "failed": 0}]}).encode(), "attempts.0.passed"),
        (json.dumps([1, 2]).encode(), "unreadable"),
        (b" " * (state.MAX_STATE_BYTES + 1), "larger than"),
    ],
    # named ids: a record's started_at is the clock at collection, and xdist workers must collect the same ids
    ids=["not-json", "not-utf8", "hints-negative", "hints-huge", "schema-version", "phase", "attempt-passed", "not-an-object", "too-large"],
)
def test_a_bad_record_is_a_clear_error_naming_the_file_and_the_way_out(content: bytes, reason: str) -> None:
    claimed()
    state.state_file("demo").write_bytes(content)
    with pytest.raises(BreakfixError, match=reason) as caught:
        state.load_active()
    assert str(state.state_file("demo")) in str(caught.value) and "stop --force" in str(caught.value)
    with pytest.raises(BreakfixError, match="stop --force"):
        state.take_hint("demo", 3)  # hint says it too, it does not crash


@pytest.mark.parametrize("kind", ["not-utf8", "directory", "not-json", "no-instance", "path-instance"])
def test_a_bad_pointer_is_a_clear_error_and_drop_pointer_recovers(isolated_state: Path, kind: str) -> None:
    pointer = isolated_state / "active.json"
    if kind == "directory":
        (pointer / "inside").mkdir(parents=True)
    else:
        contents = {"not-utf8": b"\xc3\x28", "not-json": b"[", "no-instance": b"{}", "path-instance": b'{"instance": "../x"}'}
        pointer.write_bytes(contents[kind])
    with pytest.raises(BreakfixError, match="stop --force") as caught:
        state.load_active()
    assert str(pointer) in str(caught.value)
    state.drop_pointer()
    assert state.load_active() is None


def test_schema_1_active_file_is_migrated(isolated_state: Path) -> None:
    old = {"instance": "demo", "entry_id": "demo", "kind": "scenario", "started_at": 5.0, "handed_over_at": 6.0,
           "hints_used": 1, "attempts": [{"at": 7.0, "passed": 1, "failed": 2}], "solved_at": None, "phase": "running"}
    (isolated_state / "active.json").write_text(json.dumps(old))
    migrated = state.require_active()
    assert (migrated.hints_used, len(migrated.attempts), migrated.phase) == (1, 1, "running")
    assert json.loads((isolated_state / "active.json").read_text()) == {"schema_version": 2, "instance": "demo"}


def _attempt_and_hint(directory: str, barrier: multiprocessing.synchronize.Barrier, results: multiprocessing.Queue, index: int) -> None:
    os.environ["BREAKFIX_STATE_DIR"] = directory
    barrier.wait(10)  # all at once
    state.record_attempt("demo", index, 1, solved=False)
    results.put(state.take_hint("demo", 12))


def test_twenty_concurrent_processes_lose_no_attempt_and_no_hint(isolated_state: Path) -> None:
    claimed()
    context = multiprocessing.get_context("fork")
    barrier, results = context.Barrier(20), context.Queue()
    workers = [context.Process(target=_attempt_and_hint, args=(str(isolated_state), barrier, results, index)) for index in range(20)]
    for worker in workers:
        worker.start()
    taken = [results.get(timeout=30) for _ in workers]
    for worker in workers:
        worker.join(10)
    final = state.load("demo")
    assert final is not None
    assert sorted(attempt.passed for attempt in final.attempts) == list(range(20)), "every attempt counted once"
    assert sorted(number for number in taken if number is not None) == list(range(1, 13)), "each hint shown exactly once"
    assert taken.count(None) == 8 and final.hints_used == 12


def test_a_full_pass_marks_solved_once() -> None:
    claimed()
    assert state.record_attempt("demo", 3, 1, solved=False).solved_at is None
    solved_at = state.record_attempt("demo", 4, 0, solved=True).solved_at
    assert solved_at is not None
    assert state.record_attempt("demo", 4, 0, solved=True).solved_at == solved_at


def test_updating_a_stopped_instance_says_so() -> None:
    with pytest.raises(BreakfixError, match="no longer running"):
        state.record_attempt("demo", 1, 0, solved=True)


def test_owner_alive_dead_and_after_reboot() -> None:
    me = state.Owner.me()
    assert me.alive() and me.boot_id == state.boot_id()
    finished = subprocess.run(["sh", "-c", "echo $$"], capture_output=True, text=True, check=True)
    gone = state.Owner(pid=int(finished.stdout), started=me.started, boot_id=me.boot_id)
    assert not gone.alive()
    assert not me.model_copy(update={"started": "1"}).alive(), "a reused pid is another process"
    assert not me.model_copy(update={"boot_id": "another-boot"}).alive(), "a reboot ends every owner"


def test_abandoned_and_its_description() -> None:
    dead = state.Owner(pid=os.getpid(), started=state.Owner.me().started, boot_id="before-the-power-cut")
    building = record(phase="provisioning", owner=state.Owner.me())
    assert not building.abandoned and building.describe() == f"starting (process {os.getpid()})"
    killed = record(phase="provisioning", owner=dead)
    assert killed.abandoned and "start interrupted" in killed.describe() and "breakfix stop" in killed.describe()
    assert record(phase="tearing-down", owner=dead).describe().startswith("stop interrupted")
    assert not record(**RUNNING).abandoned and record(**RUNNING).describe() == "running"


def test_set_phase_names_the_owner_until_running() -> None:
    claimed()
    assert state.set_phase("demo", "provisioning").owner == state.Owner.me()
    handed = state.set_phase("demo", "running", handed_over=True)
    assert handed.owner is None and handed.handed_over_at is not None


def _hold(directory: str, shared: bool, ready: multiprocessing.synchronize.Event, done: multiprocessing.synchronize.Event) -> None:
    os.environ["BREAKFIX_STATE_DIR"] = directory
    with state.instance_lock("demo", shared=shared):
        ready.set()
        done.wait(10)


@pytest.fixture
def held(isolated_state: Path) -> Iterator[object]:
    context = multiprocessing.get_context("fork")
    started: list[multiprocessing.process.BaseProcess] = []
    done = context.Event()

    def hold(shared: bool) -> None:
        ready = context.Event()
        process = context.Process(target=_hold, args=(str(isolated_state), shared, ready, done))
        process.start()
        started.append(process)
        assert ready.wait(10)

    yield hold
    done.set()
    for process in started:
        process.join(10)


def test_a_check_shares_the_lock_and_teardown_excludes_it(held) -> None:  # type: ignore[no-untyped-def]
    held(True)  # a check grading in another process
    with state.instance_lock("demo", shared=True, busy=lambda: pytest.fail("a check must share the instance lock")):
        pass

    def refuse() -> None:
        raise BreakfixError("busy")

    with pytest.raises(BreakfixError, match="busy"), state.instance_lock("demo", busy=refuse):
        pytest.fail("a reset must not tear down what a check is grading")


def test_a_check_is_refused_while_a_start_holds_the_lock(held) -> None:  # type: ignore[no-untyped-def]
    held(False)
    calls = []
    with pytest.raises(BreakfixError), state.instance_lock("demo", shared=True, busy=lambda: calls.append(1) or _raise()):
        pass
    assert calls == [1]


def _raise() -> None:
    raise BreakfixError("busy")


def _grade(directory: str, ready: multiprocessing.synchronize.Event, seconds: float) -> None:
    os.environ["BREAKFIX_STATE_DIR"] = directory
    with state.grading_lock("demo", busy=_raise):
        ready.set()
        time.sleep(seconds)


def test_a_second_check_says_it_waits_and_grades_after_the_first(isolated_state: Path) -> None:
    context = multiprocessing.get_context("fork")
    ready = context.Event()
    first = context.Process(target=_grade, args=(str(isolated_state), ready, 0.5))
    first.start()
    assert ready.wait(10)
    said: list[str] = []
    asked = time.monotonic()
    with state.grading_lock("demo", busy=lambda: said.append("waiting")):
        waited = time.monotonic() - asked
    first.join(10)
    assert said == ["waiting"] and waited > 0.3 and first.exitcode == 0


@pytest.fixture
def immutable(isolated_state: Path) -> Iterator[Path]:
    """A state dir nobody can write, even root (`chattr +i`), as the issue's reporter had it."""
    if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(isolated_state)], check=False, capture_output=True).returncode:
        pytest.skip("chattr +i is not available here")
    yield isolated_state
    subprocess.run(["chattr", "-R", "-i", str(isolated_state)], check=True)


def test_an_unwritable_state_dir_is_a_clear_error(immutable: Path) -> None:
    with pytest.raises(BreakfixError, match=f"cannot write {immutable}.*writable"):
        state.claim_active(record())


def test_an_unwritable_record_keeps_the_grade_question_answerable(isolated_state: Path) -> None:
    claimed()
    if shutil.which("chattr") is None:
        pytest.skip("chattr is not available here")
    subprocess.run(["chattr", "-R", "+i", str(isolated_state)], check=True)
    try:
        with pytest.raises(BreakfixError, match="cannot write .*state.json"):
            state.record_attempt("demo", 1, 0, solved=True)
        with pytest.raises(BreakfixError, match="cannot remove .*counts as present"):
            state.forget("demo")
        assert state.require_active().attempts == []  # the record is still readable: status still works
    finally:
        subprocess.run(["chattr", "-R", "-i", str(isolated_state)], check=True)


def test_a_state_dir_that_cannot_hold_the_grading_lock_still_grades(immutable: Path) -> None:
    graded = False
    with state.grading_lock("demo", busy=_raise):
        graded = True
    assert graded and not (immutable / "locks" / "demo.grading").exists()


def test_an_uncreatable_state_dir_is_a_clear_error(immutable: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BREAKFIX_STATE_DIR", str(immutable / "below"))
    with pytest.raises(BreakfixError, match="cannot create the state dir .*below"):
        state.load_active()


def test_elapsed_counts_from_hand_over() -> None:
    now = time.time()
    started = state.InstanceState(instance="d", entry_id="d", kind="scenario", started_at=now - 100, handed_over_at=now - 5)
    assert 5 <= started.elapsed < 50  # provisioning time is not the learner's time
