"""The grading runner and reporters, on real pytest runs of small check files (no Docker needed)."""

import json
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

from harness import catalog
from harness.grading import report
from harness.grading.context import LabContext
from harness.grading.grade import Condition, Grade
from harness.grading.runner import run_checks

CHECKS = '''
def test_passes(lab):
    """A condition that holds"""
    assert lab.instance == "502-storm"


def test_fails():
    """A condition that does not hold"""
    served = {"app-1": 10}
    assert "app-2" in served, "backend app-2 served 0 of 10 requests"


def test_errors():
    """A check that cannot run"""
    raise RuntimeError("engine went away")


def test_skipped():
    import pytest
    pytest.skip("needs kind")
'''


@pytest.fixture()
def context(tmp_path: Path) -> LabContext:
    return LabContext("502-storm", catalog.find("502-storm"), tmp_path)


@pytest.fixture()
def checks(tmp_path: Path) -> Path:
    folder = tmp_path / "checks"
    folder.mkdir()
    (folder / "test_demo.py").write_text(CHECKS)
    return folder


def test_outcomes_titles_and_learner_messages(context: LabContext, checks: Path) -> None:
    grade = run_checks(context, checks)
    by_id = {condition.id: condition for condition in grade.conditions}
    assert by_id["test_passes"].outcome == "passed" and by_id["test_passes"].title == "A condition that holds"
    assert by_id["test_fails"].outcome == "failed"
    assert by_id["test_fails"].message == "backend app-2 served 0 of 10 requests"  # no pytest introspection noise
    assert by_id["test_errors"].outcome == "error" and "engine went away" in by_id["test_errors"].message
    assert by_id["test_skipped"].outcome == "skipped" and "needs kind" in by_id["test_skipped"].message
    assert not grade.passed


def test_only_runs_the_named_checks(context: LabContext, checks: Path) -> None:
    grade = run_checks(context, checks, only={"test_passes"})
    assert [condition.id for condition in grade.conditions] == ["test_passes"]
    assert grade.passed


def test_junit_file(context: LabContext, checks: Path, tmp_path: Path) -> None:
    junit = tmp_path / "out" / "grade.xml"
    junit.parent.mkdir()
    run_checks(context, checks, junit=junit)
    suite = ElementTree.parse(junit).getroot().find("testsuite")
    assert suite is not None and suite.get("name") == "502-storm"
    # JUnit counts an exception raised inside a test as a failure; only setup errors are "errors"
    assert int(suite.get("tests", 0)) == 4 and int(suite.get("failures", 0)) == 2 and int(suite.get("skipped", 0)) == 1


def test_broken_check_file_is_an_error_not_a_pass(context: LabContext, tmp_path: Path) -> None:
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "test_broken.py").write_text("import no_such_module\n")
    grade = run_checks(context, folder)
    assert not grade.passed and grade.conditions[0].outcome == "error"


def test_empty_grade_never_passes() -> None:
    assert not Grade("x").passed


def test_json_report() -> None:
    grade = Grade("demo", [Condition("test_a", "A", "passed"), Condition("test_b", "B", "failed", "why")], 1.23456)
    data = json.loads(report.as_json(grade))
    assert data["passed"] is False and data["seconds"] == 1.235
    assert data["counts"] == {"passed": 1, "failed": 1, "error": 0, "skipped": 0}
    assert data["conditions"][1] == {"id": "test_b", "title": "B", "outcome": "failed", "message": "why", "seconds": 0.0}


def test_text_report_lists_every_condition() -> None:
    from rich.console import Console

    grade = Grade("demo", [Condition("test_a", "A holds", "passed"), Condition("test_b", "B holds", "failed", "12 of 20 failed")])
    console = Console(record=True, width=120)
    report.print_text(grade, console)
    text = console.export_text()
    assert "PASS" in text and "FAIL" in text and "12 of 20 failed" in text and "not fixed yet" in text


def test_same_named_check_modules_of_two_entries_do_not_collide(context: LabContext, tmp_path: Path) -> None:
    """`verify all` grades many entries in one process; each has its own conftest.py and test_traffic.py."""
    outcomes = []
    for answer in ("right", "wrong"):
        folder = tmp_path / answer / "checks"
        folder.mkdir(parents=True)
        (folder / "conftest.py").write_text(f"import pytest\n\n@pytest.fixture()\ndef answer():\n    return {answer!r}\n")
        (folder / "test_traffic.py").write_text("def test_answer(answer):\n    assert answer == 'right', answer\n")
        outcomes.append(run_checks(context, folder).outcome_of("test_answer"))
    assert outcomes == ["passed", "failed"]
