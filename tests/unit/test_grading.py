"""The grading runner and reporters, on real pytest runs of small check files (no Docker needed)."""

import json
import signal
import time
from pathlib import Path
from xml.etree import ElementTree

import pytest

from harness import catalog
from harness.grading import report
from harness.grading.context import InstanceContext
from harness.grading.grade import Condition, Grade
from harness.grading.runner import run_checks

CHECKS = '''
def test_passes(instance):
    """A condition that holds"""
    assert instance.instance == "502-storm"


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
def context(tmp_path: Path) -> InstanceContext:
    return InstanceContext("502-storm", catalog.find("502-storm"), tmp_path)


@pytest.fixture()
def checks(tmp_path: Path) -> Path:
    folder = tmp_path / "checks"
    folder.mkdir()
    (folder / "test_demo.py").write_text(CHECKS)
    return folder


def test_outcomes_titles_and_learner_messages(context: InstanceContext, checks: Path) -> None:
    grade = run_checks(context, checks)
    by_id = {condition.id: condition for condition in grade.conditions}
    assert by_id["test_passes"].outcome == "passed" and by_id["test_passes"].title == "A condition that holds"
    assert by_id["test_fails"].outcome == "failed"
    assert by_id["test_fails"].message == "backend app-2 served 0 of 10 requests"  # no pytest introspection noise
    assert by_id["test_errors"].outcome == "error" and "engine went away" in by_id["test_errors"].message
    assert by_id["test_skipped"].outcome == "skipped" and "needs kind" in by_id["test_skipped"].message
    assert not grade.passed


def test_only_runs_the_named_checks(context: InstanceContext, checks: Path) -> None:
    grade = run_checks(context, checks, only={"test_passes"})
    assert [condition.id for condition in grade.conditions] == ["test_passes"]
    assert grade.passed


def test_junit_file(context: InstanceContext, checks: Path, tmp_path: Path) -> None:
    junit = tmp_path / "out" / "grade.xml"
    junit.parent.mkdir()
    run_checks(context, checks, junit=junit)
    suite = ElementTree.parse(junit).getroot().find("testsuite")
    assert suite is not None and suite.get("name") == "502-storm"
    # JUnit counts an exception raised inside a test as a failure; only setup errors are "errors"
    assert int(suite.get("tests", 0)) == 4 and int(suite.get("failures", 0)) == 2 and int(suite.get("skipped", 0)) == 1


def test_broken_check_file_is_an_error_not_a_pass(context: InstanceContext, tmp_path: Path) -> None:
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


def test_same_named_check_modules_of_two_entries_do_not_collide(context: InstanceContext, tmp_path: Path) -> None:
    """`verify all` grades many entries in one process; each has its own conftest.py and test_traffic.py."""
    outcomes = []
    for answer in ("right", "wrong"):
        folder = tmp_path / answer / "checks"
        folder.mkdir(parents=True)
        (folder / "conftest.py").write_text(f"import pytest\n\n@pytest.fixture()\ndef answer():\n    return {answer!r}\n")
        (folder / "test_traffic.py").write_text("def test_answer(answer):\n    assert answer == 'right', answer\n")
        outcomes.append(run_checks(context, folder).outcome_of("test_answer"))
    assert outcomes == ["passed", "failed"]


def _checks_dir(tmp_path: Path, name: str, files: dict[str, str]) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    for filename, text in files.items():
        (folder / filename).write_text(text)
    return folder


PARAMETRIZED = '''
import pytest


@pytest.mark.parametrize("plan", ["{", pytest.param("[]", id="not a mapping"), "{}"])
def test_broken_plan(plan):
    """A broken plan file is refused"""
    assert plan != "{}", "an empty plan was accepted"
