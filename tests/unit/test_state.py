"""Instance state survives the process and is written atomically."""

import time
from pathlib import Path

import pytest

from harness import state
from harness.errors import BreakfixError


def test_round_trip(isolated_state: Path) -> None:
    record = state.InstanceState(instance="demo", entry_id="demo", kind="scenario")
    record.hints_used = 2
    record.attempts.append(state.CheckRecord(at=1.0, passed=3, failed=1))
    state.save(record)
    loaded = state.load_active()
    assert loaded == record
    assert not list(isolated_state.glob(".active.json.*")), "temporary files must not linger"


def test_no_active_instance_is_a_clear_error() -> None:
    assert state.load_active() is None
    with pytest.raises(BreakfixError, match="nothing is running"):
        state.require_active()


def test_corrupt_state_names_the_way_out(isolated_state: Path) -> None:
    (isolated_state / "active.json").write_text("{not json")
    with pytest.raises(BreakfixError, match="stop --force"):
        state.load_active()


def test_clear_removes_workspace(isolated_state: Path) -> None:
    state.save(state.InstanceState(instance="demo", entry_id="demo", kind="scenario"))
    workspace = state.instance_dir("demo") / "workspace"
    workspace.mkdir(parents=True)
    state.clear("demo")
    assert state.load_active() is None and not workspace.exists()


def test_elapsed_counts_from_hand_over() -> None:
    now = time.time()
    record = state.InstanceState(instance="d", entry_id="d", kind="scenario", started_at=now - 100, handed_over_at=now - 5)
    assert 5 <= record.elapsed < 50  # provisioning time is not the learner's time
