"""The lab-grading signal: the latest attempt's grading runs and the last run's failing conditions."""

from __future__ import annotations

from harness import catalog, history
from harness.manifest import SignalSpec
from harness.ui.signals import Target, build, for_entry
from harness.ui.signals.lab_grading import LabGrading


def test_no_run_yet() -> None:
    assert LabGrading("kv-ttl").sample() == {"runs": [], "failing": {}}


def test_the_latest_attempts_runs_and_last_failures() -> None:
    history.started("kv-ttl", "lab", at=100.0, handed_over=100.0)
    history.checked("kv-ttl", 2, 8, {"test_old": "old"}, False, at=110.0)
    history.stopped("kv-ttl", at=115.0)
    history.started("kv-ttl", "lab", at=200.0, handed_over=200.0)
    history.checked("kv-ttl", 7, 3, {"test_ttl": "expired key still served"}, False, at=210.0)
    history.checked("kv-ttl", 9, 1, {"test_sweep": "never reclaimed"}, False, at=220.0)
    assert LabGrading("kv-ttl").sample() == {
        "runs": [{"at": 210.0, "passed": 7, "failed": 3}, {"at": 220.0, "passed": 9, "failed": 1}],
        "failing": {"test_sweep": "never reclaimed"}}


def test_every_lab_shows_its_grading_without_declaring_it() -> None:
    entry = catalog.find("kv-ttl")
    assert for_entry(entry) == [SignalSpec(kind="lab-grading")]
    assert isinstance(build(for_entry(entry)[0], Target(entry, entry.id)), LabGrading)


def test_a_scenario_shows_only_what_it_declares() -> None:
    assert for_entry(catalog.find("pod-evictions")) == []
    assert [spec.kind for spec in for_entry(catalog.find("502-storm"))] == ["http-status"]