'''


def test_each_case_of_a_parametrized_check_is_its_own_line(context: InstanceContext, tmp_path: Path) -> None:
    folder = _checks_dir(tmp_path, "cases", {"test_cases.py": PARAMETRIZED})
    junit = tmp_path / "grade.xml"
    grade = run_checks(context, folder, junit=junit)
    assert [(c.id, c.title, c.outcome) for c in grade.conditions] == [
        ("test_broken_plan[{]", "A broken plan file is refused [{]", "passed"),
        ("test_broken_plan[not a mapping]", "A broken plan file is refused [not a mapping]", "passed"),
        ("test_broken_plan[{}]", "A broken plan file is refused [{}]", "failed"),
    ]
    # the JSON ids and the JUnit names are the same strings
    cases = ElementTree.parse(junit).getroot().iter("testcase")
    assert [case.get("name") for case in cases] == [c.id for c in grade.conditions]
    assert {c["id"] for c in json.loads(report.as_json(grade))["conditions"]} == {c.id for c in grade.conditions}
    # asked for by function name, every case runs; by case id, only that one
    assert len(run_checks(context, folder, only={"test_broken_plan"}).conditions) == 3
    assert [c.id for c in run_checks(context, folder, only={"test_broken_plan[{}]"}).conditions] == ["test_broken_plan[{}]"]


SLOW = '''
import time

import pytest

torn_down = []


@pytest.fixture(scope="session")
def resource():
    yield "resource"
    torn_down.append(time.monotonic())  # the session's fixtures still come down after a timeout
    open(__file__ + ".teardown", "w").close()


def test_quick(resource):
    """A quick condition"""


def test_sleeps(resource):
    """A condition that hangs"""
    time.sleep(30)


def test_swallows(resource):
    """Never reached"""
'''


def test_a_run_longer_than_check_timeout_ends_with_where_it_stopped(context: InstanceContext, tmp_path: Path) -> None:
    folder = _checks_dir(tmp_path, "slow", {"test_slow.py": SLOW})
    started = time.monotonic()
    # a limit pytest's own start-up fits in on a machine loaded with other runs (0.3 s did not)
    grade = run_checks(context, folder, timeout=2)
    assert time.monotonic() - started < 20, "the run went on past its limit (the hanging check sleeps 30 s)"
    by_id = {c.id: c for c in grade.conditions}
    assert by_id["test_quick"].outcome == "passed"
    assert by_id["test_sleeps"].outcome == "error" and by_id["test_sleeps"].title == "A condition that hangs"
    assert by_id["test_sleeps"].message.startswith("check timed out after 2 s in test_sleeps")
    assert "1 check(s) not run: test_swallows" in by_id["test_sleeps"].message
    assert not grade.passed
    assert (folder / "test_slow.py.teardown").exists(), "session fixtures are torn down after a timeout"
    # the timer is gone: nothing fires later in the caller
    time.sleep(0.7)
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


SWALLOWS = '''
import time


def test_swallows_the_first_interrupt():
    """A check that catches everything once"""
    try:
        time.sleep(20)
    except BaseException:
        pass
    time.sleep(20)
'''


def test_a_check_that_swallows_the_timeout_is_stopped_anyway(context: InstanceContext, tmp_path: Path) -> None:
    """The timer fires again every second: an `except BaseException` cannot keep a run going past its limit."""
    folder = _checks_dir(tmp_path, "swallows", {"test_swallow.py": SWALLOWS})
    started = time.monotonic()
    grade = run_checks(context, folder, timeout=2)  # fires at 2 s, is swallowed, fires again at 3 s
    # the bound is far below the check's own 40 s of sleep and far above a loaded machine's pytest start-up
    assert 2.5 < time.monotonic() - started < 30
    assert grade.conditions[0].message.startswith("check timed out after 2 s in test_swallows_the_first_interrupt")


INTERRUPTED_COLLECTION = {
    # pytest's own interrupt hook crashing, as its terminal reporter does when the traceback of a Ctrl-C
    # ends on an instruction without a line number (TypeError: unsupported operand NoneType - int)
    "conftest.py": "def pytest_keyboard_interrupt(excinfo):\n    raise TypeError(\"unsupported operand type(s) for -: 'NoneType' and 'int'\")\n",
    "test_interrupted.py": "raise KeyboardInterrupt\n",
}


def test_ctrl_c_during_collection_is_a_plain_keyboard_interrupt(context: InstanceContext, tmp_path: Path) -> None:
    folder = _checks_dir(tmp_path, "interrupted", INTERRUPTED_COLLECTION)
    with pytest.raises(KeyboardInterrupt) as raised:
        run_checks(context, folder)
    assert type(raised.value) is KeyboardInterrupt
    assert raised.value.__context__ is None or raised.value.__suppress_context__, "no chained pytest traceback"


def test_ctrl_c_during_a_check_is_a_plain_keyboard_interrupt(context: InstanceContext, tmp_path: Path) -> None:
    folder = _checks_dir(tmp_path, "interrupted", {"test_interrupted.py": "def test_x():\n    raise KeyboardInterrupt\n"})
    with pytest.raises(KeyboardInterrupt):
        run_checks(context, folder, timeout=30)
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


RUNTIMES = '''
def test_terraform_is_the_instance_runtime(instance, terraform):
    """The terraform fixture is the runtime the context was handed"""
    assert terraform is instance.runtimes["terraform"], "the fixture built a runtime of its own"
'''


class FakeRuntime:
    name = "terraform"


def test_fixtures_read_the_runtimes_the_context_was_handed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from harness.grading import plugin
    from harness.runtime import aws

    monkeypatch.setattr(aws, "identify", lambda url: "moto")  # the aws fixture's liveness probe: no emulator here
    context = InstanceContext("terraform-stale-lock", catalog.find("terraform-stale-lock"), tmp_path, {"terraform": FakeRuntime()})  # type: ignore[dict-item]
    grade = run_checks(context, _checks_dir(tmp_path, "runtimes", {"test_runtimes.py": RUNTIMES}))
    assert [(c.id, c.outcome, c.message) for c in grade.conditions] == [("test_terraform_is_the_instance_runtime", "passed", "")]
    assert not hasattr(plugin, "_active_context")


def test_a_context_missing_a_runtime_says_which_it_has(tmp_path: Path) -> None:
    context = InstanceContext("502-storm", catalog.find("502-storm"), tmp_path, {"docker": FakeRuntime()})  # type: ignore[dict-item]
    with pytest.raises(LookupError, match="502-storm has no terraform runtime .its runtimes: docker."):
        context.runtime("terraform")


def test_each_run_sees_its_own_context(tmp_path: Path) -> None:
    check = "def test_id(instance):\n    assert instance.instance == {0!r}, instance.instance\n"
    for entry_id in ("502-storm", "memory-leak"):
        folder = _checks_dir(tmp_path, entry_id, {"test_id.py": check.format(entry_id)})
        grade = run_checks(InstanceContext(entry_id, catalog.find(entry_id), tmp_path), folder)
        assert [c.outcome for c in grade.conditions] == ["passed"], grade.conditions


def test_grading_never_imports_the_lifecycle_or_the_cli() -> None:
    """Imports flow cli -> lifecycle -> grading: a grading module reaching back (even lazily, inside a
    function) is the cycle the plugin's terraform fixture once made."""
    import ast

    from harness import grading

    found = []
    for path in sorted(Path(grading.__file__).parent.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            modules = [alias.name for alias in node.names] if isinstance(node, ast.Import) else [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            found += [f"{path.name}: {module}" for module in modules if module in ("harness.lifecycle", "harness.cli")]
            if isinstance(node, ast.ImportFrom) and node.module == "harness":
                found += [f"{path.name}: harness.{alias.name}" for alias in node.names if alias.name in ("lifecycle", "cli")]
    assert not found


STANDALONE = '''
def test_the_active_instance(instance, terraform):
    assert instance.instance == "terraform-stale-lock"
    assert terraform is instance.runtime("terraform") and terraform.name == "terraform"
'''


def test_the_plugin_loaded_alone_grades_the_active_instance(tmp_path: Path) -> None:
    """`pytest -p harness.grading.plugin <checks>`: no runner, the context comes from the state and the registry."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "BREAKFIX_STATE_DIR": str(tmp_path / "state"), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    claim = (
        "from harness import state; "
        "state.claim_active(state.InstanceState(instance='terraform-stale-lock', entry_id='terraform-stale-lock', kind='scenario'))"
    )
    subprocess.run([sys.executable, "-c", claim], env=env, check=True, timeout=60)
    folder = _checks_dir(tmp_path, "standalone", {"test_standalone.py": STANDALONE})
    # the emulator is not running here: the aws fixture's liveness probe is the one thing stubbed
    (folder / "conftest.py").write_text("import pytest\n\n\n@pytest.fixture(scope='session')\ndef aws():\n    return None\n")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "harness.grading.plugin", str(folder)],
        env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
